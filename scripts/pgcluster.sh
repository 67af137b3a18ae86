#!/usr/bin/env bash
# The project's own PostGIS cluster: created, started and stopped in the git-ignored .local/ folder.
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user;
# as anybody else it runs as that user. Connections: TCP on 127.0.0.1 with passwords (the app)
# and a private Unix socket (this script, as the superuser).
#
#   scripts/pgcluster.sh start   create what is missing, start, ensure roles and databases
#   scripts/pgcluster.sh stop    stop the cluster
#   scripts/pgcluster.sh status  say whether it runs
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOCAL="$ROOT/.local"
ENVFILE="$LOCAL/db.env"
PORT="${GIS_PG_PORT:-55432}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
DATABASES=(gis gis_test)

if [ "$(id -u)" = 0 ]; then
    RUN_AS=(runuser -u postgres --)
    OWNER=postgres
else
    RUN_AS=()
    OWNER=$(id -un)
fi

# The server's files live in .local/ when its user can reach that folder; a checkout under a
# private home (mode 700) cannot be reached by `postgres`, so then they go to /var/tmp instead,
# in a folder named after the checkout.
CLUSTER_DIR="$LOCAL"
if ! "${RUN_AS[@]}" test -x "$ROOT"; then
    CLUSTER_DIR="/var/tmp/obcinski-zemljevid-$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)"
fi
PGDATA="$CLUSTER_DIR/pgdata"
RUNDIR="$CLUSTER_DIR/run"

as_owner() { (cd / && "${RUN_AS[@]}" "$@"); }  # from /: the checkout may be private
psql_admin() { as_owner "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUNDIR" -p "$PORT" -U postgres "$@"; }

fail() {
    echo "pgcluster: $*" >&2
    exit 1
}

check_binaries() {
    [ -x "$PGBIN/initdb" ] || fail "PostgreSQL 15 is not installed ($PGBIN/initdb missing) / PostgreSQL 15 ni nameščen: run 'make system-packages'."
    [ -f /usr/lib/postgresql/15/lib/postgis-3.so ] || fail "PostGIS is not installed / PostGIS ni nameščen: run 'make system-packages' (Debian package postgresql-15-postgis-3)."
    [ -f /usr/lib/postgresql/15/lib/libpgrouting-3.4.so ] || fail "pgRouting is not installed / pgRouting ni nameščen: run 'make system-packages' (Debian package postgresql-15-pgrouting)."
}

init_cluster() {
    mkdir -p "$LOCAL" "$CLUSTER_DIR" "$RUNDIR"
    chmod 755 "$CLUSTER_DIR"
    chown "$OWNER" "$RUNDIR"
    chmod 700 "$RUNDIR"
    as_owner test -w "$RUNDIR" \
        || fail "user $OWNER cannot write $RUNDIR; every folder above $ROOT must be searchable (chmod o+x) / uporabnik $OWNER ne more pisati v $RUNDIR."
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
        echo "pgcluster: creating the cluster in $PGDATA (port $PORT)"
        mkdir -p "$PGDATA"
        chown "$OWNER" "$PGDATA"
        chmod 700 "$PGDATA"
        # trust on the socket is safe: the socket folder is private to $OWNER (mode 700).
        as_owner "$PGBIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 >"$RUNDIR/initdb.log"
        cat >>"$PGDATA/postgresql.conf" <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$RUNDIR'
unix_socket_permissions = 0700
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 256MB
max_wal_size = 2GB
# One server, no replicas: a bulk load into a table truncated in its own transaction then skips
# the WAL (1M polygons: 2.8 s -> 1.9 s). Backups of this cluster are dumps, not WAL archives.
wal_level = minimal
max_wal_senders = 0
application_name = 'pgcluster'
CONF
    fi
}

is_running() { as_owner "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

start_server() {
    if is_running; then
        return
    fi
    if ! as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -l "$RUNDIR/postgres.log" -w -t 60 start >/dev/null; then
        if tail -n 5 "$RUNDIR/postgres.log" | grep -q "could not create any TCP/IP sockets"; then
            fail "port $PORT is taken by another server: run with GIS_PG_PORT=<free port> / vrata $PORT so zasedena: nastavite GIS_PG_PORT."
        fi
        fail "the server did not start; see $RUNDIR/postgres.log / strežnik se ni zagnal."
    fi
}

new_password() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }

write_env_file() {
    [ -f "$ENVFILE" ] && return
    local writer reader
    writer=$(new_password)
    reader=$(new_password)
    umask 077
    cat >"$ENVFILE" <<ENV
# Written by scripts/pgcluster.sh: connection URLs of the project's own cluster. Keep private.
GIS_WRITER_PASSWORD=$writer
GIS_READER_PASSWORD=$reader
DATABASE_URL=postgresql+psycopg://gis_writer:$writer@127.0.0.1:$PORT/gis
DATABASE_READER_URL=postgresql+psycopg://gis_reader:$reader@127.0.0.1:$PORT/gis
TEST_DATABASE_URL=postgresql+psycopg://gis_writer:$writer@127.0.0.1:$PORT/gis_test
TEST_DATABASE_READER_URL=postgresql+psycopg://gis_reader:$reader@127.0.0.1:$PORT/gis_test
ENV
}

env_value() { sed -n "s/^$1=//p" "$ENVFILE"; }

ensure_roles_and_databases() {
    local writer reader
    writer=$(env_value GIS_WRITER_PASSWORD)
    reader=$(env_value GIS_READER_PASSWORD)
    psql_admin -d postgres -v writer="$writer" -v reader="$reader" <<'SQL'
SELECT format('CREATE ROLE gis_writer LOGIN PASSWORD %L', :'writer')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gis_writer') \gexec
SELECT format('CREATE ROLE gis_reader LOGIN PASSWORD %L', :'reader')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gis_reader') \gexec
-- The dashboards serve people, who do not wait a minute: a query of theirs ends after 60 s
-- (also one whose page was closed), waits at most 5 s behind a load's lock, and no transaction
-- of theirs idles. The ETL's role has no limits: a national load may take long.
ALTER ROLE gis_reader SET statement_timeout = '60s';
ALTER ROLE gis_reader SET lock_timeout = '5s';
ALTER ROLE gis_reader SET idle_in_transaction_session_timeout = '60s';
SQL
    for db in "${DATABASES[@]}"; do
        psql_admin -d postgres -v db="$db" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER gis_writer', :'db')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
        psql_admin -d "$db" -v db="$db" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgis;
-- the search's folding and trigram index (etl/migrations/0008_search.sql), beside PostGIS in public
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;
-- the roads as a network for evacuation routes (etl/migrations/0014_road_network.sql)
CREATE EXTENSION IF NOT EXISTS pgrouting;
-- the flood rasters' depths themselves (etl/migrations/0015_flood_depth.sql)
CREATE EXTENSION IF NOT EXISTS postgis_raster;
GRANT CONNECT ON DATABASE :"db" TO gis_reader;
-- the dashboards' role creates nothing, not even temporary tables (the owner, the ETL, still may)
REVOKE TEMPORARY ON DATABASE :"db" FROM PUBLIC;
SQL
    done
    # A restore (python -m etl.backup restore) builds a new database from this empty one with
    # PostGIS, checks it, then renames it over the live one, ending the sessions on that: so
    # the writer may create databases and end the dashboards' connections, nothing more.
    psql_admin -d postgres <<'SQL'
SET client_min_messages = warning;
SELECT 'CREATE DATABASE gis_template OWNER gis_writer'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'gis_template') \gexec
ALTER ROLE gis_writer CREATEDB;
GRANT pg_signal_backend TO gis_writer;
SQL
    psql_admin -d gis_template <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgis;
-- the search's folding and trigram index (etl/migrations/0008_search.sql), beside PostGIS in public
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;
-- the roads as a network for evacuation routes (etl/migrations/0014_road_network.sql)
CREATE EXTENSION IF NOT EXISTS pgrouting;
-- the flood rasters' depths themselves (etl/migrations/0015_flood_depth.sql)
CREATE EXTENSION IF NOT EXISTS postgis_raster;
SQL
    psql_admin -d postgres -c "ALTER DATABASE gis_template IS_TEMPLATE true"
}

case "${1:-}" in
start)
    check_binaries
    init_cluster
    start_server
    write_env_file
    ensure_roles_and_databases
    echo "pgcluster: PostGIS runs on 127.0.0.1:$PORT (databases: ${DATABASES[*]})"
    ;;
stop)
    if [ -f "$PGDATA/PG_VERSION" ] && is_running; then
        as_owner "$PGBIN/pg_ctl" -D "$PGDATA" -w -m fast stop >/dev/null
        echo "pgcluster: stopped"
    else
        echo "pgcluster: not running"
    fi
    ;;
status)
    if [ -f "$PGDATA/PG_VERSION" ] && is_running; then echo "running on port $PORT"; else echo "stopped"; exit 3; fi
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
