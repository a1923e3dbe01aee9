# Sourced by the bench scripts that run one storegate server on a scratch
# PostgreSQL database (bench/ab.sh, bench/syscalls.sh): a temporary folder
# in $tmp, and on exit the server in $pid stopped, the database $PG_DB
# (on $PG_URL) dropped and the folder removed.
tmp=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    psql -X -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
