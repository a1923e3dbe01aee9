#!/usr/bin/env bash
# An A/B of two storegate builds on one REST route: the two servers run in
# turn, round after round, on the same data, so that what the machine does
# between rounds falls on both alike. Odd rounds run A first, even rounds
# B first: in A/A runs (one binary as both) on SQLite the second run of a
# pair was the faster in 8 of 9 pairs, so a fixed order favours B. BENCHMARKS.md takes a change's effect
# from this, not from two comparison runs (bench/compare.sh), between which
# unchanged systems move by up to 40 %.
#
#   bash bench/ab.sh BINARY_A BINARY_B
#
# e.g. the release build before and after a change:
#   git stash && cargo build --release && cp target/release/storegate /tmp/sg-a
#   git stash pop && cargo build --release && cp target/release/storegate /tmp/sg-b
#   bash bench/ab.sh /tmp/sg-a /tmp/sg-b
#
# Settings (environment):
#   AB_PATH      the route, {id} drawn from AB_IDS (default /api/stores/{id})
#   AB_METHOD    (default GET)
#   AB_BODY      a request body, e.g. a GraphQL request (default none)
#   AB_IDS       "lo:hi" (default 1:50, the demo data's stores)
#   AB_ENGINES   postgres,sqlite or one of them  (default postgres,sqlite)
#   AB_ROUNDS    rounds: A then B, then B then A, … (default 4; keep it even)
#   AB_DURATION  measured seconds per run          (default 8)
#   AB_WARMUP    unmeasured seconds before each    (default 3)
#   BENCH_PG_URL PostgreSQL server URL, no database (default postgres://postgres@127.0.0.1:5432)
#   BENCH_PG_DB  scratch database, created and dropped (default storegate_ab)
#
# A run fails if any request of it failed (not 2xx/3xx, or a socket error).
# Prints one line per run (req/s, p99, server CPU per request, from
# /proc/PID/stat) and each build's mean per engine. **It drops a database
# named BENCH_PG_DB if one already exists.**
set -euo pipefail

[ $# -eq 2 ] || {
    echo "usage: bash bench/ab.sh BINARY_A BINARY_B" >&2
    exit 2
}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
AB_PATH=${AB_PATH:-/api/stores/{id\}}
AB_METHOD=${AB_METHOD:-GET}
AB_BODY=${AB_BODY:-}
IDS=${AB_IDS:-1:50}
ENGINES=${AB_ENGINES:-postgres,sqlite}
ROUNDS=${AB_ROUNDS:-4}
DURATION=${AB_DURATION:-8}
WARMUP=${AB_WARMUP:-3}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_DB=${BENCH_PG_DB:-storegate_ab}
JWT_SECRET=bench-only-dummy-secret-0123456789abcdefghijklmn

command -v wrk >/dev/null || {
    echo "ab: wrk is needed (Debian: apt-get install wrk)" >&2
    exit 1
}

# shellcheck source=bench/scratch.sh
source bench/scratch.sh
# Copies, so a build during the run cannot swap a binary.
cp "$1" "$tmp/a"
cp "$2" "$tmp/b"

create_scratch_database
declare -A url=(
    [postgres]="$PG_URL/$PG_DB?sslmode=disable"
    [sqlite]="sqlite://$tmp/ab.db?mode=rwc"
)
for engine in ${ENGINES//,/ }; do
    seed_scratch "$tmp/a" "${url[$engine]}"
done

run() { # ENGINE BUILD -> one line: engine build req/s p99_ms cpu_us_per_req
    start_scratch_server "$tmp/$2" "${url[$1]}" "ab: $1 $2"
    local base="http://127.0.0.1:$port"
    export BENCH_A_PATH=$AB_PATH BENCH_A_IDS=$IDS BENCH_A_METHOD=$AB_METHOD BENCH_A_BODY=$AB_BODY
    wrk -t2 -c64 -d"${WARMUP}s" -s bench/wrk/workload.lua "$base" >/dev/null
    local before after
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    wrk -t2 -c64 -d"${DURATION}s" -s bench/wrk/workload.lua "$base" >"$tmp/wrk.out"
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
    python3 - "$1" "$2" "$((after - before))" "$(getconf CLK_TCK)" "$tmp/wrk.out" <<'PY'
import json, sys
engine, build, ticks, hz, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
line = next(l for l in open(path) if l.startswith("WRK "))
r = json.loads(line[4:])
errors = r["non_2xx_3xx"] + r["socket_errors"]
if errors:
    sys.exit(f"ab: {engine} {build}: {errors} requests failed")
reqs = r["requests"]
print(f"{engine} {build} {reqs / r['seconds']:.0f} {r['p99_us'] / 1000:.2f} {ticks / hz / reqs * 1e6:.1f}")
PY
}

echo "engine build req/s p99_ms cpu_us_per_req" | tee "$tmp/runs"
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then order="a b"; else order="b a"; fi
    for engine in ${ENGINES//,/ }; do
        for build in $order; do
            run "$engine" "$build" | tee -a "$tmp/runs"
        done
    done
    echo "ab: round $round of $ROUNDS done" >&2
done
echo "mean over $ROUNDS rounds:"
awk 'NR > 1 { n[$1" "$2]++; r[$1" "$2] += $3; c[$1" "$2] += $5 }
     END { for (k in n) printf "%s %.0f req/s %.1f us/req\n", k, r[k] / n[k], c[k] / n[k] }' "$tmp/runs" | sort
