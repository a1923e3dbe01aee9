#!/usr/bin/env bash
# Starts PostGraphile v4 in its production configuration against the database
# storegate's migrations created. See README.md beside this file.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/storegate_bench PORT=5000 bash bench/postgraphile/start.sh
#
# Environment:
#   DATABASE_URL  (required) the PostgreSQL database storegate migrated
#   PORT          listen port on 127.0.0.1 (default 5000)
#   PG_WORKERS    Node cluster workers (default: nproc); 1 = a single process
#   PG_POOL_SIZE  PostgreSQL connections per worker (default: storegate's pool / workers,
#                 rounded up, so the total matches storegate's default pool: twice
#                 the CPUs, at least 4)
#
# The script execs, so its pid becomes PostGraphile's: with PG_WORKERS >= 2 it
# is the cluster master (which only forks and supervises) and the workers
# serving requests are its children: `pgrep -P <pid>`. Total RSS is the
# master's plus every child's. SIGTERM to the master stops the workers too.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/node_modules/.bin/postgraphile"
if [[ ! -x "$bin" ]]; then
    echo "start.sh: $bin missing; run 'npm ci' in $here first" >&2
    exit 1
fi
: "${DATABASE_URL:?start.sh: set DATABASE_URL to the PostgreSQL database storegate migrated}"

port="${PORT:-5000}"
workers="${PG_WORKERS:-$(nproc)}"
# storegate's default PostgreSQL pool (default_postgres_connections in
# src/db.rs): twice the CPUs, at least 4.
storegate_pool=$(( $(nproc) * 2 ))
[ "$storegate_pool" -ge 4 ] || storegate_pool=4
pool="${PG_POOL_SIZE:-$(( (storegate_pool + workers - 1) / workers ))}"

export NODE_ENV=production
# PostGraphile's CLI enables JWT verification when JWT_SECRET is set (a
# benchmark harness may export it for storegate); keep it off here.
unset JWT_SECRET POSTGRAPHILE_ENV

cluster=()
if (( workers >= 2 )); then
    cluster=(--cluster-workers "$workers")
fi

exec "$bin" \
    --connection "$DATABASE_URL" \
    --schema public \
    --host 127.0.0.1 \
    --port "$port" \
    --max-pool-size "$pool" \
    "${cluster[@]}" \
    --disable-graphiql \
    --disable-query-log \
    --dynamic-json \
    --no-setof-functions-contain-nulls \
    --no-ignore-rbac \
    --no-ignore-indexes
