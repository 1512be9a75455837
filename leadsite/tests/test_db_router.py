"""Without a separate replica every query uses the primary (the replica's own tests: test_db_replica.py)."""

import contextvars
import copy

from django.db import connections, router

from leads.models import Lead
from leadsite.db_router import PRIMARY, REPLICA
from leadsite.tests.test_db_replica import replica_configured


def read_alias_outside_any_request():
    return contextvars.Context().run(router.db_for_read, Lead)


def test_without_a_replica_everything_uses_the_primary(monkeypatch):
    monkeypatch.delitem(connections.settings, REPLICA, raising=False)
    assert read_alias_outside_any_request() == PRIMARY
    assert router.db_for_write(Lead) == PRIMARY


def test_a_replica_that_is_the_primary_itself_is_not_used():
    """With DATABASE_REPLICA_URL set, tests make the replica a mirror of the test database."""
    with replica_configured(copy.deepcopy(connections[PRIMARY].settings_dict)):
        assert read_alias_outside_any_request() == PRIMARY
