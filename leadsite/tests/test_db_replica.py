"""Reads from the replica, writes (and the reads after them) on the primary.

The PostgreSQL tests set up a second database as the replica: it holds what the test copies
into it and never catches up on its own, like a replica with unbounded lag, which makes every
misrouted query visible. test_db_streaming_replica.py runs the router against a real
streaming standby.
"""

import contextvars
import copy
from contextlib import contextmanager

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection, connections, router
from django.http import HttpResponse
from django.test import RequestFactory

from customers.models import Customer
from leads.models import Lead
from leads.tests.factories import LeadFactory
from leadsite.db_router import PRIMARY, REPLICA, PrimaryReplicaMiddleware


def drop_replica_connection():
    if hasattr(connections._connections, REPLICA):
        connections[REPLICA].close()
        del connections[REPLICA]


@contextmanager
def replica_configured(settings_dict):
    """Point the `replica` alias at settings_dict, then back at what it was (nothing, or a test mirror)."""
    previous = connections.settings.get(REPLICA)
    drop_replica_connection()
    connections.settings[REPLICA] = settings_dict
    try:
        yield
    finally:
        drop_replica_connection()
        if previous is None:
            del connections.settings[REPLICA]
        else:
            connections.settings[REPLICA] = previous


@pytest.fixture(scope="module")
def replica(django_db_setup, django_db_blocker):
    """A second, migrated PostgreSQL database next to the test database, as the `replica` alias.

    Tests that use it list it in `databases`, so that it is emptied after each of them.
    """
    primary = connections[PRIMARY].settings_dict
    name = f"{primary['NAME']}_replica"
    settings_dict = {**copy.deepcopy(primary), "NAME": name}
    settings_dict["TEST"]["MIRROR"] = None
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            with replica_configured(settings_dict):
                call_command("migrate", database=REPLICA, verbosity=0)
                yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE "{name}"')


def with_replica(test):
    """PostgreSQL only, with the replica set up and emptied after the test like the primary."""
    test = pytest.mark.django_db(transaction=True, databases=[PRIMARY, REPLICA])(test)
    return pytest.mark.postgres(pytest.mark.usefixtures("replica")(test))


def copy_to_replica(*objects):
    """What streaming replication would eventually do for these rows."""
    for obj in objects:
        type(obj)._base_manager.using(REPLICA).bulk_create([copy.copy(obj)])


@with_replica
def test_reads_go_to_the_replica(api, user, organization):
    copy_to_replica(organization, user)
    LeadFactory(organization=organization, name="Not replicated yet")
    copy_to_replica(LeadFactory.build(organization=organization, name="On the replica"))

    response = api.get("/leads")

    assert response.status_code == 200
    assert [lead["name"] for lead in response.json()["data"]] == ["On the replica"]
    assert api.get("/readyz").status_code == 200  # both databases answer


@with_replica
def test_writes_go_to_the_primary_and_requests_that_write_read_from_it(api, user, organization):
    copy_to_replica(organization, user)

    created = api.post("/leads", {"name": "Ada", "company": "Analytical"}, format="json")
    assert created.status_code == 201
    lead_id = created.json()["id"]
    assert Lead.objects.using(PRIMARY).filter(pk=lead_id).exists()
    assert not Lead.objects.using(REPLICA).filter(pk=lead_id).exists()

    # The lead is not on the replica yet, but requests that write find it on the primary.
    updated = api.patch(f"/leads/{lead_id}", {"score": 90}, format="json")
    assert (updated.status_code, updated.json()["name"], updated.json()["score"]) == (200, "Ada", 90)
    converted = api.post(f"/leads/{lead_id}/convert-to-customer")
    assert converted.status_code == 201
    assert Customer.objects.using(PRIMARY).count() == 1
    assert Customer.objects.using(REPLICA).count() == 0

    # Stickiness ends with the request: the next read-only request reads the (lagging) replica.
    assert api.get(f"/leads/{lead_id}").status_code == 404


@with_replica
def test_a_read_only_request_reads_its_own_write_from_the_primary(organization):
    seen = []

    def view_that_writes(request):
        seen.append(router.db_for_read(Lead))
        Lead.objects.create(organization=organization, name="Written during a GET")
        seen.append(router.db_for_read(Lead))
        return HttpResponse()

    def view_that_reads(request):
        seen.append(router.db_for_read(Lead))
        return HttpResponse()

    PrimaryReplicaMiddleware(view_that_writes)(RequestFactory().get("/"))
    PrimaryReplicaMiddleware(view_that_reads)(RequestFactory().get("/"))
    PrimaryReplicaMiddleware(view_that_reads)(RequestFactory().post("/"))

    assert seen == [REPLICA, PRIMARY, REPLICA, PRIMARY]


@with_replica
def test_the_admin_and_sessions_always_use_the_primary():
    seen = []

    def view(request):
        seen.append(router.db_for_read(Lead))
        return HttpResponse()

    PrimaryReplicaMiddleware(view)(RequestFactory().get("/admin/leads/lead/"))

    assert seen == [PRIMARY]
    assert contextvars.Context().run(router.db_for_read, Session) == PRIMARY
    assert contextvars.Context().run(router.db_for_read, Lead) == REPLICA
