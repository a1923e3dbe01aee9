# Sourced by the bench scripts that run storegate servers one at a time on
# scratch data (bench/ab.sh, bench/syscalls.sh), after they set PG_URL,
# PG_DB and JWT_SECRET: a temporary folder in $tmp, a free port in $port,
# and on exit the server in $pid stopped, the database $PG_DB dropped and
# the folder removed.
tmp=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    psql -X -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# A fresh $PG_DB (an existing one is dropped).
create_scratch_database() {
    psql -X -q -v ON_ERROR_STOP=1 "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" \
        -c "CREATE DATABASE $PG_DB" >&2
}

seed_scratch() { # BINARY DATABASE_URL: storegate's migrations and demo data
    DATABASE_URL="$2" RUST_LOG=warn "$1" migrate up >&2
    DATABASE_URL="$2" RUST_LOG=warn "$1" seed-demo >&2
}

start_scratch_server() { # BINARY DATABASE_URL NAME: serves on $port, sets $pid, waits for /readyz
    DATABASE_URL="$2" HOST=127.0.0.1 PORT=$port STOREGATE_ENV=production JWT_SECRET=$JWT_SECRET \
        RUST_LOG=warn "$1" serve >"$tmp/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$tmp/server.log" >&2
    echo "$3: the server did not start" >&2
    exit 1
}
