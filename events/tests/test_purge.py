import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from events.models import Event
from events.services import new_event, record_events
from leadsite.ids import uuid7

pytestmark = pytest.mark.django_db


def record_at(organization, moment, name):
    """An event made at `moment`: its id and createdAt say so."""
    event = new_event("lead.created", organization_id=organization.pk, data={"name": name})
    event.created_at = moment
    event.id = uuid7_at(moment)
    with transaction.atomic():
        record_events([event])


def uuid7_at(moment):
    random_bits = uuid7().int & ((1 << 80) - 1)
    return uuid.UUID(int=(int(moment.timestamp() * 1000) << 80) | random_bits)


def test_purge_deletes_events_older_than_the_retention(organization, settings, capsys):
    settings.EVENT_RETENTION_DAYS = 30
    now = timezone.now()
    record_at(organization, now - timedelta(days=31), "old")
    record_at(organization, now - timedelta(days=29), "kept")
    record_at(organization, now, "new")

    call_command("purge_events")

    assert sorted(Event.objects.values_list("data__name", flat=True)) == ["kept", "new"]
    assert "Deleted 1 events older than 30 days." in capsys.readouterr().out


def test_retention_is_a_setting(organization, settings):
    settings.EVENT_RETENTION_DAYS = 1
    record_at(organization, timezone.now() - timedelta(days=2), "old")
    record_at(organization, timezone.now(), "new")

    call_command("purge_events")

    assert list(Event.objects.values_list("data__name", flat=True)) == ["new"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite positions are rowids")
def test_on_sqlite_the_last_event_stays_so_positions_never_go_back(organization):
    record_at(organization, timezone.now() - timedelta(days=40), "old")
    record_at(organization, timezone.now() - timedelta(days=35), "last")
    last_position = Event.objects.get(data__name="last").transaction_order

    call_command("purge_events")
    record_at(organization, timezone.now(), "next")

    assert list(Event.objects.values_list("data__name", flat=True)) == ["last", "next"]
    assert Event.objects.get(data__name="next").transaction_order > last_position
