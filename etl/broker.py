"""The MQTT broker as the ingest and the feed simulator reach it: ``mqtt://user:password@host:port``
(``GIS_MQTT_URL``, ``GIS_MQTT_FEED_URL``, or the project's own broker's ``.local/mqtt.env``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from layers.errors import ConfigurationError


@dataclass(frozen=True)
class Broker:
    """Where the broker listens, and the account to sign in with."""

    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_url(cls, url: str | None) -> Broker:
        """The broker of ``url``.

        Raises
        ------
        ConfigurationError
            No URL, or one that is not ``mqtt://user:password@host:port``.
        """
        parts = urlsplit(url or "")
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ConfigurationError(
                "no MQTT broker is configured, or its URL is not mqtt://user:password@host:port",
                "posrednik MQTT ni nastavljen ali njegov naslov ni mqtt://uporabnik:geslo@strežnik:vrata",
                "run `make mqtt` (the project's own broker) or set GIS_MQTT_URL",
                "zaženite `make mqtt` (lastni posrednik) ali nastavite GIS_MQTT_URL",
            )
        return cls(
            parts.hostname,
            parts.port or 1883,
            unquote(parts.username or ""),
            unquote(parts.password or ""),
        )

    def client(self, client_id: str, manual_ack: bool = False) -> mqtt.Client:
        """A paho client (MQTT 5) for this broker and account, not yet connected."""
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=manual_ack,
        )
        client.username_pw_set(self.user, self.password)
        client.reconnect_delay_set(1, 10)
        return client
