"""Routing under parallel writers, with real connections on PostgreSQL: rotation and capacity hold."""

from collections import Counter

import pytest
from django.db import close_old_connections, connection

from conftest import run_at_once
from leads import services
from leads.models import Lead
from organizations.models import User
from organizations.tests.factories import OrganizationFactory, UserFactory
from routing.services import rule_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CREATORS = 8


def creator(organization_id, count, admin_id):
    def run():
        organization = type(User.objects.get(pk=admin_id).organization).objects.get(pk=organization_id)
        admin = User.objects.get(pk=admin_id)
        for index in range(count):
            services.lead_create(organization=organization, user=admin, data={"name": f"Lead {index}"})
        close_old_connections()
        return count

    return run


def world(method="round_robin", **member):
    organization = OrganizationFactory()
    admin = UserFactory(organization=organization, role=User.Role.ADMIN)
    reps = [UserFactory(organization=organization, name=name) for name in ("Ana", "Ben", "Cleo")]
    rule_create(
        organization=organization,
        data={"name": "All", "method": method, "members": [{"user": rep, **member} for rep in reps]},
    )
    return organization, admin, reps


def test_eight_parallel_creators_leave_a_round_robin_within_one():
    assert connection.vendor == "postgresql"
    organization, admin, reps = world()
    per_creator = 125  # 1,000 leads
    run_at_once([creator(organization.pk, per_creator, admin.pk) for _ in range(CREATORS)])
    counts = Counter(Lead.objects.filter(organization=organization).values_list("assigned_to", flat=True))
    assert sum(counts.values()) == CREATORS * per_creator
    assert set(counts) == {rep.pk for rep in reps}
    assert max(counts.values()) - min(counts.values()) <= 1, counts


def test_no_capacity_is_exceeded_under_races():
    organization, admin, reps = world(method="least_loaded", max_open=10)
    run_at_once([creator(organization.pk, 6, admin.pk) for _ in range(CREATORS)])  # 48 leads for 30 places
    counts = Counter(Lead.objects.filter(organization=organization).values_list("assigned_to", flat=True))
    assert counts[None] == 18
    assert all(counts[rep.pk] == 10 for rep in reps), counts


def test_max_per_day_holds_under_races():
    organization, admin, reps = world(method="weighted", max_per_day=5)
    run_at_once([creator(organization.pk, 3, admin.pk) for _ in range(CREATORS)])  # 24 leads for 15 places
    counts = Counter(Lead.objects.filter(organization=organization).values_list("assigned_to", flat=True))
    assert counts[None] == 9
    assert all(counts[rep.pk] == 5 for rep in reps), counts
