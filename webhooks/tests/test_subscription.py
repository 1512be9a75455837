"""Webhooks hear of recorded events through the events hook they register at start-up."""

import pytest
from django.db import transaction

from events.services import new_event, record_events
from webhooks.models import Delivery
from webhooks.tests.factories import WebhookFactory

pytestmark = pytest.mark.django_db


def test_deliveries_are_written_in_the_transaction_of_the_change_and_roll_back_with_it(organization):
    WebhookFactory(organization=organization)

    with pytest.raises(RuntimeError), transaction.atomic():
        record_events([new_event("lead.created", organization_id=organization.pk, data={})])
        assert Delivery.objects.count() == 1  # written with the event, not after the commit
        raise RuntimeError("the change fails after its event was written")

    assert not Delivery.objects.exists()
