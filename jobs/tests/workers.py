"""Real `manage.py db_worker` processes against the test database (PostgreSQL), for kill -9 tests."""

import os
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# A short lease, so a killed worker's task is taken over within seconds.
LEASE = {"WORKER_HEARTBEAT_SECONDS": "0.5", "WORKER_LEASE_SECONDS": "5"}


def start_worker(**settings):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "leadsite.settings.dev",
        **LEASE,
        **{name: str(value) for name, value in settings.items()},
    }
    command = [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-reload", "--no-startup-delay"]
    return subprocess.Popen([*command, "-v0"], cwd=ROOT, env=env)


def stop(*workers):
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
        worker.wait(timeout=10)


def wait_until(condition, timeout, process=None):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process is None or process.poll() is None, "the worker ended on its own"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
