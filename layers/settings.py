"""The settings: every environment variable the product reads, read once into one typed object.

``app.py`` and the command-line entry points (``python -m etl``, ``python -m dashboards.users``)
call ``read_settings`` once and pass the object on. The database's URLs are the one exception:
``layers.db.database_urls`` reads them (or the project's own cluster's ``.local/db.env``), called
once by the same entry points; no other module reads the environment.

| variable | setting |
|---|---|
| ``DATABASE_URL``, ``DATABASE_READER_URL`` | the writer's and the dashboards' database (else the project's own cluster, ``.local/db.env``) |
| ``GIS_PROFILE`` | the municipality profile (``ptuj``) |
| ``GIS_PORT``, ``GIS_ADDRESS`` | where the server listens (5006, 127.0.0.1) |
| ``GIS_BASEMAP_URL`` | an online XYZ basemap; none by default (offline) |
| ``GIS_TLS`` | ``1`` behind TLS: cookies are Secure |
| ``GIS_USERS_FILE`` | the local users file (``.local/users.json``) |
| ``GIS_SESSION_HOURS`` | how long a person's sign-in lasts (10) |
| ``GIS_COOKIE_SECRET`` | signs the cookies (else ``.local/app.env``, made on first use) |
| ``PANEL_OAUTH_PROVIDER`` | sign-in through an OpenID Connect provider (Panel's variables) |
| ``GIS_OIDC_ROLES``, ``GIS_OIDC_GROUPS_CLAIM`` | the provider's groups as roles, and the claim holding them |
| ``GIS_WALL_TICK_SECONDS``, ``…_ROTATE_…``, ``…_REFRESH_…`` | the wall's timers (tests, demos) |
| ``GIS_DASK_SCHEDULER`` | a Dask cluster for the readings past one machine (``tcp://host:8786``) |
| ``GIS_READINGS_ARCHIVE`` | the folder ``python -m etl export-readings`` wrote: the map adds its readings, aggregated on the Dask cluster |
| ``GIS_BACKUP_DIR``, ``GIS_BACKUP_KEEP`` | where ``make backup`` writes (``.local/backups``) and how many it keeps (14) |
| ``GIS_BACKUP_KEY`` | an OpenPGP public key file: backups are encrypted to it |
| ``GIS_MQTT_URL`` | the broker the ingest reads, with its account (else the project's own, ``.local/mqtt.env``) |
| ``GIS_MQTT_FEED_URL`` | the broker the sample's feed simulator writes to, with its account (likewise) |
| ``GIS_FEED`` | ``off``: ``make run`` starts no feed simulator |
| ``GIS_PUBLIC_URL`` | where the public reaches the server (``https://gis.ptuj.si``), for the open-data catalogue's addresses (else the request's host) |
| ``GIS_OGC_REQUESTS_PER_MINUTE`` | how many requests of the OGC API (``/ogc``) one address may make a minute (600) |
| ``GIS_OPEN_DATA_DIR`` | where the ETL writes the open layers' downloads and the server serves them (``.local/open-data``) |
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from layers.db import ROOT, read_env_file
from layers.errors import ConfigurationError

DEFAULT_PROFILE = "ptuj"
LJUBLJANA = ZoneInfo("Europe/Ljubljana")  # every time a person reads is in this zone
MQTT_ENV_FILE = ROOT / ".local" / "mqtt.env"  # the project's own broker (scripts/mqtt.sh)


@dataclass(frozen=True)
class Settings:
    """What the environment says, checked and typed; see the module's table."""

    profile: str = DEFAULT_PROFILE
    port: int = 5006
    address: str = "127.0.0.1"
    basemap_url: str | None = None
    tls: bool = False
    users_file: Path = ROOT / ".local" / "users.json"
    session_hours: float = 10.0
    cookie_secret: str | None = None
    oidc_provider: str | None = None
    oidc_roles: str = ""
    oidc_groups_claim: str = "groups"
    wall_tick_seconds: float | None = None
    wall_rotate_seconds: float | None = None
    wall_refresh_seconds: float | None = None
    dask_scheduler: str | None = None
    readings_archive: Path | None = None
    backup_dir: Path = ROOT / ".local" / "backups"
    backup_keep: int = 14
    backup_key: Path | None = None
    mqtt_url: str | None = None
    mqtt_feed_url: str | None = None
    open_data_dir: Path = ROOT / ".local" / "open-data"
    public_url: str | None = None
    ogc_requests_per_minute: int = 600  # a harvester pages steadily; a runaway loop is stopped


def _number(
    environ: Mapping[str, str], name: str, kind: Callable[[str], float] = float
) -> float | None:
    raw = environ.get(name)
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name}={raw!r} is not a number",
            f"{name}={raw!r} ni število",
            f"set {name} to a number, or unset it",
            f"nastavite {name} na število ali ga izbrišite",
        ) from None


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``environ`` (the process's environment), defaults where unset.

    Raises
    ------
    ConfigurationError
        A variable that must be a number is not one, or an archive of readings is set
        without the Dask cluster that aggregates it.
    """
    env = os.environ if environ is None else environ
    if env.get("GIS_READINGS_ARCHIVE") and not env.get("GIS_DASK_SCHEDULER"):
        raise ConfigurationError(
            "GIS_READINGS_ARCHIVE is set but GIS_DASK_SCHEDULER is not: a Dask cluster aggregates the archive",
            "GIS_READINGS_ARCHIVE je nastavljen, GIS_DASK_SCHEDULER pa ne: arhiv združuje gruča Dask",
            "start a scheduler and workers (dask scheduler; dask worker tcp://HOST:8786) and set GIS_DASK_SCHEDULER=tcp://HOST:8786",
            "zaženite razvrščevalnik in delavce (dask scheduler; dask worker tcp://HOST:8786) in nastavite GIS_DASK_SCHEDULER=tcp://HOST:8786",
        )
    defaults = Settings()
    port = _number(env, "GIS_PORT", int)
    hours = _number(env, "GIS_SESSION_HOURS")
    keep = _number(env, "GIS_BACKUP_KEEP", int)
    ogc_rate = _number(env, "GIS_OGC_REQUESTS_PER_MINUTE", int)
    broker = env if env.get("GIS_MQTT_URL") else read_env_file(MQTT_ENV_FILE)
    return Settings(
        profile=env.get("GIS_PROFILE") or defaults.profile,
        port=defaults.port if port is None else port,
        address=env.get("GIS_ADDRESS") or defaults.address,
        basemap_url=env.get("GIS_BASEMAP_URL") or None,
        tls=env.get("GIS_TLS") == "1",
        users_file=Path(env.get("GIS_USERS_FILE") or defaults.users_file),
        session_hours=defaults.session_hours if hours is None else hours,
        cookie_secret=env.get("GIS_COOKIE_SECRET") or None,
        oidc_provider=env.get("PANEL_OAUTH_PROVIDER") or None,
        oidc_roles=env.get("GIS_OIDC_ROLES", ""),
        oidc_groups_claim=env.get("GIS_OIDC_GROUPS_CLAIM") or defaults.oidc_groups_claim,
        wall_tick_seconds=_number(env, "GIS_WALL_TICK_SECONDS"),
        wall_rotate_seconds=_number(env, "GIS_WALL_ROTATE_SECONDS"),
        wall_refresh_seconds=_number(env, "GIS_WALL_REFRESH_SECONDS"),
        dask_scheduler=env.get("GIS_DASK_SCHEDULER") or None,
        readings_archive=Path(archive) if (archive := env.get("GIS_READINGS_ARCHIVE")) else None,
        backup_dir=Path(env.get("GIS_BACKUP_DIR") or defaults.backup_dir),
        backup_keep=defaults.backup_keep if keep is None else keep,
        backup_key=Path(env["GIS_BACKUP_KEY"]) if env.get("GIS_BACKUP_KEY") else None,
        mqtt_url=broker.get("GIS_MQTT_URL") or None,
        mqtt_feed_url=broker.get("GIS_MQTT_FEED_URL") or None,
        open_data_dir=Path(env.get("GIS_OPEN_DATA_DIR") or defaults.open_data_dir),
        public_url=(env.get("GIS_PUBLIC_URL") or "").rstrip("/") or None,
        ogc_requests_per_minute=defaults.ogc_requests_per_minute if ogc_rate is None else ogc_rate,
    )
