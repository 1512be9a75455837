"""What the benchmark scripts share: Django set up against the bench database, a logged-in client."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")  # the app + bench/urls.py
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/leads_bench")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

BIG = "bench-big"  # the organization holding 80% of the leads


def admin(slug=BIG):
    from organizations.models import User

    return User.objects.select_related("organization").get(email=f"admin@{slug}.example")


def api_client(user):
    from conftest import client_for

    return client_for(user)
