"""The organization and user admin: staff of organization A never see or touch B's, and cannot escalate."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from organizations.models import Organization, User
from organizations.tests.factories import UserFactory

USERS = reverse("admin:organizations_user_changelist")
ADD_USER = reverse("admin:organizations_user_add")
ORGANIZATIONS = reverse("admin:organizations_organization_changelist")


def url(view, obj):
    if view == "password_change":  # named by django.contrib.auth's UserAdmin
        return reverse("admin:auth_user_password_change", args=[obj.pk])
    return reverse(f"admin:organizations_{obj._meta.model_name}_{view}", args=[obj.pk])


def admin_client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(organization):
    return UserFactory(organization=organization, role=User.Role.ADMIN, is_staff=True, email="staff@a.example")


@pytest.fixture
def staff_client(staff):
    return admin_client(staff)


@pytest.fixture
def colleague(organization):
    return UserFactory(organization=organization, email="colleague@a.example")


def new_user_form(**extra):
    return {
        "email": "newbie@a.example",
        "name": "Newbie",
        "role": "sales_rep",
        "usable_password": "true",
        "password1": "a-long-enough-passphrase",
        "password2": "a-long-enough-passphrase",
        **extra,
    }


def test_user_list_and_search_show_only_own_organization(staff_client, colleague, other_user):
    response = staff_client.get(USERS)
    assert {user.email for user in response.context["cl"].result_list} == {"staff@a.example", "colleague@a.example"}
    response = staff_client.get(USERS, {"q": other_user.email})
    assert list(response.context["cl"].result_list) == []


@pytest.mark.parametrize("view", ["change", "history", "password_change"])
def test_another_organizations_user_is_404(staff_client, colleague, other_user, view):
    assert staff_client.get(url(view, colleague)).status_code == 200
    assert staff_client.get(url(view, other_user)).status_code == 404


def test_changing_another_organizations_user_is_404_and_changes_nothing(staff_client, other_user):
    response = staff_client.post(url("change", other_user), {"email": "taken@over.example", "role": "read_only"})
    assert response.status_code == 404
    other_user.refresh_from_db()
    assert other_user.email != "taken@over.example"


def test_a_created_user_gets_the_staff_users_organization(staff_client, organization, other_organization):
    response = staff_client.post(ADD_USER, new_user_form(organization=str(other_organization.pk)))
    assert response.status_code == 302
    created = User.objects.get(email="newbie@a.example")
    assert created.organization == organization
    assert created.check_password("a-long-enough-passphrase")


def test_the_admin_stores_emails_normalized_and_refuses_one_taken_in_another_case(staff_client, other_user):
    response = staff_client.post(ADD_USER, new_user_form(email=" NewBie@A.Example "))
    assert response.status_code == 302
    assert User.objects.filter(email="newbie@a.example").exists()

    response = staff_client.post(ADD_USER, new_user_form(email=other_user.email.upper()))
    assert response.status_code == 200  # the form again, with the error
    assert User.objects.filter(email__iexact=other_user.email).count() == 1


def test_staff_cannot_make_anyone_superuser(staff_client, staff, colleague):
    response = staff_client.post(ADD_USER, new_user_form(is_superuser="on"))
    assert response.status_code == 302
    assert not User.objects.get(email="newbie@a.example").is_superuser

    response = staff_client.post(url("change", colleague), change_form(colleague, role="admin", is_superuser="on"))
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert (colleague.role, colleague.is_superuser) == ("admin", False)
    staff.refresh_from_db()
    assert not staff.is_superuser


def test_staff_cannot_edit_a_superuser_of_their_organization(staff_client, organization):
    root = User.objects.create_superuser(email="root@example.com", password="x", organization=organization)
    assert staff_client.get(url("change", root)).status_code == 200  # view only
    passwords = {"password1": "owned-123456", "password2": "owned-123456"}
    response = staff_client.post(url("password_change", root), passwords)
    assert response.status_code == 403
    root.refresh_from_db()
    assert not root.check_password("owned-123456")


def test_users_are_deactivated_not_deleted_by_staff(staff_client, colleague):
    assert staff_client.post(url("delete", colleague), {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=colleague.pk).exists()


def test_only_organization_admins_manage_users(organization, colleague):
    rep = UserFactory(organization=organization, role=User.Role.SALES_REP, is_staff=True)
    client = admin_client(rep)
    assert client.get(USERS).status_code == 200
    assert client.get(ADD_USER).status_code == 403
    response = client.post(url("change", colleague), {"email": colleague.email, "role": "admin"})
    assert response.status_code == 403


def test_organization_admin_shows_only_own_organization_read_only(staff_client, organization, other_organization):
    response = staff_client.get(ORGANIZATIONS)
    assert list(response.context["cl"].result_list) == [organization]
    assert staff_client.get(url("change", organization)).status_code == 200
    assert staff_client.get(url("change", other_organization)).status_code == 404
    response = staff_client.post(url("change", organization), {"name": "Renamed", "slug": "renamed"})
    assert response.status_code == 403
    assert staff_client.get(reverse("admin:organizations_organization_add")).status_code == 403


def test_superuser_creates_an_organization_and_its_first_admin(db):
    client = admin_client(User.objects.create_superuser(email="root@example.com", password="x"))
    response = client.post(reverse("admin:organizations_organization_add"), {"name": "Acme", "slug": "acme"})
    assert response.status_code == 302
    acme = Organization.objects.get(slug="acme")
    response = client.post(ADD_USER, new_user_form(organization=str(acme.pk), role="admin", is_staff="on"))
    assert response.status_code == 302
    admin_user = User.objects.get(email="newbie@a.example")
    assert (admin_user.organization, admin_user.role, admin_user.is_staff) == (acme, "admin", True)


def test_superuser_must_give_a_new_user_an_organization(db):
    client = admin_client(User.objects.create_superuser(email="root@example.com", password="x"))
    response = client.post(ADD_USER, new_user_form())
    assert response.status_code == 200
    assert not User.objects.filter(email="newbie@a.example").exists()


def change_form(user, **changes):
    data = {"email": user.email, "name": user.name, "role": user.role}
    data.update(is_active="on" if user.is_active else "", is_staff="on" if user.is_staff else "")
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_the_last_admin_cannot_demote_themselves_in_the_admin(staff_client, staff):
    response = staff_client.post(url("change", staff), change_form(staff, role="sales_rep"))
    assert response.status_code == 302
    assert response["Location"] == url("change", staff)  # back to the form, with the reason
    staff.refresh_from_db()
    assert staff.role == "admin"
    messages = [str(m) for m in staff_client.get(url("change", staff)).context["messages"]]
    assert any("last active admin" in message for message in messages)


def test_deactivating_a_member_in_the_admin_ends_their_sessions(staff_client, colleague):
    from rest_framework.test import APIClient

    from organizations.tokens import refresh_token_for

    refresh = refresh_token_for(colleague)
    response = staff_client.post(url("change", colleague), change_form(colleague, is_active=""))
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert not colleague.is_active
    colleague.is_active = True  # even once reactivated, the old session stays dead
    colleague.save()
    assert APIClient().post("/auth/token/refresh", {"refresh": str(refresh)}, format="json").status_code == 401
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}")
    assert api.get("/me").status_code == 401


def test_the_user_forms_say_what_is_allowed_as_the_api_does(staff_client, colleague):
    # A role the select does not offer (a stale page, a hand-made POST): the API's wording, the roles listed.
    role = '"owner" is not a valid role; use one of admin, sales_rep, read_only.'

    added = staff_client.post(ADD_USER, new_user_form(role="owner", email="not-an-email"))
    changed = staff_client.post(url("change", colleague), change_form(colleague, role="owner"))

    assert added.context["adminform"].form.errors == {
        "role": [role],
        "email": ["Enter a valid email address."],  # as the API says it
    }
    assert changed.context["adminform"].form.errors == {"role": [role]}
    for response in (added, changed):
        assert response.status_code == 200
        assert html.escape(role) in response.content.decode()
    assert not User.objects.filter(email="not-an-email").exists()
    colleague.refresh_from_db()
    assert colleague.role == "sales_rep"
