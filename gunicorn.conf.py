"""Gunicorn settings for `make serve`; each one can be overridden from the environment.

Gunicorn reads this file when started with `-c gunicorn.conf.py`. Requests are served by
sync workers: the API does short database-bound work, so processes scale it, not threads.
"""

import multiprocessing
import os

from leadsite import gunicorn_errors  # gunicorn puts the project's directory on sys.path before reading this

wsgi_app = "leadsite.wsgi:application"
raw_env = ["DJANGO_SETTINGS_MODULE=" + os.environ.get("DJANGO_SETTINGS_MODULE", "leadsite.settings.production")]

# Local only by default: put a TLS-terminating proxy or load balancer in front and set HOST=0.0.0.0.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)

# A request that takes longer than this is stuck: the worker is killed and replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, workers finish the requests they hold for up to this long.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Keep idle connections from the load balancer open a little longer than its own idle timeout expects.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so that a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = 100

# Both logs go to the process output; the application logs one JSON line per request as well.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Gunicorn's control socket has one default path per user, which a second instance on the same
# machine would contend for; signals (HUP, TTIN, TTOU, TERM) still manage the server.
control_socket_disable = True

# Requests gunicorn refuses itself (a request line over limit_request_line, 4,094 bytes, is a 414;
# oversized headers a 431) are answered in the API's JSON error format, not gunicorn's HTML page.
gunicorn_errors.install()
