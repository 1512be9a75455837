"""Settings for the load run: the app's own (dev settings with DEBUG off) plus one bare view (bench/urls.py)."""

from leadsite.settings.dev import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
