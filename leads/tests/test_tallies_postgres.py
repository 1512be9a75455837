"""The tallies on PostgreSQL: one trigger per statement, and writers and compaction over real connections."""

import threading

import pytest
from django.db import connection, transaction

from conftest import run_at_once
from leads import tallies
from leads.models import Lead, LeadTally, LeadWeekTally
from leads.tests.factories import LeadFactory
from leads.tests.test_tallies import assert_tallies_match, key_count, tallied

pytestmark = [pytest.mark.postgres]


@pytest.mark.django_db
def test_a_thousand_row_insert_adds_one_tally_row_per_key(organization):
    Lead.objects.bulk_create(
        Lead(organization=organization, name=f"Lead {n}", source=f"source {n % 4}", score=n % 101) for n in range(1000)
    )
    keys, weeks = tallied(organization)
    assert LeadTally.objects.filter(organization=organization).count() == key_count(keys) == 4 * 3
    assert LeadWeekTally.objects.filter(organization=organization).count() == len(weeks) == 4
    assert_tallies_match(organization)


@pytest.mark.django_db(transaction=True)
def test_compacting_neither_waits_for_nor_loses_a_write_still_open(organization):
    leads = LeadFactory.create_batch(2, organization=organization, score=10)
    written, compacted = threading.Event(), threading.Event()

    def open_write():
        with transaction.atomic():
            Lead.objects.filter(pk=leads[0].pk).update(score=90)
            written.set()
            assert compacted.wait(timeout=30), "compaction waited for the open write"
        return "committed"

    def compact_meanwhile():
        assert written.wait(timeout=30)
        Lead.objects.filter(pk=leads[1].pk).update(score=50)  # committed, numbered after the open write's row
        tallies.compact(organization_id=organization.pk)
        compacted.set()
        return "compacted"

    assert run_at_once([open_write, compact_meanwhile]) == ["committed", "compacted"]
    assert sorted(Lead.objects.values_list("score", flat=True)) == [50, 90]
    assert_tallies_match(organization)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_compactions_keep_every_count(organization):
    leads = LeadFactory.create_batch(8, organization=organization, score=0)

    def writer(lead):
        def write():
            for score in range(0, 101, 5):
                Lead.objects.filter(pk=lead.pk).update(score=score, source=f"s{score % 3}")
            return True

        return write

    def compactor():
        for _ in range(10):
            tallies.compact(organization_id=organization.pk)
        return True

    assert all(run_at_once([*(writer(lead) for lead in leads), compactor, compactor]))
    connection.close()
    assert_tallies_match(organization)
