"""The database that events_bench.py and import_bench.py empty: refused unless its name says "bench".

Not bench/common.py: that sets Django up on import with bench.settings and a default DATABASE_URL,
while these two check DATABASE_URL first and then use the app's own settings.
"""

import os
import sys
from urllib.parse import urlparse

TABLES = "leads_lead, leads_leadhistory, events_event"


def prepare(slug, name):
    """Set Django up against DATABASE_URL, migrate it, empty TABLES; the organization `slug`."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or "bench" not in urlparse(url).path:
        sys.exit("Set DATABASE_URL to a PostgreSQL database whose name contains 'bench'; it is emptied.")
    import django

    django.setup()
    from django.core.management import call_command

    from organizations.models import Organization

    call_command("migrate", verbosity=0)
    empty_tables()
    organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name})
    return organization


def empty_tables(close=False):
    """close: the connection too, before a child process of its own imports."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLES}")
    if close:
        connection.close()
