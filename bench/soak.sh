#!/usr/bin/env bash
# Reproduces the soak and login-storm figures in BENCHMARKS.md:
#   bash bench/soak.sh [SOAK_SECONDS]     (default 300)
# Release build; PostgreSQL on 127.0.0.1:5432 (a scratch database is created
# and dropped). Samples the server's RSS every 10 s during the soak.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-300}
db=storegate_soak_$$
work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --bin storegate --example soak
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
export JWT_SECRET="benchmark-secret-that-is-at-least-32-bytes" HOST=127.0.0.1 RUST_LOG=warn
target/release/storegate seed-demo >/dev/null
PORT=0 target/release/storegate serve >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 100); do
    base=$(sed -n 's#^storegate is listening on \(http://[0-9.:]*\)$#\1#p' "$work/out" | head -n 1)
    [ -n "${base:-}" ] && break
    sleep 0.1
done

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), $(free -g | awk '/Mem:/ {print $2}') GiB; $(rustc --version); commit $(git rev-parse --short HEAD)"
echo
echo "## login storm (16 readers; 16 clients logging in)"
target/release/examples/soak --base-url "$base" --mode storm --connections 16 --logins 16 --duration 20
echo
echo "## soak ($seconds s, 32 workers, PostgreSQL)"
echo "t_seconds,rss_kib" >"$work/rss.csv"
(
    start=$(date +%s)
    while kill -0 "$pid" 2>/dev/null; do
        echo "$(( $(date +%s) - start )),$(ps -o rss= -p "$pid" | tr -d ' ')" >>"$work/rss.csv"
        sleep 10
    done
) &
sampler=$!
target/release/examples/soak --base-url "$base" --mode soak --connections 32 --duration "$seconds"
kill "$sampler" 2>/dev/null || true
echo
echo "RSS over time (KiB):"
cat "$work/rss.csv"
