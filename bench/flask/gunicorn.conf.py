"""gunicorn's configuration for the benchmark (see README.md: "gunicorn").

Every value can be overridden from the environment that start.sh passes."""

import multiprocessing
import os

bind = f"127.0.0.1:{os.environ.get('PORT', '5001')}"
wsgi_app = "wsgi:app"

# One process per core: a Python process runs Python on one core at a time (GIL).
workers = int(os.environ.get("FLASK_WORKERS", multiprocessing.cpu_count()))
# gthread: each worker keeps its keep-alive connections in a poller and hands
# a connection to one of `threads` threads when a request arrives, so wrk's
# 64 keep-alive connections are all served (the default `sync` worker serves
# one connection at a time per process and closes it after each request).
worker_class = "gthread"
threads = int(os.environ.get("FLASK_THREADS", "8"))
worker_connections = 1000  # open connections per worker, idle ones included
keepalive = 5  # seconds an idle keep-alive connection is kept

# Production defaults otherwise: no access log, warnings and errors on stderr,
# no code reloading, the worker heartbeat file in memory.
accesslog = None
errorlog = "-"
loglevel = "warning"
reload = False
worker_tmp_dir = "/dev/shm"
timeout = 30
graceful_timeout = 5
# No runtime control socket (gunicorn >= 25 opens one at a path shared by
# every gunicorn of the user, $HOME/.gunicorn/gunicorn.ctl); nothing here uses it.
control_socket_disable = True
