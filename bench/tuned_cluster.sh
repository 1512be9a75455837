#!/usr/bin/env bash
# A second PostgreSQL cluster for the benchmarks, with docs/scaling.md's settings (shared_buffers
# needs a restart, so it cannot be set on the cluster the tests share). Debian's pg_createcluster;
# run as root. It listens on 127.0.0.1:5433 with trust auth, like the main cluster.
#
#   bash bench/tuned_cluster.sh            # create (once) and start
#   bash bench/tuned_cluster.sh --drop     # stop and remove it
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5433/leads_bench make bench
set -euo pipefail
VERSION="$(ls /etc/postgresql | sort -n | tail -1)"
NAME=bench
PORT="${BENCH_PORT:-5433}"

if [ "${1:-}" = "--drop" ]; then
  pg_dropcluster --stop "$VERSION" "$NAME"
  exit 0
fi

if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$NAME"; then
  pg_createcluster "$VERSION" "$NAME" --port "$PORT" -- --auth=trust >/dev/null
  # docs/scaling.md, section 4, for 2 cores, 23 GB RAM and an SSD; the WAL settings keep a
  # million-row load from checkpointing every few seconds.
  cat > "/etc/postgresql/$VERSION/$NAME/conf.d/scaling.conf" <<CONF
listen_addresses = '127.0.0.1'
shared_buffers = 4GB
effective_cache_size = 8GB
random_page_cost = 1.1
work_mem = 32MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
checkpoint_timeout = 15min
CONF
fi
pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" start 2>/dev/null || true
for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p "$PORT" && break; sleep 1; done
psql -h 127.0.0.1 -p "$PORT" -U postgres -Atc "SHOW shared_buffers"
