#!/usr/bin/env bash
# Starts the Flask app (bench/flask) under gunicorn in its benchmark
# configuration (gunicorn.conf.py), against the database storegate's
# migrations created. See README.md beside this file.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/storegate_bench?sslmode=disable \
#   JWT_SECRET=... PORT=5001 bash bench/flask/start.sh
#   bash bench/flask/start.sh --install     # only create/update the venv, then exit
#
# Environment:
#   DATABASE_URL   (required) storegate's postgres:// URL; the app turns it
#                  into SQLAlchemy's postgresql+psycopg:// form
#   JWT_SECRET     (required) the HS256 secret storegate signs tokens with
#   PORT           listen port on 127.0.0.1 (default 5001)
#   FLASK_WORKERS  gunicorn worker processes (default: nproc)
#   FLASK_THREADS  threads per worker (default 8)
#   FLASK_POOL_SIZE  PostgreSQL connections per worker (default: storegate's pool / workers,
#                  rounded up, so the total matches storegate's default pool: twice
#                 the CPUs, at least 4)
#   FLASK_VENV     the virtualenv (default: <repo>/target/flask-venv)
#   FLASK_PYTHON   the Python that creates it (default: python3)
#
# The venv is created on first use and (re)installed from requirements.txt
# whenever that file differs from the one last installed. The script then
# execs gunicorn, so its pid becomes gunicorn's master (which only forks and
# supervises); the workers serving requests are its children:
# `pgrep -P <pid>`. SIGTERM to the master stops the workers too.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${FLASK_VENV:-$repo/target/flask-venv}"
python="${FLASK_PYTHON:-python3}"
stamp="$venv/.storegate-requirements.txt"

install() {
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "start.sh: creating $venv" >&2
        mkdir -p "$(dirname "$venv")"
        "$python" -m venv "$venv"
    fi
    if ! cmp -s "$here/requirements.txt" "$stamp"; then
        echo "start.sh: installing bench/flask/requirements.txt into $venv" >&2
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
            -r "$here/requirements.txt" >&2
        cp "$here/requirements.txt" "$stamp"
    fi
}

install
if [[ "${1:-}" == --install ]]; then
    exit 0
fi

: "${DATABASE_URL:?start.sh: set DATABASE_URL to the PostgreSQL database storegate migrated}"
: "${JWT_SECRET:?start.sh: set JWT_SECRET to the HS256 secret storegate signs with}"
workers="${FLASK_WORKERS:-$(nproc)}"
# storegate's default PostgreSQL pool (default_postgres_connections in
# src/db.rs): twice the CPUs, at least 4.
storegate_pool=$(( $(nproc) * 2 ))
[ "$storegate_pool" -ge 4 ] || storegate_pool=4
export PORT="${PORT:-5001}"
export FLASK_WORKERS="$workers"
export FLASK_POOL_SIZE="${FLASK_POOL_SIZE:-$(( (storegate_pool + workers - 1) / workers ))}"
export DATABASE_URL JWT_SECRET
# Never Flask's debug mode or its development server.
unset FLASK_DEBUG FLASK_APP

cd "$here"
exec "$venv/bin/gunicorn" --config "$here/gunicorn.conf.py"
