"""The default database (SQLite) takes concurrent writes: no "database is locked", nothing lost.

Tests run on an in-memory SQLite database, which has no WAL and locks differently from a file. So
the test copies the migrated test database into a file and points the connections its threads
open at that file, with the project's own connection options (WAL, IMMEDIATE, busy timeout).
"""

import sqlite3
from collections import Counter
from contextlib import closing, contextmanager

import pytest
from django.db import connection, connections

from conftest import client_for, run_at_once
from customers.models import Customer
from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = [
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own locking"),
    pytest.mark.django_db(transaction=True),
]

THREADS, WRITES = 8, 50


@contextmanager
def file_database(path):
    """Copy the test database to `path`; connections opened by new threads meanwhile use the copy."""
    connection.ensure_connection()
    with closing(sqlite3.connect(path)) as target:
        connection.connection.backup(target)
    in_memory = connections.settings["default"]
    connections.settings["default"] = {**in_memory, "NAME": str(path)}
    try:
        yield
    finally:
        connections.settings["default"] = in_memory


def mixed_writes(client, own_leads, reps, thread):
    """WRITES requests in turn: create, PATCH, convert, reassign; returns [(kind, response)]."""
    done = []
    for i in range(WRITES):
        lead = own_leads[i // 4]
        kind = ("create", "patch", "convert", "reassign")[i % 4]
        if kind == "create":
            response = client.post("/leads", {"name": f"New {thread}-{i}", "email": f"t{thread}-{i}@x.test"}, "json")
        elif kind == "patch":
            response = client.patch(f"/leads/{lead.id}", {"score": i}, "json")
        elif kind == "convert":
            response = client.post(f"/leads/{lead.id}/convert-to-customer")
        else:
            source, target = reps if (thread + i) % 2 else reversed(reps)
            response = client.post(
                "/leads/reassign", {"fromUserId": str(source.id), "toUserId": str(target.id)}, "json"
            )
        done.append((kind, response))
    return done


def test_eight_threads_of_mixed_writes_on_a_file_database_all_succeed_and_add_up(tmp_path, organization, user):
    reps = UserFactory.create_batch(2, organization=organization, role=User.Role.SALES_REP)
    own_leads = [
        LeadFactory.create_batch(13, organization=organization, score=None, assigned_to=reps[n % 2])
        for n in range(THREADS)
    ]
    clients = [client_for(user) for _ in range(THREADS)]
    leads_before = Lead.objects.count()

    with file_database(tmp_path / "concurrent.sqlite3"):
        results = run_at_once([lambda n=n: mixed_writes(clients[n], own_leads[n], reps, n) for n in range(THREADS)])
        [(leads, customers, history, assigned_to_reps, scored)] = run_at_once(
            [
                lambda: (
                    Lead.objects.count(),
                    Customer.objects.count(),
                    Counter(LeadHistory.objects.values_list("action", flat=True)),
                    Lead.objects.filter(assigned_to__in=reps).count(),
                    Lead.objects.filter(score__isnull=False).count(),
                )
            ]
        )

    # Per thread: 13 creates, 13 PATCHes (each of a different lead), 12 converts, 12 reassigns.
    creates, patches, converts, reassigns = (THREADS * n for n in (13, 13, 12, 12))
    statuses = Counter((kind, response.status_code) for done in results for kind, response in done)
    assert statuses == {
        ("create", 201): creates,
        ("patch", 200): patches,
        ("convert", 201): converts,
        ("reassign", 200): reassigns,
    }
    reassigned = sum(response.json()["reassigned"] for done in results for kind, response in done if kind == "reassign")
    assert leads == leads_before + creates
    assert customers == converts
    assert history == {"created": creates, "updated": patches, "converted": converts, "reassigned": reassigned}
    assert assigned_to_reps == THREADS * 13
    assert scored == patches
