#!/usr/bin/env bash
# The project's own MQTT broker (Debian's mosquitto): its config, accounts and persistence in the
# git-ignored .local/ folder, listening on 127.0.0.1 only (GIS_MQTT_ADDRESS to change that).
# Two accounts are made on first start, their URLs written to .local/mqtt.env:
#   ingest   reads <profile>/sensors/# (python -m etl listen)
#   feed     writes <profile>/sensors/# (the sensors; the sample's feed simulator)
#
#   scripts/mqtt.sh start   create what is missing and start the broker
#   scripts/mqtt.sh stop    stop it (it saves its queued messages first)
#   scripts/mqtt.sh status  say whether it runs
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOCAL="$ROOT/.local"
ENVFILE="$LOCAL/mqtt.env"
PORT="${GIS_MQTT_PORT:-51883}"
ADDRESS="${GIS_MQTT_ADDRESS:-127.0.0.1}"
BROKER=/usr/sbin/mosquitto

# As root the broker runs as Debian's `mosquitto` user, so its folder must be one that user can
# reach: .local/ when it can, else a folder in /var/tmp named after the checkout.
if [ "$(id -u)" = 0 ]; then
    OWNER=mosquitto
    RUN_AS=(runuser -u mosquitto --)
else
    OWNER=$(id -un)
    RUN_AS=()
fi
DIR="$LOCAL/mosquitto"
if ! (cd / && "${RUN_AS[@]}" test -x "$ROOT"); then
    DIR="/var/tmp/obcinski-zemljevid-$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)/mosquitto"
fi
PIDFILE="$DIR/mosquitto.pid"

fail() {
    echo "mqtt: $*" >&2
    exit 1
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

write_accounts() {
    [ -f "$ENVFILE" ] && [ -f "$DIR/passwords" ] && return
    mkdir -p "$LOCAL"
    local ingest feed
    ingest=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
    feed=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
    rm -f "$DIR/passwords"
    mosquitto_passwd -c -b "$DIR/passwords" ingest "$ingest"
    mosquitto_passwd -b "$DIR/passwords" feed "$feed"
    umask 077
    cat >"$ENVFILE" <<ENV
# The project's own MQTT broker (scripts/mqtt.sh); GIS_MQTT_URL in the environment wins.
GIS_MQTT_URL=mqtt://ingest:$ingest@127.0.0.1:$PORT
GIS_MQTT_FEED_URL=mqtt://feed:$feed@127.0.0.1:$PORT
ENV
}

write_config() {
    # Packets up to 16 MB reach the ingest, which refuses more than 1 MiB with its reason: the
    # broker would only drop the connection. Queues are unbounded in count (a day offline is
    # kept) and saved every 10 s and on stop.
    cat >"$DIR/mosquitto.conf" <<CONF
listener $PORT $ADDRESS
allow_anonymous false
password_file $DIR/passwords
acl_file $DIR/acl
persistence true
persistence_location $DIR/data/
autosave_interval 10
pid_file $PIDFILE
log_dest file $DIR/mosquitto.log
log_type error
log_type warning
log_type notice
max_packet_size 16777216
max_inflight_messages 0
max_queued_messages 0
max_queued_bytes 0
persistent_client_expiration 14d
CONF
    cat >"$DIR/acl" <<ACL
user ingest
topic read +/sensors/#
user feed
topic write +/sensors/#
ACL
}

start() {
    [ -x "$BROKER" ] || fail "mosquitto is not installed / mosquitto ni nameščen: run 'scripts/system-packages.sh mqtt'."
    running && { echo "mqtt: the broker runs on $ADDRESS:$PORT"; return; }
    mkdir -p "$DIR/data"
    write_accounts
    write_config
    chown -R "$OWNER" "$DIR"
    chmod 700 "$DIR"
    chmod 600 "$DIR/passwords"
    rm -f "$PIDFILE"
    (cd / && "${RUN_AS[@]}" "$BROKER" -c "$DIR/mosquitto.conf" -d)
    for _ in $(seq 50); do
        running && { echo "mqtt: the broker runs on $ADDRESS:$PORT"; return; }
        sleep 0.1
    done
    fail "the broker did not start; see $DIR/mosquitto.log / posrednik se ni zagnal"
}

stop() {
    running || { echo "mqtt: the broker is not running"; return; }
    local pid
    pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { echo "mqtt: stopped"; return; }
        sleep 0.1
    done
    fail "the broker (pid $pid) did not stop"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) running && echo "mqtt: running on $ADDRESS:$PORT" || { echo "mqtt: stopped"; exit 3; } ;;
*) fail "usage: scripts/mqtt.sh start|stop|status" ;;
esac
