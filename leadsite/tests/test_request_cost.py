"""What a request no longer redoes each time answers exactly as before.

- Serializers of plain columns build their output steps once per class (FastRepresentationMixin).
- The authentication look-up's SQL is compiled once per process (leadsite/compiled.py); the user,
  its organization and the token's generation are still read from the database on every request,
  so a revoked session or a deactivated organization is refused at once.
- PostgreSQL timestamps are read by Python's C parser (leadsite/db_types.py).
"""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Lead
from leads.serializers import LeadSerializer
from leads.tests.factories import LeadFactory
from leadsite.compiled import CompiledLookup
from organizations.models import User

pytestmark = pytest.mark.django_db


def test_serializer_output_steps_are_built_once_per_class(organization, user):
    lead = LeadFactory(organization=organization, score=None, custom_fields={"tier": 1})
    first = LeadSerializer(lead, context={"organization": organization}).data
    serializer = LeadSerializer(lead)  # another instance, no context

    assert serializer.data == first
    assert "_class_fast_steps" in LeadSerializer.__dict__
    assert "fields" not in serializer.__dict__  # DRF's fields were not built for this output


def test_a_serializer_with_a_method_field_keeps_building_its_own_steps():
    from rest_framework import serializers

    from leadsite.representation import FastRepresentationMixin

    class WithMethod(FastRepresentationMixin, serializers.ModelSerializer):
        shout = serializers.SerializerMethodField()

        class Meta:
            model = Lead
            fields = ["name", "shout"]

        def get_shout(self, lead):
            return f"{lead.name}{self.context.get('mark', '')}"

    lead = Lead(name="Ada")
    assert WithMethod(lead, context={"mark": "!"}).data == {"name": "Ada", "shout": "Ada!"}
    assert WithMethod(lead, context={"mark": "?"}).data == {"name": "Ada", "shout": "Ada?"}
    assert "_class_fast_steps" not in WithMethod.__dict__


def test_the_compiled_look_up_reads_current_rows_with_their_related_object(organization, user):
    lookup = CompiledLookup(User, lambda pk: User.objects.select_related("organization").filter(pk=pk))
    assert lookup.get(user.pk).organization.name == organization.name

    User.objects.filter(pk=user.pk).update(name="Changed")
    organization.__class__.objects.filter(pk=organization.pk).update(name="Renamed")
    with CaptureQueriesContext(connection) as queries:
        found = lookup.get(str(user.pk))

    assert len(queries) == 1
    assert (found.name, found.organization.name) == ("Changed", "Renamed")
    assert found._state.db == "default" and not found._state.adding
    assert lookup.get("0190b2f4-6c1e-7d3a-9b7e-3f2a1c4d5e6f") is None
    with pytest.raises(ValueError):
        lookup.get("not-a-uuid")


def test_logout_everywhere_refuses_the_next_request_at_once(api):
    assert api.get("/leads").status_code == 200
    assert api.post("/auth/logout-all").status_code in (200, 204)

    response = api.get("/leads")

    assert response.status_code == 401
    assert response.json()["details"][0]["code"] == "token_invalid"


def test_a_deactivated_organization_is_refused_at_once(api, organization):
    assert api.get("/leads").status_code == 200
    organization.__class__.objects.filter(pk=organization.pk).update(is_active=False)

    assert api.get("/leads").status_code == 401


@pytest.mark.postgres
def test_timestamps_read_back_exactly_as_written():
    moments = [
        datetime(2026, 10, 31, 23, 59, 40, 70331, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::timestamptz, %s::timestamptz, %s::timestamptz, %s::timestamptz, "
            "'2020-01-01 10:00:00+05:30'::timestamptz",
            moments,
        )
        row = cursor.fetchone()
    assert list(row[:4]) == moments
    assert all(value.tzinfo is UTC for value in row)
    assert row[4] == datetime(2020, 1, 1, 4, 30, tzinfo=UTC)


@pytest.mark.postgres
def test_a_lead_keeps_its_timestamps_to_the_microsecond(organization):
    contacted = timezone.now().replace(microsecond=123456)
    lead = LeadFactory(organization=organization, last_contacted_at=contacted)
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.last_contacted_at == contacted
    assert stored.created_at == lead.created_at
