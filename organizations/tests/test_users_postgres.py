"""Demoting admins concurrently on PostgreSQL, over real connections: one admin always remains."""

import pytest

from conftest import client_for, run_at_once
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(calls):
    return [response.status_code for response in run_at_once(calls)]


@pytest.mark.parametrize("repeat", range(3))
def test_two_admins_deactivating_each_other_leave_one(organization, user, repeat):
    second = UserFactory(organization=organization, role=User.Role.ADMIN)
    first_api, second_api = client_for(user), client_for(second)

    statuses = at_once(
        [
            lambda: first_api.delete(f"/users/{second.id}"),
            lambda: second_api.patch(f"/users/{user.id}", {"role": "sales_rep"}, format="json"),
        ]
    )

    assert User.objects.filter(organization=organization, role=User.Role.ADMIN, is_active=True).count() == 1
    # The loser is refused: 409 if it saw the other change, 401 if its own admin went first.
    assert sorted(statuses)[0] in (200, 204) and sorted(statuses)[1] in (401, 403, 409)


def test_many_simultaneous_demotions_leave_exactly_one_admin(organization, user):
    # Each admin deactivates itself: an admin deactivated by another's request would get 401 (its
    # tokens die with the deactivation) and the race would no longer test the last-admin rule.
    admins = [user, *UserFactory.create_batch(4, organization=organization, role=User.Role.ADMIN)]
    apis = {admin.id: client_for(admin) for admin in admins}

    statuses = at_once(
        [lambda a=admin: apis[a.id].patch(f"/users/{a.id}", {"isActive": False}, format="json") for admin in admins]
    )

    assert User.objects.filter(organization=organization, role=User.Role.ADMIN, is_active=True).count() == 1
    assert statuses.count(409) == 1
