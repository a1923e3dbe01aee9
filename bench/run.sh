#!/usr/bin/env bash
# Reproduces BENCHMARKS.md ("REST against GraphQL inside storegate"): builds
# storegate and the load generator in release mode, seeds a fresh database,
# serves it on a free local port, and runs every scenario of
# examples/loadgen.rs against it with the same settings; then does the same
# on PostgreSQL when asked.
#
#   bash bench/run.sh                        # SQLite
#   BENCH_DB=postgres bash bench/run.sh      # PostgreSQL only
#   BENCH_DB=both bash bench/run.sh          # SQLite, then PostgreSQL
#
# Settings (environment):
#   BENCH_DURATION     measured seconds per scenario          (default 10)
#   BENCH_WARMUP       unmeasured seconds before each one     (default 2)
#   BENCH_CONNECTIONS  space-separated connection counts      (default "32 1")
#   BENCH_SCENARIOS    comma-separated scenarios              (default: all)
#   BENCH_SCALE        demo products to seed (seed-demo --scale) (default 2000)
#   BENCH_PG_URL       PostgreSQL server URL, no database     (default postgres://postgres@127.0.0.1:5432)
#   BENCH_PG_DB        scratch database, created and dropped  (default storegate_bench)
#   BENCH_SKIP_BUILD   set to 1 to reuse the release binaries already built
#   CARGO_TARGET_DIR   honoured as by cargo                   (default target)
#
# Prints the machine, then one markdown table of results; with BENCH_OUT
# set, also writes the same results as JSON lines to that file.
# Exits non-zero if any operation failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BENCH_DB=${BENCH_DB:-sqlite}
BENCH_DURATION=${BENCH_DURATION:-10}
BENCH_WARMUP=${BENCH_WARMUP:-2}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-"32 1"}
BENCH_SCENARIOS=${BENCH_SCENARIOS:-rest-two-step,graphql-product,graphql-page-100,rest-list-100,rest-list-20,rest-list-100-factories,graphql-page-20,rest-query-20,graphql-query-20}
BENCH_SCALE=${BENCH_SCALE:-2000}
BENCH_PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
BENCH_PG_DB=${BENCH_PG_DB:-storegate_bench}
BENCH_OUT=${BENCH_OUT:-}
release=${CARGO_TARGET_DIR:-target}/release

case "$BENCH_DB" in
sqlite | postgres | both) ;;
*)
    echo "bench: BENCH_DB must be sqlite, postgres or both (got '$BENCH_DB')" >&2
    exit 2
    ;;
esac

tmp=$(mktemp -d)
server_pid=""
pg_created=""

stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}

drop_pg() {
    if [ -n "$pg_created" ]; then
        psql -X -q "$BENCH_PG_URL/postgres" -c "DROP DATABASE IF EXISTS $BENCH_PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
        pg_created=""
    fi
}

cleanup() {
    stop_server
    drop_pg
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

machine() {
    echo "## Machine"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src entity migration Cargo.toml Cargo.lock 2>/dev/null || echo ' (plus uncommitted changes in src/, entity/, migration/ or Cargo.*)')"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') × $(nproc) (load generator and server share them)"
    echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "- kernel: $(uname -sr)"
    echo "- $(rustc --version)"
    echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- settings: ${BENCH_WARMUP}s warm-up + ${BENCH_DURATION}s measured per scenario; connections: $BENCH_CONNECTIONS; $BENCH_SCALE demo products"
    echo
}

# serve LABEL DATABASE_URL: seeds the database, starts the server, runs
# every scenario at every connection count, stops the server.
serve_and_measure() {
    local label=$1 url=$2 base=""
    echo "bench: seeding $label" >&2
    DATABASE_URL="$url" RUST_LOG=warn "$tmp/bench-server" seed-demo --scale "$BENCH_SCALE" >&2 || {
        echo "bench: seed-demo failed on $label" >&2
        return 1
    }

    # PORT=0: the system picks a free port; the server prints the one it got.
    DATABASE_URL="$url" HOST=127.0.0.1 PORT=0 RUST_LOG=warn \
        JWT_SECRET=bench-only-dummy-secret-0123456789abcdefghijklmn \
        "$tmp/bench-server" serve >"$tmp/server-$label.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        base=$(sed -n 's#^storegate is listening on \(http://[0-9.:]*\)$#\1#p' "$tmp/server-$label.log" | head -n 1)
        if [ -n "$base" ] && curl -fsS -o /dev/null "$base/api/products?limit=1" 2>/dev/null; then
            break
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "bench: the server exited; its log:" >&2
            cat "$tmp/server-$label.log" >&2
            return 1
        fi
        sleep 0.1
    done
    if [ -z "$base" ] || ! curl -fsS -o /dev/null "$base/api/products?limit=1"; then
        echo "bench: the server does not answer; its log:" >&2
        cat "$tmp/server-$label.log" >&2
        return 1
    fi
    echo "bench: $label server at $base" >&2

    local conns status=0
    for conns in $BENCH_CONNECTIONS; do
        "$tmp/bench-loadgen" --base-url "$base" --label "$label" \
            --scenario "$BENCH_SCENARIOS" --connections "$conns" --server-pid "$server_pid" \
            --duration "$BENCH_DURATION" --warmup "$BENCH_WARMUP" >"$tmp/out" || status=1
        grep '^| ' "$tmp/out" >>"$tmp/rows"
        sed -n 's/^JSON //p' "$tmp/out" >>"$tmp/json"
        if ! kill -0 "$server_pid" 2>/dev/null; then
            local code=0
            wait "$server_pid" || code=$?
            echo "bench: the $label server exited during the run (status $code); rows after that are errors" >&2
            server_pid=""
            status=1
            break
        fi
    done
    stop_server
    if [ -s "$tmp/server-$label.log" ]; then
        echo "bench: server log ($label):" >&2
        tail -n 20 "$tmp/server-$label.log" >&2
    fi
    return $status
}

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    echo "bench: cargo build --release --bin storegate --example loadgen" >&2
    cargo build --release --bin storegate --example loadgen >&2
fi

# Run copies of the binaries, so a build started elsewhere during the run
# cannot swap them (nor is the server mistaken for another storegate).
cp "$release/storegate" "$tmp/bench-server"
cp "$release/examples/loadgen" "$tmp/bench-loadgen"

machine_info=$(machine)
: >"$tmp/rows"
: >"$tmp/json"
failed=0

if [ "$BENCH_DB" = sqlite ] || [ "$BENCH_DB" = both ]; then
    serve_and_measure sqlite "sqlite://$tmp/bench.db?mode=rwc" || failed=1
fi

if [ "$BENCH_DB" = postgres ] || [ "$BENCH_DB" = both ]; then
    command -v psql >/dev/null || {
        echo "bench: psql is needed to create the scratch database" >&2
        exit 1
    }
    psql -X -q -v ON_ERROR_STOP=1 "$BENCH_PG_URL/postgres" -c "DROP DATABASE IF EXISTS $BENCH_PG_DB WITH (FORCE)" >&2
    psql -X -q -v ON_ERROR_STOP=1 "$BENCH_PG_URL/postgres" -c "CREATE DATABASE $BENCH_PG_DB" >&2
    pg_created=1
    serve_and_measure postgres "$BENCH_PG_URL/$BENCH_PG_DB" || failed=1
    drop_pg
fi

echo "$machine_info"
echo
echo "## Results"
echo
echo "| db | scenario | conns | ops/s | req/s | products/s | mean ms | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/op | errors |"
echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
cat "$tmp/rows"
echo
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$BENCH_OUT" ]; then
    cp "$tmp/json" "$BENCH_OUT"
    echo
    echo "JSON lines: $BENCH_OUT"
fi
if [ "$failed" != 0 ]; then
    echo "bench: some operations FAILED; see the errors column and the messages above" >&2
    exit 1
fi
