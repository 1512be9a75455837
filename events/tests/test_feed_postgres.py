"""The feed when transactions commit out of order, over real PostgreSQL connections."""

import threading
import time

import psycopg
import pytest
from django.db import connection, transaction

from events.models import Event
from events.selectors import event_feed
from leads import services

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def poll(organization, after=None, want=0, seconds=90):
    """What a consumer polling now gets; waits (up to `seconds`) for `want` events, since every
    transaction in flight in this database holds the feed back."""
    deadline = time.monotonic() + seconds
    while True:
        events = event_feed(organization=organization, after=after, limit=100)
        if len(events) >= want or time.monotonic() > deadline:
            return events
        time.sleep(0.05)


def test_a_transaction_that_began_first_and_commits_last_is_not_skipped(organization, user):
    """T1 writes first (smaller transaction id), T2 writes and commits, a consumer polls, then T1 commits."""
    t1_wrote, t1_may_commit = threading.Event(), threading.Event()
    errors = []

    def first_writer():
        try:
            with transaction.atomic():
                services.lead_create(organization=organization, user=user, data={"name": "Began first"})
                t1_wrote.set()
                assert t1_may_commit.wait(30)
        except Exception as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            connection.close()

    def second_writer():
        try:
            services.lead_create(organization=organization, user=user, data={"name": "Began second"})
        finally:
            connection.close()

    t1 = threading.Thread(target=first_writer)
    t1.start()
    assert t1_wrote.wait(30)
    t2 = threading.Thread(target=second_writer)
    t2.start()
    t2.join()

    # T2 has committed, but T1, which holds a smaller transaction id, has not: nothing is final yet.
    assert Event.objects.filter(data__lead__name="Began second").exists()
    polled_between = poll(organization)
    assert polled_between == []

    t1_may_commit.set()
    t1.join()
    assert not errors

    after_both = poll(organization, want=2)
    assert [event.data["lead"]["name"] for event in after_both] == ["Began first", "Began second"]
    assert poll(organization, after=(after_both[-1].transaction_order, after_both[-1].id), seconds=0) == []


def test_a_consumer_that_read_the_first_commit_still_gets_the_slower_one(organization, user):
    """A consumer holding a cursor past an early commit still receives a transaction that began before it."""
    services.lead_create(organization=organization, user=user, data={"name": "Already there"})
    (first,) = poll(organization, want=1)
    cursor = (first.transaction_order, first.id)

    t1_wrote, t1_may_commit = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                services.lead_create(organization=organization, user=user, data={"name": "Slow"})
                t1_wrote.set()
                t1_may_commit.wait(30)
        finally:
            connection.close()

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert t1_wrote.wait(30)
    services.lead_create(organization=organization, user=user, data={"name": "Fast"})

    assert poll(organization, after=cursor, seconds=0) == []
    t1_may_commit.set()
    slow.join()

    assert [event.data["lead"]["name"] for event in poll(organization, after=cursor, want=2)] == ["Slow", "Fast"]


def test_a_long_transaction_in_another_database_does_not_hold_the_feed_back(organization, user):
    """A transaction held open in another database of the same server (a benchmark's COPY, another
    application) cannot write this database's events: new events appear while it stays open."""
    settings = connection.settings_dict
    server = {"host": settings["HOST"], "port": settings["PORT"] or 5432, "user": settings["USER"]}
    other_database = f"{settings['NAME']}_other"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{other_database}"')
        admin.execute(f'CREATE DATABASE "{other_database}"')
    try:
        with psycopg.connect(dbname=other_database, **server) as other:
            other.execute("CREATE TABLE held (n int)")
            other.commit()
            other.execute("INSERT INTO held VALUES (1)")  # the transaction now holds an id, and stays open
            held_id = other.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()[0]

            lead = services.lead_create(organization=organization, user=user, data={"name": "Created meanwhile"})

            events = poll(organization, want=1, seconds=10)
            assert [event.data["lead"]["id"] for event in events] == [str(lead.pk)]
            assert events[0].transaction_order > held_id
            other.rollback()
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{other_database}"')
