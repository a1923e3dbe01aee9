#!/usr/bin/env bash
# The side-by-side comparison of BENCHMARKS.md ("What is compared", "The
# latest comparison"): one run, one machine, one load generator (wrk), the
# same PostgreSQL database and demo data for every system.
#
#   bash bench/compare.sh
#
# Systems: storegate REST and GraphQL (release build) on PostgreSQL and on
# SQLite; PostGraphile 4 (bench/postgraphile) on the same PostgreSQL
# database; Flask (bench/flask: Flask-RESTX, Flask-JWT-Extended,
# Flask-SQLAlchemy under gunicorn); the ceiling (bench/ceiling: axum + sqlx,
# hand-written SQL).
# Workloads: see `workloads_for` below and bench/README.md.
#
# Settings (environment):
#   COMPARE_DURATION     measured seconds per workload             (default 10)
#   COMPARE_WARMUP       unmeasured seconds before each one        (default 3)
#   COMPARE_CONNECTIONS  wrk connections                           (default 64)
#   COMPARE_THREADS      wrk threads                               (default 2)
#   COMPARE_SYSTEMS      comma-separated subset of: storegate-postgres,
#                        storegate-sqlite, postgraphile, flask, ceiling (default all)
#   COMPARE_WORKLOADS    comma-separated subset of the workloads   (default all)
#   COMPARE_ROUNDS       rounds over every system (default 2): odd rounds in
#                        the order above, even rounds in reverse, so that a
#                        slow spell of the machine falls on both sides of a
#                        ratio; the report sums the rounds and shows each
#   COMPARE_OUT          results file (JSON lines)   (default bench/results/compare.jsonl)
#   COMPARE_CHART        chart file (SVG)            (default bench/results/compare.svg)
#   BENCH_PG_URL         PostgreSQL server URL, no database  (default postgres://postgres@127.0.0.1:5432)
#   BENCH_PG_DB          scratch database, created and dropped (default storegate_compare)
#   BENCH_SKIP_BUILD     1: reuse the release binaries, node_modules and the Flask
#                        venv already there (bench/flask/start.sh still installs
#                        the venv on first use)
#
# **It drops a database named BENCH_PG_DB if one already exists.**
# Exits non-zero if a system fails to start, a check fails, or any request
# of a measured run failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

DURATION=${COMPARE_DURATION:-10}
WARMUP=${COMPARE_WARMUP:-3}
CONNECTIONS=${COMPARE_CONNECTIONS:-64}
THREADS=${COMPARE_THREADS:-2}
SYSTEMS=${COMPARE_SYSTEMS:-storegate-postgres,storegate-sqlite,postgraphile,flask,ceiling}
WORKLOADS=${COMPARE_WORKLOADS:-product,product_with_factory,products_page,store,write_mix}
ROUNDS=${COMPARE_ROUNDS:-2}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || {
    echo "compare: COMPARE_ROUNDS must be a positive integer" >&2
    exit 2
}
OUT=${COMPARE_OUT:-bench/results/compare.jsonl}
CHART=${COMPARE_CHART:-bench/results/compare.svg}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_DB=${BENCH_PG_DB:-storegate_compare}
release=${CARGO_TARGET_DIR:-$root/target}/release
JWT_SECRET=bench-only-dummy-secret-0123456789abcdefghijklmn

log() { echo "compare: $*" >&2; }
die() {
    log "$*"
    exit 1
}

tmp=$(mktemp -d)
server_pids=()
pg_created=""

stop_servers() {
    local pid
    for pid in "${server_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${server_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    server_pids=()
}
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    stop_servers
    if [ -n "$pg_created" ]; then
        psql -X -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

selected() { [[ ",$2," == *",$1,"* ]]; }

# --- tools ---------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian package)"
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
    else
        sudo apt-get install -y -qq wrk >/dev/null
    fi
fi
for tool in wrk psql curl python3 node npm; do
    command -v "$tool" >/dev/null || die "$tool is needed"
done

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    log "building storegate and the ceiling (release)"
    cargo build --release --bin storegate >&2
    (cd bench/ceiling && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target} cargo build --release --locked) >&2
    if selected postgraphile "$SYSTEMS"; then
        log "installing PostGraphile (npm ci)"
        (cd bench/postgraphile && npm ci --no-audit --no-fund --loglevel=error) >&2
    fi
    if selected flask "$SYSTEMS"; then
        log "installing Flask (a venv in target/flask-venv, bench/flask/requirements.txt)"
        bash bench/flask/start.sh --install >&2
    fi
fi
# Copies, so a build elsewhere during the run cannot swap the binaries.
cp "$release/storegate" "$tmp/storegate"
[ -x "$release/storegate-ceiling" ] && cp "$release/storegate-ceiling" "$tmp/storegate-ceiling"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() { # URL PID NAME LOG [TRIES, 0.1 s apart]
    for _ in $(seq 1 "${5:-300}"); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || {
            cat "$4" >&2
            die "$3 exited while starting"
        }
        sleep 0.1
    done
    cat "$4" >&2
    die "$3 does not answer at $1"
}

# --- processes: pids, peak RSS, CPU ----------------------------------------
pid_tree() { # PID: the pid and its descendants (PostGraphile's cluster workers)
    local pid=$1 child
    echo "$pid"
    for child in $(pgrep -P "$pid" 2>/dev/null || true); do pid_tree "$child"; done
}
reset_peak_rss() { # clear_refs "5" resets VmHWM, so each workload gets its own peak
    local pid
    for pid in $(pid_tree "$1"); do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
}
peak_rss_kib() { # summed over the tree: an upper bound when several processes peak apart
    local pid total=0 kib
    for pid in $(pid_tree "$1"); do
        kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        total=$((total + ${kib:-0}))
    done
    echo "$total"
}
cpu_ticks() {
    local pid total=0 t
    for pid in $(pid_tree "$1"); do
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + ${t:-0}))
    done
    echo "$total"
}

# --- data ----------------------------------------------------------------
log "creating $PG_DB with storegate's migrations and demo data"
psql -X -q -v ON_ERROR_STOP=1 "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >&2
psql -X -q -v ON_ERROR_STOP=1 "$PG_URL/postgres" -c "CREATE DATABASE $PG_DB" >&2
pg_created=1
# No TLS on loopback, for every system alike (sqlx would otherwise negotiate
# it; node-postgres does not by default).
PG_DATABASE_URL="$PG_URL/$PG_DB?sslmode=disable"
SQLITE_DATABASE_URL="sqlite://$tmp/compare.db?mode=rwc"
for url in "$PG_DATABASE_URL" "$SQLITE_DATABASE_URL"; do
    DATABASE_URL="$url" RUST_LOG=warn "$tmp/storegate" migrate up >&2
    DATABASE_URL="$url" RUST_LOG=warn "$tmp/storegate" seed-demo >&2
done

start_storegate() { # DATABASE_URL NAME -> sets base, pid
    local port
    port=$(free_port)
    DATABASE_URL="$1" HOST=127.0.0.1 PORT=$port STOREGATE_ENV=production JWT_SECRET=$JWT_SECRET \
        ACCESS_TOKEN_TTL=2h RUST_LOG=warn "$tmp/storegate" serve >"$tmp/$2.log" 2>&1 &
    pid=$!
    server_pids+=("$pid")
    base="http://127.0.0.1:$port"
    wait_http "$base/readyz" "$pid" "$2" "$tmp/$2.log"
}

# Fixtures, made through storegate's REST API like any client would: a user
# and a fresh token, a store that receives the created items (so that the
# reads of stores 1-50 stay the same for every system), 100 todos to patch,
# and the product -> factory map a REST client reads off each product.
# Writes FIXTURE_* variables into $tmp/fixtures-ENGINE.env.
make_fixtures() { # BASE ENGINE
    python3 - "$1" "$tmp/fixtures-$2.env" "$tmp/factory-map-$2.txt" <<'PY'
import json, sys, urllib.request
base, env_file, map_file = sys.argv[1:4]

def call(method, path, body=None, token=None, expect=(200, 201)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as resp:
        assert resp.status in expect, (path, resp.status)
        return json.load(resp)

def walk(path):
    rows, cursor = [], None
    while True:
        page = call("GET", path + ("&cursor=" + cursor if cursor else ""))
        rows += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return rows

creds = {"email": "bench@example.com", "password": "bench-password-1"}
call("POST", "/api/auth/signup", creds)
token = call("POST", "/api/auth/login", creds)["access_token"]
stores = walk("/api/stores?limit=100")
write_store = call("POST", "/api/stores", {"name": "bench writes"}, token)["id"]
todos = [call("POST", "/api/todos", {"title": f"bench todo {i}"}, token)["id"] for i in range(100)]
products = walk("/api/products?limit=100")
ids = sorted(p["id"] for p in products)
store_ids = sorted(s["id"] for s in stores)
for name, seq in (("products", ids), ("stores", store_ids), ("todos", sorted(todos))):
    assert seq == list(range(seq[0], seq[-1] + 1)), f"{name} ids are not contiguous"
with open(map_file, "w") as f:
    for p in products:
        f.write(f"{p['id']} {p['factory']['id']}\n")
with open(env_file, "w") as f:
    f.write(f"FIXTURE_TOKEN={token}\n")
    f.write(f"FIXTURE_PRODUCTS={ids[0]}:{ids[-1]}\n")
    f.write(f"FIXTURE_STORES={store_ids[0]}:{store_ids[-1]}\n")
    f.write(f"FIXTURE_TODOS={min(todos)}:{max(todos)}\n")
    f.write(f"FIXTURE_WRITE_STORE={write_store}\n")
print(f"fixtures: {len(ids)} products, {len(store_ids)} stores, {len(todos)} todos", file=sys.stderr)
PY
}

# --- requests ----------------------------------------------------------------
gql_body() { # FILE VARIABLES_TEMPLATE -> a JSON body with {id}/{n}/{ref} left in
    python3 -c 'import json,sys; print("{\"query\":" + json.dumps(open(sys.argv[1]).read()) + ",\"variables\":" + sys.argv[2] + "}")' "$1" "$2"
}

# Sends request A (and B) once with curl and checks the answer, so a system
# that answers 200 with GraphQL errors or empty data is caught before it is
# measured. EXPECT is a Python expression over the parsed body `j`.
check_once() { # BASE METHOD PATH BODY ID REF EXPECT
    local body=${4//\{id\}/$5}
    body=${body//\{ref\}/$6}
    body=${body//\{n\}/check$RANDOM$RANDOM}
    local path=${3//\{id\}/$5}
    path=${path//\{ref\}/$6}
    local args=(-sS -o "$tmp/check.json" -w '%{http_code}' -X "$2" -H 'Content-Type: application/json'
        -H 'Accept: application/json')
    if [ -n "${token:-}" ]; then args+=(-H "Authorization: Bearer $token"); fi
    [ -n "$body" ] && args+=(--data "$body")
    local code
    code=$(curl "${args[@]}" "$1$path")
    python3 - "$tmp/check.json" "$code" "$7" "$2 $path" <<'PY' || die "check failed: $2 $path"
import json, sys
path, code, expect, what = sys.argv[1:5]
j = json.load(open(path))
ok = code.startswith("2") and (not isinstance(j, dict) or not j.get("errors")) and eval(expect)
if not ok:
    print(f"compare: {what} answered {code}: {json.dumps(j)[:600]}", file=sys.stderr)
    sys.exit(1)
PY
}

# run_workload SYSTEM ENGINE WORKLOAD PID BASE REQUESTS_PER_OP EXPECT_A EXPECT_B
# with BENCH_A_* / BENCH_B_* exported by the caller.
run_workload() {
    local system=$1 engine=$2 workload=$3 pid=$4 url=$5 per_op=$6
    if ! selected "$workload" "$WORKLOADS"; then
        clear_requests
        return 0
    fi
    local a_id=${BENCH_A_IDS%%:*} ref=""
    if [ -n "${BENCH_MAP:-}" ]; then ref=$(awk -v id="$a_id" '$1 == id {print $2}' "$BENCH_MAP"); fi
    local token=""
    if [ "$workload" = write_mix ]; then token=$system_token; fi
    check_once "$url" "$BENCH_A_METHOD" "$BENCH_A_PATH" "${BENCH_A_BODY:-}" "$a_id" "" "$7"
    if [ -n "${BENCH_B_PATH:-}" ]; then
        check_once "$url" "$BENCH_B_METHOD" "$BENCH_B_PATH" "${BENCH_B_BODY:-}" "${BENCH_B_IDS%%:*}" "$ref" "${8:-}"
    fi
    # Reads are public (API.md) and sent without a token, as to the other
    # systems; the write mix carries the user's fresh token on every request.
    export BENCH_TOKEN=$token BENCH_A_METHOD BENCH_A_PATH BENCH_A_BODY BENCH_A_IDS BENCH_B_METHOD BENCH_B_PATH \
        BENCH_B_BODY BENCH_B_IDS BENCH_MAP
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s bench/wrk/workload.lua "$url" >/dev/null
    reset_peak_rss "$pid"
    local cpu_before
    cpu_before=$(cpu_ticks "$pid")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s bench/wrk/workload.lua "$url" >"$tmp/wrk.out"
    local cpu_after rss
    cpu_after=$(cpu_ticks "$pid")
    rss=$(peak_rss_kib "$pid")
    kill -0 "$pid" 2>/dev/null || die "$system exited during $workload"
    # The machine's speed right after the run (bench/probe.py), with the
    # server idle: the run records the machine it ran on.
    local machine
    machine=$(python3 bench/probe.py)
    python3 - "$tmp/wrk.out" "$system" "$engine" "$workload" "$CONNECTIONS" "$per_op" "$rss" \
        "$((cpu_after - cpu_before))" "$(getconf CLK_TCK)" "$round" "$machine" >>"$OUT" <<'PY'
import json, sys
out, system, engine, workload, conns, per_op, rss, ticks, hz, round_, machine = sys.argv[1:12]
line = next(l for l in open(out) if l.startswith("WRK "))
w = json.loads(line[4:])
ops = w["requests"] / int(per_op)
row = {
    "round": int(round_), "system": system, "engine": engine, "workload": workload, "connections": int(conns),
    "requests": w["requests"], "requests_per_op": int(per_op), "seconds": w["seconds"],
    "rps": round(w["requests"] / w["seconds"], 1), "ops_per_s": round(ops / w["seconds"], 1),
    "p50_ms": w["p50_us"] / 1000, "p90_ms": w["p90_us"] / 1000, "p99_ms": w["p99_us"] / 1000,
    "max_ms": w["max_us"] / 1000, "peak_rss_kib": int(rss),
    "server_cpu_us_per_op": round(int(ticks) / int(hz) * 1e6 / ops, 1) if ops else None,
    "errors": w["non_2xx_3xx"] + w["socket_errors"],
    "machine": json.loads(machine),
}
print(json.dumps(row))
m = row["machine"]
print(f"compare: round {round_} {system:18} {engine:8} {workload:21} {row['ops_per_s']:>9} ops/s  p50 {row['p50_ms']} ms  "
      f"p99 {row['p99_ms']} ms  peak RSS {int(rss) // 1024} MiB  errors {row['errors']}  "
      f"machine: loop {m['loop_ms']} ms, wake {m['wake_us']} us", file=sys.stderr)
PY
    clear_requests
}

clear_requests() {
    unset BENCH_A_METHOD BENCH_A_PATH BENCH_A_BODY BENCH_A_IDS BENCH_B_METHOD BENCH_B_PATH BENCH_B_BODY BENCH_B_IDS BENCH_MAP
}

# Request definitions, per system; $FIXTURE_* come from make_fixtures.
# storegate's REST routes: storegate and Flask get the same requests and checks.
measure_rest() { # SYSTEM ENGINE PID BASE
    local system=$1
    shift
    BENCH_A_METHOD=GET BENCH_A_PATH='/api/products/{id}' BENCH_A_IDS=$FIXTURE_PRODUCTS
    run_workload "$system" "$1" product "$2" "$3" 1 'j["id"] > 0'
    BENCH_A_METHOD=GET BENCH_A_PATH='/api/products/{id}' BENCH_A_IDS=$FIXTURE_PRODUCTS
    BENCH_B_METHOD=GET BENCH_B_PATH='/api/factories/{ref}' BENCH_B_IDS=1:1 BENCH_MAP=$tmp/factory-map-$1.txt
    run_workload "$system" "$1" product_with_factory "$2" "$3" 2 'j["id"] > 0' 'j["certifications"] is not None'
    BENCH_A_METHOD=GET BENCH_A_PATH='/api/products?limit=100' BENCH_A_IDS=1:1
    run_workload "$system" "$1" products_page "$2" "$3" 1 'len(j["data"]) == 100'
    BENCH_A_METHOD=GET BENCH_A_PATH='/api/stores/{id}' BENCH_A_IDS=$FIXTURE_STORES
    run_workload "$system" "$1" store "$2" "$3" 1 'len(j["items"]) == 20'
    BENCH_A_METHOD=POST BENCH_A_PATH=/api/items BENCH_A_IDS=1:1
    BENCH_A_BODY="{\"name\":\"bench item {n}\",\"price\":12.99,\"store_id\":$FIXTURE_WRITE_STORE}"
    BENCH_B_METHOD=PATCH BENCH_B_PATH='/api/todos/{id}' BENCH_B_IDS=$FIXTURE_TODOS BENCH_B_BODY='{"title":"bench todo {n}"}'
    run_workload "$system" "$1" write_mix "$2" "$3" 1 'j["price"] == 12.99' 'j["title"].startswith("bench todo")'
}

measure_graphql() { # SYSTEM ENGINE PID BASE QUERY_DIR ID_QUOTE WRITE_VARS_ITEM WRITE_VARS_TODO
    local system=$1 q=$5 quote=$6
    local id="$quote{id}$quote"
    BENCH_A_METHOD=POST BENCH_A_PATH=/graphql BENCH_A_IDS=$FIXTURE_PRODUCTS
    BENCH_A_BODY=$(gql_body "$q/product.graphql" "{\"id\":$id}")
    run_workload "$system" "$2" product "$3" "$4" 1 'next(iter(j["data"].values()))["name"]'
    BENCH_A_METHOD=POST BENCH_A_PATH=/graphql BENCH_A_IDS=$FIXTURE_PRODUCTS
    BENCH_A_BODY=$(gql_body "$q/product_with_factory.graphql" "{\"id\":$id}")
    run_workload "$system" "$2" product_with_factory "$3" "$4" 1 'next(iter(j["data"].values()))["name"]'
    BENCH_A_METHOD=POST BENCH_A_PATH=/graphql BENCH_A_IDS=1:1
    BENCH_A_BODY=$(gql_body "$q/products_page.graphql" '{}')
    run_workload "$system" "$2" products_page "$3" "$4" 1 'json.dumps(j).count("\"sku") == 100'
    BENCH_A_METHOD=POST BENCH_A_PATH=/graphql BENCH_A_IDS=$FIXTURE_STORES
    BENCH_A_BODY=$(gql_body "$q/store.graphql" "{\"id\":$id}")
    run_workload "$system" "$2" store "$3" "$4" 1 'json.dumps(j).count("\"price") == 20'
    BENCH_A_METHOD=POST BENCH_A_PATH=/graphql BENCH_A_IDS=1:1
    BENCH_A_BODY=$(gql_body "$q/create_item.graphql" "$7")
    BENCH_B_METHOD=POST BENCH_B_PATH=/graphql BENCH_B_IDS=$FIXTURE_TODOS
    BENCH_B_BODY=$(gql_body "$q/update_todo.graphql" "$8")
    run_workload "$system" "$2" write_mix "$3" "$4" 1 '"bench item" in json.dumps(j)' '"bench todo" in json.dumps(j)'
}

mkdir -p "$(dirname "$OUT")" "$(dirname "$CHART")"
: >"$OUT"
machine_file=$tmp/machine.md
{
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src entity migration bench ':(exclude)bench/results' Cargo.toml Cargo.lock 2>/dev/null || echo ' (plus uncommitted changes)')"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') × $(nproc), shared by wrk, the server and PostgreSQL"
    echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo); kernel $(uname -r)"
    echo "- $(rustc --version); node $(node --version); $(python3 --version); $(psql --version); $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
    echo "- wrk -t$THREADS -c$CONNECTIONS, ${WARMUP}s warm-up + ${DURATION}s measured per workload and round; $ROUNDS round(s), even rounds in reverse order"
    python3 bench/probe.py --markdown
} >"$machine_file"

# Odd rounds run the systems in the order given, even rounds in reverse:
# the machine's speed drifts by tens of per cent over minutes (BENCHMARKS.md,
# "The machine"), and a ratio is fair only if both of its sides see the
# same spells. The fixtures of the first round serve every round, so the
# data read stays the same.
round_order() { # ROUND -> the systems, one per line
    local list
    list=$(tr ',' '\n' <<<"$SYSTEMS")
    if (($1 % 2 == 0)); then tac <<<"$list"; else echo "$list"; fi
}

run_system() { # SYSTEM: starts it, measures every workload, stops it
    local system=$1
    system_token="" # only storegate and Flask check tokens
    case "$system" in
    storegate-postgres | storegate-sqlite)
        engine=${system#storegate-}
        url_var=PG_DATABASE_URL
        [ "$engine" = sqlite ] && url_var=SQLITE_DATABASE_URL
        start_storegate "${!url_var}" "$system"
        [ -f "$tmp/fixtures-$engine.env" ] || make_fixtures "$base" "$engine"
        # shellcheck disable=SC1090,SC1091
        source "$tmp/fixtures-$engine.env"
        system_token=$FIXTURE_TOKEN
        measure_rest storegate-rest "$engine" "$pid" "$base"
        measure_graphql storegate-graphql "$engine" "$pid" "$base" bench/queries/storegate '"' \
            "{\"input\":{\"name\":\"bench item {n}\",\"price\":12.99,\"storeId\":\"$FIXTURE_WRITE_STORE\"}}" \
            '{"id":"{id}","input":{"title":"bench todo {n}"}}'
        ;;
    postgraphile)
        [ -f "$tmp/fixtures-postgres.env" ] || die "postgraphile needs storegate-postgres first (fixtures)"
        # shellcheck disable=SC1090,SC1091
        source "$tmp/fixtures-postgres.env"
        port=$(free_port)
        PORT=$port DATABASE_URL=$PG_DATABASE_URL bench/postgraphile/start.sh >"$tmp/postgraphile.log" 2>&1 &
        pid=$!
        server_pids+=("$pid")
        base="http://127.0.0.1:$port"
        # PostGraphile sets no timestamps (the columns have no default): the client sends them.
        now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        for _ in $(seq 1 300); do
            curl -fsS -o /dev/null -H 'Content-Type: application/json' --data '{"query":"{__typename}"}' "$base/graphql" 2>/dev/null && break
            kill -0 "$pid" 2>/dev/null || { cat "$tmp/postgraphile.log" >&2; die "postgraphile exited"; }
            sleep 0.1
        done
        measure_graphql postgraphile postgres "$pid" "$base" bench/postgraphile/queries "" \
            "{\"storeId\":$FIXTURE_WRITE_STORE,\"name\":\"bench item {n}\",\"priceCents\":\"1299\",\"now\":\"$now\"}" \
            "{\"id\":{id},\"title\":\"bench todo {n}\",\"status\":\"open\",\"now\":\"$now\",\"completedAt\":null}"
        ;;
    flask)
        [ -f "$tmp/fixtures-postgres.env" ] || die "flask needs storegate-postgres first (fixtures)"
        # shellcheck disable=SC1090,SC1091
        source "$tmp/fixtures-postgres.env"
        # Flask checks storegate's own token: same secret, claims and blocklist.
        system_token=$FIXTURE_TOKEN
        port=$(free_port)
        PORT=$port DATABASE_URL=$PG_DATABASE_URL JWT_SECRET=$JWT_SECRET bench/flask/start.sh >"$tmp/flask.log" 2>&1 &
        pid=$!
        server_pids+=("$pid")
        base="http://127.0.0.1:$port"
        # Longer than the others: start.sh may install the venv first (BENCH_SKIP_BUILD=1 on a fresh tree).
        wait_http "$base/api/products/${FIXTURE_PRODUCTS%%:*}" "$pid" flask "$tmp/flask.log" 3000
        measure_rest flask postgres "$pid" "$base"
        ;;
    ceiling)
        [ -f "$tmp/fixtures-postgres.env" ] || die "the ceiling needs storegate-postgres first (fixtures)"
        # shellcheck disable=SC1090,SC1091
        source "$tmp/fixtures-postgres.env"
        port=$(free_port)
        DATABASE_URL=$PG_DATABASE_URL PORT=$port "$tmp/storegate-ceiling" >"$tmp/ceiling.log" 2>&1 &
        pid=$!
        server_pids+=("$pid")
        base="http://127.0.0.1:$port"
        wait_http "$base/api/products/${FIXTURE_PRODUCTS%%:*}" "$pid" ceiling "$tmp/ceiling.log"
        BENCH_A_METHOD=GET BENCH_A_PATH='/api/products/{id}' BENCH_A_IDS=$FIXTURE_PRODUCTS
        run_workload ceiling postgres product "$pid" "$base" 1 'j["id"] > 0'
        BENCH_A_METHOD=GET BENCH_A_PATH='/api/products/{id}/with-factory' BENCH_A_IDS=$FIXTURE_PRODUCTS
        run_workload ceiling postgres product_with_factory "$pid" "$base" 1 'j["factory"]["certifications"] is not None'
        BENCH_A_METHOD=GET BENCH_A_PATH='/api/products?limit=100' BENCH_A_IDS=1:1
        run_workload ceiling postgres products_page "$pid" "$base" 1 'len(j["data"]) == 100'
        BENCH_A_METHOD=GET BENCH_A_PATH='/api/stores/{id}' BENCH_A_IDS=$FIXTURE_STORES
        run_workload ceiling postgres store "$pid" "$base" 1 'len(j["items"]) == 20'
        BENCH_A_METHOD=POST BENCH_A_PATH=/api/items BENCH_A_IDS=1:1
        BENCH_A_BODY="{\"name\":\"bench item {n}\",\"price\":12.99,\"store_id\":$FIXTURE_WRITE_STORE}"
        BENCH_B_METHOD=PATCH BENCH_B_PATH='/api/todos/{id}' BENCH_B_IDS=$FIXTURE_TODOS BENCH_B_BODY='{"title":"bench todo {n}"}'
        run_workload ceiling postgres write_mix "$pid" "$base" 1 'j["price"] == 12.99' 'j["title"].startswith("bench todo")'
        ;;
    *) die "unknown system $system" ;;
    esac
    stop_servers
}

for round in $(seq 1 "$ROUNDS"); do
    for system in $(round_order "$round"); do
        run_system "$system"
    done
done

python3 bench/report.py "$OUT" "$machine_file"
python3 bench/chart.py "$OUT" "$CHART"
log "results: $OUT; chart: $CHART"
if python3 -c 'import json,sys; sys.exit(any(json.loads(l)["errors"] for l in open(sys.argv[1])))' "$OUT"; then
    exit 0
fi
die "some requests failed; see the errors column"
