"""Conversions racing each other on PostgreSQL, over real concurrent connections."""

import threading

import pytest
from django.db import connection

from conftest import client_for
from customers.models import Customer
from leads.models import Lead
from leads.tests.factories import LeadFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def convert_at_once(client, lead_ids):
    barrier = threading.Barrier(len(lead_ids))
    statuses = [None] * len(lead_ids)

    def convert(index, lead_id):
        try:
            barrier.wait()
            statuses[index] = client.post(f"/leads/{lead_id}/convert-to-customer").status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=convert, args=pair) for pair in enumerate(lead_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_two_simultaneous_converts_of_one_lead_make_one_customer(user, organization):
    lead = LeadFactory(organization=organization)

    statuses = convert_at_once(client_for(user), [lead.id, lead.id])

    assert sorted(statuses) == [201, 409]
    assert Customer.objects.count() == 1
    assert Lead.objects.get(pk=lead.pk).converted_customer == Customer.objects.get()


def test_simultaneous_converts_of_different_leads_never_repeat_a_customer_number(user, organization):
    leads = LeadFactory.create_batch(6, organization=organization)

    statuses = convert_at_once(client_for(user), [lead.id for lead in leads])

    assert statuses == [201] * 6
    numbers = sorted(Customer.objects.values_list("customer_number", flat=True))
    assert numbers == [f"CUST-{n:03d}" for n in range(1, 7)]
