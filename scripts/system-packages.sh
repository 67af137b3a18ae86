#!/usr/bin/env bash
# Install the Debian packages the project needs, only those missing.
#   scripts/system-packages.sh postgis    PostGIS for PostgreSQL 15 (the project's own cluster)
#   scripts/system-packages.sh pgrouting  pgRouting for it: the roads as a network for evacuation
#   scripts/system-packages.sh browser    Chromium, for the browser tests
#   scripts/system-packages.sh npm        Node.js's npm, to install the pages' scripts
#   scripts/system-packages.sh gdal       GDAL's tools: the tests read our exports with them,
#                                         the benchmarks time them as the baseline
#   scripts/system-packages.sh mqtt       mosquitto, the live feeds' broker, and its clients
#   scripts/system-packages.sh jemalloc   the allocator the server runs on: it gives closed
#                                         pages' memory back (app.py)
set -euo pipefail

declare -A PACKAGE=([postgis]=postgresql-15-postgis-3 [pgrouting]=postgresql-15-pgrouting [browser]=chromium [npm]=npm [gdal]=gdal-bin [mqtt]="mosquitto mosquitto-clients" [jemalloc]=libjemalloc2)
declare -A PRESENT=([postgis]=/usr/lib/postgresql/15/lib/postgis-3.so [pgrouting]=/usr/lib/postgresql/15/lib/libpgrouting-3.4.so [browser]=/usr/bin/chromium [npm]=/usr/bin/npm [gdal]=/usr/bin/ogrinfo [mqtt]=/usr/bin/mosquitto_pub [jemalloc]=/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2)

missing=()
for want in "$@"; do
    # shellcheck disable=SC2206 # a want may name two packages
    [ -e "${PRESENT[$want]}" ] || missing+=(${PACKAGE[$want]})
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "system-packages: need root to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
fi
echo "system-packages: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"
