"""Reads go to the PostgreSQL replica when there is one; writes, and reads after a write, to the primary.

`DATABASE_REPLICA_URL` adds the `replica` alias (settings). Within a request the choice is
sticky: a request that may write (anything but GET, HEAD, OPTIONS) reads from the primary from
the start, so it validates against current rows, and a read-only request that writes anyway
reads from the primary after its first write, so it sees what it wrote. Outside requests
(management commands) the first write makes the rest of the process read from the primary.

The admin always uses the primary: staff expect to see a change on the page they are sent to
right after saving it, and its login session must be readable on the very next request.
"""

from contextvars import ContextVar

from django.db import connections

PRIMARY, REPLICA = "default", "replica"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ADMIN_PATH = "/admin/"  # as in leadsite/urls.py

_on_primary = ContextVar("leadsite_reads_on_primary", default=False)


def replica_alias():
    """The replica's alias, or None when there is none or it is the primary itself (a test mirror)."""
    if REPLICA not in connections.settings:
        return None
    primary, replica = connections[PRIMARY].settings_dict, connections[REPLICA].settings_dict
    if all(primary[key] == replica[key] for key in ("HOST", "PORT", "NAME")):
        # Inside a test transaction a second connection to the same database would not even see its rows.
        return None
    return REPLICA


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        if _on_primary.get() or model._meta.app_label == "sessions":
            return PRIMARY
        return replica_alias() or PRIMARY

    def db_for_write(self, model, **hints):
        _on_primary.set(True)
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Primary and replica hold the same rows.
        return True


class PrimaryReplicaMiddleware:
    """Starts every request on the replica (reads) or the primary (requests that may write)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _on_primary.set(request.method not in SAFE_METHODS or request.path.startswith(ADMIN_PATH))
        try:
            return self.get_response(request)
        finally:
            _on_primary.reset(token)
