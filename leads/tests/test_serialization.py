"""The fast read path of the lead serializers gives exactly what DRF's own to_representation gives."""

import pytest
from django.utils import timezone
from rest_framework import serializers

from customers.tests.factories import CustomerFactory
from leads.serializers import LeadByAssigneeSerializer, LeadBySourceSerializer, LeadSerializer
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("serializer_class", [LeadSerializer, LeadBySourceSerializer, LeadByAssigneeSerializer])
def test_same_output_as_drf(organization, user, serializer_class):
    leads = [
        LeadFactory(organization=organization),
        LeadFactory(
            organization=organization,
            assigned_to=user,
            email=None,
            company=None,
            source=None,
            score=None,
            last_contacted_at=timezone.now(),
            notes="Call back",
            custom_fields={"industry": "saas", "seats": 40},
            is_active=False,
        ),
        LeadFactory(
            organization=organization,
            status="converted",
            converted_at=timezone.now(),
            converted_customer=CustomerFactory(organization=organization),
        ),
    ]
    child = serializer_class(context={"organization": organization})

    fast = serializer_class(leads, many=True, context={"organization": organization}).data

    assert fast == [serializers.ModelSerializer.to_representation(child, lead) for lead in leads]
