#!/usr/bin/env bash
# Checks the example frontend from a clean clone, end to end:
#   1. npm ci (the committed package-lock.json);
#   2. regenerates the GraphQL and OpenAPI types into a scratch folder and
#      fails if they differ from the committed src/generated (a schema
#      change without regenerated clients);
#   3. tsc --noEmit, vite build;
#   4. cargo build, then storegate on a scratch SQLite database and a free
#      port, and the built app (vite preview, which proxies /api, /graphql
#      and /graphql/ws to it, so the page and the API share one origin);
#   5. drives the app in headless Chromium (e2e.mjs): sign up, log in, a
#      product with its factory, a store's items, an edit with If-Match, a
#      412 conflict, a live change over the subscription.
# SKIP_BROWSER_TEST=1 skips step 5 (the servers still get a smoke test).
# Run from anywhere: bash examples/web/check.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"

fail() {
    printf '\nweb: FAILED: %s\n' "$*" >&2
    exit 1
}

work=$(mktemp -d)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error || fail "npm ci failed"

echo "== generated types match schema.graphql and openapi.json"
GENERATED_DIR="$work/generated" npm run --silent generate >"$work/generate.log" 2>&1 ||
    { cat "$work/generate.log"; fail "type generation failed: if the schema dropped or changed something src/operations.graphql asks for, the app must change with it"; }
if ! diff -ru src/generated "$work/generated" >"$work/generated.diff"; then
    head -n 60 "$work/generated.diff"
    fail "examples/web/src/generated is stale: schema.graphql or openapi.json changed without regenerating the client types; run \`npm run generate\` in examples/web and commit the result"
fi

echo "== tsc --noEmit"
npx tsc --noEmit || fail "the app does not type-check"

echo "== vite build"
npx vite build --logLevel warn || fail "vite build failed"

echo "== cargo build"
# CI has already built this (debug) binary; then this is a no-op.
(cd "$root" && cargo build --quiet) || fail "cargo build failed"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/storegate"

echo "== start storegate and the app"
unset REDIS_URL TEST_DATABASE_URL TEST_REDIS_URL
export DATABASE_URL="sqlite://$work/web.db?mode=rwc"
export JWT_SECRET="web-example-secret-at-least-32-bytes-long"
export STOREGATE_ENV=development HOST=127.0.0.1 RUST_LOG=warn
# PORT=0: the system picks a free port; the server prints the one it got.
# Started from the scratch folder, so no developer's .env is read.
(cd "$work" && PORT=0 exec "$bin" serve >"$work/server.out" 2>"$work/server.err") &
pids+=($!)
api=
for _ in $(seq 1 150); do
    api=$(sed -n 's#^storegate is listening on \(http://[0-9.:]*\)$#\1#p' "$work/server.out" | head -n 1)
    [ -n "$api" ] && break
    kill -0 "${pids[0]}" 2>/dev/null || break
    sleep 0.1
done
[ -n "$api" ] || { cat "$work/server.err"; fail "storegate did not start"; }
echo "storegate at $api"

app_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
# The vite binary itself, not `npx vite`: npx would leave it orphaned
# when the trap kills npx.
STOREGATE_URL="$api" node_modules/.bin/vite preview --host 127.0.0.1 --port "$app_port" --strictPort \
    >"$work/preview.log" 2>&1 &
pids+=($!)
app="http://127.0.0.1:$app_port"
for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "$app/" 2>/dev/null && break
    kill -0 "${pids[1]}" 2>/dev/null || { cat "$work/preview.log"; fail "vite preview did not start"; }
    sleep 0.1
done
curl -fsS -o /dev/null "$app/" || { cat "$work/preview.log"; fail "vite preview did not answer at $app"; }
echo "app at $app"

# The proxy reaches both faces.
curl -fsS -o /dev/null "$app/api/stores" || fail "GET $app/api/stores through the proxy failed"
curl -fsS -o /dev/null -H 'content-type: application/json' -d '{"query":"{ stores { nodes { id } } }"}' "$app/graphql" ||
    fail "POST $app/graphql through the proxy failed"

if [ "${SKIP_BROWSER_TEST:-0}" = "1" ]; then
    echo "== browser walk skipped (SKIP_BROWSER_TEST=1)"
    echo "web: checks passed (without the browser walk)"
    exit 0
fi

echo "== browser walk (headless Chromium)"
if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null ||
        fail "could not install chromium"
fi
APP_URL="$app" API_URL="$api" STOREGATE_BIN="$bin" node e2e.mjs ||
    { tail -n 20 "$work/server.err"; fail "the browser walk failed (see the e2e: lines above)"; }
echo "web: all checks passed"
