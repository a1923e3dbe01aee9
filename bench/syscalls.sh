#!/usr/bin/env bash
# System calls per request of a storegate build on PostgreSQL: the server
# runs under wrk (-t1 -c8) while `strace -f -c` counts every thread's
# calls, and each count is divided by the requests wrk made in that window.
# strace slows the server, so its req/s here mean nothing; the calls per
# request are what it is for (BENCHMARKS.md, "System calls per request").
#
#   bash bench/syscalls.sh [BINARY]      (default target/release/storegate)
#
# Workloads: the REST product (GET /api/products/{id}) and the GraphQL
# product with its factory (bench/queries/storegate/product_with_factory.graphql),
# ids 1-2000. Settings: SYSCALLS_DURATION (seconds counted, default 5),
# BENCH_PG_URL, BENCH_PG_DB (scratch database, default storegate_syscalls;
# **dropped first if it exists**, and at the end).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BINARY=${1:-target/release/storegate}
DURATION=${SYSCALLS_DURATION:-5}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_DB=${BENCH_PG_DB:-storegate_syscalls}
JWT_SECRET=bench-only-dummy-secret-0123456789abcdefghijklmn
for tool in wrk strace psql curl python3; do
    command -v "$tool" >/dev/null || {
        echo "syscalls: $tool is needed" >&2
        exit 1
    }
done
[ -x "$BINARY" ] || {
    echo "syscalls: no binary at $BINARY (cargo build --release)" >&2
    exit 1
}

# shellcheck source=bench/scratch.sh
source bench/scratch.sh

create_scratch_database
url="$PG_URL/$PG_DB?sslmode=disable"
seed_scratch "$BINARY" "$url"
start_scratch_server "$BINARY" "$url" syscalls

graphql_body=$(python3 -c 'import json,sys; print("{\"query\":" + json.dumps(open(sys.argv[1]).read()) + ",\"variables\":{\"id\":\"{id}\"}}")' \
    bench/queries/storegate/product_with_factory.graphql)

count() { # NAME METHOD PATH BODY
    export BENCH_A_METHOD=$2 BENCH_A_PATH=$3 BENCH_A_BODY=$4 BENCH_A_IDS=1:2000
    wrk -t1 -c8 -d2s -s bench/wrk/workload.lua "http://127.0.0.1:$port" >/dev/null # warm-up
    strace -f -c -o "$tmp/$1.strace" -p "$pid" 2>/dev/null &
    local tracer=$!
    sleep 1 # let strace attach to every thread
    local summary
    summary=$(wrk -t1 -c8 -d"${DURATION}s" -s bench/wrk/workload.lua "http://127.0.0.1:$port" | sed -n 's/^WRK //p')
    kill -INT "$tracer"
    wait "$tracer" 2>/dev/null || true
    python3 - "$1" "$tmp/$1.strace" "$summary" <<'PY'
import json, sys
name, path, summary = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
requests = summary["requests"]
failed = summary["non_2xx_3xx"] + summary["socket_errors"]
if failed:
    sys.exit(f"syscalls: {failed} requests of {name} failed")
calls = {}
for line in open(path):
    fields = line.split()
    # "% time  seconds  usecs/call  calls  [errors]  syscall"
    if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
        calls[fields[-1]] = int(fields[3])
top = sorted(calls.items(), key=lambda kv: -kv[1])
print(f"{name}: {requests} requests; calls per request: "
      + ", ".join(f"{call} {n / requests:.2f}" for call, n in top if n / requests >= 0.05))
PY
}

count rest_product GET "/api/products/{id}" ""
count graphql_product_with_factory POST /graphql "$graphql_body"
