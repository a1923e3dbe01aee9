#!/usr/bin/env bash
# The server's memory around a login storm (BENCHMARKS.md, "Login storm:
# reads and memory"): starts the release build on a scratch SQLite file,
# signs up one user, fires 2 rounds of 40 concurrent logins (each hashes
# with argon2's 19 MiB), and prints the RSS after sign-up, the peak, and
# 2 s after.
#   bash bench/login-rss.sh       (after cargo build --release)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Every login reserves a place in its email's throttle counter until its
# password is checked, so 40 at once for one email need a limit of 40 or more.
DATABASE_URL="sqlite://$work/rss.db?mode=rwc" JWT_SECRET=bench-only-dummy-secret-0123456789abcdefghijklmn \
    LOGIN_MAX_FAILURES=1000 HOST=127.0.0.1 PORT=$port RUST_LOG=warn target/release/storegate serve >"$work/log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -fs -o /dev/null "$base/readyz" && break; sleep 0.1; done
body='{"email":"storm@example.com","password":"storm-password-1"}'
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' --data "$body" "$base/api/auth/signup"
echo "after sign-up: $(ps -o rss= -p $server | tr -d ' ') KiB"
for _ in 1 2; do
    clients=()
    for _ in $(seq 1 40); do
        curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' --data "$body" "$base/api/auth/login" &
        clients+=($!)
    done
    for client in "${clients[@]}"; do wait "$client"; done
done
echo "peak: $(awk '/^VmHWM:/ {print $2}' /proc/$server/status) KiB"
sleep 2
echo "2 s after the storm: $(ps -o rss= -p $server | tr -d ' ') KiB"
