"""Users' availability for lead routing: set by themselves through /me, by admins through /users."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import client_for
from organizations.models import User, available_now_q
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def today() -> date:
    return timezone.localdate()


@pytest.fixture
def rep(organization):
    return UserFactory(organization=organization, role=User.Role.SALES_REP)


def test_a_rep_marks_themselves_away_until_a_date_and_back(rep):
    me = client_for(rep)
    back = (today() + timedelta(days=7)).isoformat()
    response = me.patch("/me", {"awayUntil": back}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["availability"], response.json()["awayUntil"]) == ("away", back)
    rep.refresh_from_db()
    assert (rep.availability, rep.away_until, rep.is_away) == ("away", today() + timedelta(days=7), True)

    response = me.patch("/me", {"availability": "available"}, format="json")
    assert (response.json()["availability"], response.json()["awayUntil"]) == ("available", None)
    rep.refresh_from_db()
    assert (rep.availability, rep.away_until) == ("available", None)


def test_read_only_members_set_their_own_availability_too(organization):
    reader = UserFactory(organization=organization, role=User.Role.READ_ONLY)
    response = client_for(reader).patch("/me", {"availability": "away"}, format="json")
    assert response.status_code == 200
    assert (response.json()["availability"], response.json()["awayUntil"]) == ("away", None)


def test_me_cannot_change_my_role_or_activity(rep):
    response = client_for(rep).patch("/me", {"role": "admin", "isActive": False}, format="json")
    assert response.status_code == 200  # read-only fields are taken and ignored, as everywhere
    rep.refresh_from_db()
    assert (rep.role, rep.is_active) == ("sales_rep", True)


def test_bad_availability_is_refused_and_a_past_date_means_back_already(rep):
    response = client_for(rep).patch("/me", {"availability": "holiday", "awayUntil": "next week"}, format="json")
    assert response.status_code == 400
    details = {item["field"]: item for item in response.json()["details"]}
    assert details["availability"]["code"] == "invalid_choice"
    assert "available" in details["availability"]["message"] and "away" in details["availability"]["message"]
    assert details["awayUntil"]["code"] == "invalid"
    rep.refresh_from_db()
    assert rep.availability == "available"

    yesterday = (today() - timedelta(days=1)).isoformat()
    response = client_for(rep).patch("/me", {"awayUntil": yesterday}, format="json")
    assert (response.json()["availability"], response.json()["awayUntil"]) == ("available", None)
    response = client_for(rep).patch("/me", {"availability": "available", "awayUntil": "2999-01-01"}, format="json")
    assert (response.json()["availability"], response.json()["awayUntil"]) == ("available", None)


def test_an_admin_sets_a_members_availability(api, rep):
    back = (today() + timedelta(days=3)).isoformat()
    response = api.patch(f"/users/{rep.pk}", {"availability": "away", "awayUntil": back}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["availability"], response.json()["awayUntil"]) == ("away", back)
    assert api.get(f"/users/{rep.pk}").json()["availability"] == "away"


def test_a_rep_cannot_set_another_members_availability(organization, rep):
    colleague = UserFactory(organization=organization)
    response = client_for(rep).patch(f"/users/{colleague.pk}", {"availability": "away"}, format="json")
    assert response.status_code == 403
    colleague.refresh_from_db()
    assert colleague.availability == "available"


def test_another_organizations_admin_cannot_set_availability(other_api, rep):
    response = other_api.patch(f"/users/{rep.pk}", {"availability": "away"}, format="json")
    assert response.status_code == 404
    rep.refresh_from_db()
    assert rep.availability == "available"


def test_back_by_themselves_on_the_return_date(organization, api):
    back_today = UserFactory(organization=organization, availability="away", away_until=today())
    back_tomorrow = UserFactory(organization=organization, availability="away", away_until=today() + timedelta(days=1))
    away = UserFactory(organization=organization, availability="away")
    gone = UserFactory(organization=organization, is_active=False)
    present = UserFactory(organization=organization)

    available = set(User.objects.for_organization(organization).filter(available_now_q()))
    assert {back_today, present} <= available
    assert not {back_tomorrow, away, gone} & available
    users = api.get("/users?limit=100").json()["data"]
    shown = {user["id"]: (user["availability"], user["awayUntil"]) for user in users}
    assert shown[str(back_today.pk)] == ("available", None)
    assert shown[str(back_tomorrow.pk)] == ("away", (today() + timedelta(days=1)).isoformat())
    assert shown[str(away.pk)] == ("away", None)


def test_the_admin_shows_and_sets_availability(organization, user, rep):
    user.is_staff = True
    user.save()
    staff = Client()
    staff.force_login(user)
    rep.availability, rep.away_until = "away", today() + timedelta(days=2)
    rep.save()
    page = staff.get("/admin/organizations/user/")
    assert f"Away until {rep.away_until:%Y-%m-%d}" in page.content.decode()
    form = staff.get(f"/admin/organizations/user/{rep.pk}/change/")
    assert 'name="availability"' in form.content.decode() and 'name="away_until"' in form.content.decode()
