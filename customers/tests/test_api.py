"""The Customers API: list, read, change and delete the customers leads were converted into."""

import uuid

import pytest

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from events.models import Event
from leads.models import Lead, LeadHistory, LeadStatus
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

CUSTOMER_KEYS = {
    "id",
    "organizationId",
    "companyName",
    "customerId",
    "contactEmail",
    "contactPhone",
    "status",
    "createdAt",
    "updatedAt",
    "leadIds",
}


def error_fields(response):
    return {detail.get("field") for detail in response.json()["details"]}


def convert(api, lead, customer=None):
    body = {"customerId": str(customer.id)} if customer else None
    response = api.post(f"/leads/{lead.id}/convert-to-customer", body, format="json")
    assert response.status_code in (200, 201), response.json()
    return response.json()["customerId"]


# --- list


def test_list_shows_my_customers_with_the_leads_converted_into_them(api, organization, other_organization):
    lead = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED)
    customer_id = convert(api, lead)
    CustomerFactory(organization=other_organization)

    response = api.get("/customers")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("total", "page", "limit", "totalPages")} == {
        "total": 1,
        "page": 1,
        "limit": 10,
        "totalPages": 1,
    }
    [customer] = body["data"]
    assert set(customer) == CUSTOMER_KEYS
    assert customer["id"] == customer_id
    assert customer["organizationId"] == str(organization.id)
    assert customer["customerId"] == "CUST-001"
    assert customer["leadIds"] == [str(lead.id)]
    assert customer["createdAt"].endswith("Z")


@pytest.mark.parametrize("path", ["/customers", "/customers/"])
def test_list_answers_with_and_without_trailing_slash(api, organization, path):
    CustomerFactory(organization=organization)
    response = api.get(path)
    assert response.status_code == 200 and response.json()["total"] == 1


@pytest.mark.parametrize("limit", [2, 10])
def test_list_takes_the_same_number_of_queries_whatever_the_page_size(
    api, organization, limit, django_assert_num_queries
):
    for _ in range(12):
        customer = CustomerFactory(organization=organization)
        LeadFactory.create_batch(2, organization=organization, converted_customer=customer, status=LeadStatus.CONVERTED)

    # user, count, page, the page's leads (prefetched)
    with django_assert_num_queries(4):
        response = api.get(f"/customers?limit={limit}")

    assert len(response.json()["data"]) == limit
    assert all(len(customer["leadIds"]) == 2 for customer in response.json()["data"])


def test_list_sorts_by_company_name_both_ways(api, organization):
    for name in ["Beta", "Alpha", "Gamma"]:
        CustomerFactory(organization=organization, company_name=name)

    ascending = api.get("/customers?sortField=companyName&sortOrder=asc").json()["data"]
    descending = api.get("/customers?sortField=companyName&sortOrder=desc").json()["data"]

    assert [c["companyName"] for c in ascending] == ["Alpha", "Beta", "Gamma"]
    assert [c["companyName"] for c in descending] == ["Gamma", "Beta", "Alpha"]


def test_list_defaults_to_newest_first(api, organization):
    first, second = CustomerFactory(organization=organization), CustomerFactory(organization=organization)
    assert [c["id"] for c in api.get("/customers").json()["data"]] == [str(second.id), str(first.id)]


def test_list_filters_by_status(api, organization):
    active = CustomerFactory(organization=organization, status=Customer.Status.ACTIVE)
    churned = CustomerFactory(organization=organization, status=Customer.Status.CHURNED)
    CustomerFactory(organization=organization, status=Customer.Status.INACTIVE)

    only_churned = api.get("/customers?status=churned").json()["data"]
    two = api.get("/customers?status=active,churned").json()["data"]

    assert [c["id"] for c in only_churned] == [str(churned.id)]
    assert {c["id"] for c in two} == {str(active.id), str(churned.id)}


@pytest.mark.parametrize(
    "query, expected",
    [("acme", {"Acme Ltd"}), ("billing@globex", {"Globex"}), ("cust-007", {"Initech"}), ("  ", None)],
)
def test_search_covers_company_name_contact_email_and_customer_number(api, organization, query, expected):
    CustomerFactory(organization=organization, company_name="Acme Ltd", contact_email="a@acme.com")
    CustomerFactory(organization=organization, company_name="Globex", contact_email="billing@globex.com")
    CustomerFactory(organization=organization, company_name="Initech", customer_number="CUST-007")

    names = {c["companyName"] for c in api.get("/customers", {"q": query}).json()["data"]}

    assert names == (expected or {"Acme Ltd", "Globex", "Initech"})


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=gone", "status"),
        ("sortField=leadIds", "sortField"),
        ("sortOrder=up", "sortOrder"),
        ("page=0", "page"),
        ("limit=101", "limit"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(api, query, field):
    response = api.get(f"/customers?{query}")
    assert response.status_code == 400
    assert field in error_fields(response)


# --- one customer


def test_get_customer(api, organization):
    customer = CustomerFactory(organization=organization, contact_phone="555-0100")
    lead = LeadFactory(organization=organization, converted_customer=customer, status=LeadStatus.CONVERTED)

    response = api.get(f"/customers/{customer.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["companyName"] == customer.company_name
    assert body["contactPhone"] == "555-0100"
    assert body["leadIds"] == [str(lead.id)]


def test_put_is_partial_and_customer_number_is_read_only(api, organization):
    customer = CustomerFactory(organization=organization, company_name="Old", customer_number="CUST-001")

    response = api.put(
        f"/customers/{customer.id}",
        {"companyName": "New", "status": "churned", "customerId": "CUST-999", "contactPhone": ""},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["companyName"], body["status"], body["customerId"], body["contactPhone"]) == (
        "New",
        "churned",
        "CUST-001",
        None,
    )
    customer.refresh_from_db()
    assert (customer.company_name, customer.status, customer.customer_number) == ("New", "churned", "CUST-001")
    assert customer.contact_email  # not sent, kept


def test_patch_updates_one_field(api, organization):
    customer = CustomerFactory(organization=organization)
    response = api.patch(f"/customers/{customer.id}", {"contactEmail": "new@example.com"}, format="json")
    assert response.status_code == 200
    assert Customer.objects.get(pk=customer.pk).contact_email == "new@example.com"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"status": "deleted"}, "status"),
        ({"companyName": ""}, "companyName"),
        ({"companyName": "x" * 256}, "companyName"),
        ({"contactEmail": "not-an-email"}, "contactEmail"),
        ({"contactPhone": "1" * 51}, "contactPhone"),
    ],
)
def test_update_validates_naming_the_field(api, organization, payload, field):
    customer = CustomerFactory(organization=organization)
    response = api.put(f"/customers/{customer.id}", payload, format="json")
    assert response.status_code == 400
    assert field in error_fields(response)


def test_customers_cannot_be_created_directly(api):
    response = api.post("/customers", {"companyName": "Acme"}, format="json")
    assert response.status_code == 405
    assert not Customer.objects.exists()


# --- delete


def test_delete_unconverts_its_leads_with_history_and_events(api, organization):
    leads = LeadFactory.create_batch(2, organization=organization, status=LeadStatus.QUALIFIED)
    customer_id = convert(api, leads[0])
    convert(api, leads[1], Customer.objects.get(pk=customer_id))
    history_before = LeadHistory.objects.filter(lead_id__in=[lead.id for lead in leads]).count()

    response = api.delete(f"/customers/{customer_id}")

    assert response.status_code == 204
    assert not Customer.objects.exists()
    for lead in Lead.objects.all():
        assert (lead.status, lead.converted_customer_id, lead.converted_at) == (LeadStatus.QUALIFIED, None, None)
    history = LeadHistory.objects.filter(lead_id__in=[lead.id for lead in leads])
    assert history.count() == history_before + 2
    unconverted = history.filter(action="unconverted")
    assert len(unconverted) == 2
    for entry in unconverted:
        assert entry.changes["status"] == {"old": "converted", "new": "qualified"}
        assert entry.changes["convertedCustomerId"] == {"old": customer_id, "new": None}
        assert entry.changes["convertedAt"]["new"] is None
    events = Event.objects.filter(type="lead.unconverted")
    assert sorted(event.data["lead"]["id"] for event in events) == sorted(str(lead.id) for lead in leads)
    assert {event.data["customerId"] for event in events} == {customer_id}
    body = api.get(f"/leads/{leads[0].id}").json()
    assert (body["status"], body["convertedCustomerId"], body["convertedAt"]) == ("qualified", None, None)
    # Converting it again makes a new customer, as the lead is qualified.
    assert api.post(f"/leads/{leads[0].id}/convert-to-customer", {}, format="json").status_code == 201


# --- scoping and authentication


@pytest.mark.parametrize(
    "method, body",
    [("get", None), ("put", {"companyName": "Hijacked"}), ("patch", {"companyName": "Hijacked"}), ("delete", None)],
)
def test_another_organizations_customer_is_404_and_untouched(other_api, organization, method, body):
    customer = CustomerFactory(organization=organization, company_name="Mine")

    response = getattr(other_api, method)(f"/customers/{customer.id}", body, format="json")

    assert response.status_code == 404
    assert Customer.objects.get(pk=customer.pk).company_name == "Mine"


def test_another_organizations_customers_are_not_listed(other_api, organization):
    CustomerFactory(organization=organization)
    assert other_api.get("/customers").json()["total"] == 0


@pytest.mark.parametrize("customer_id", [uuid.uuid4(), "not-a-uuid"])
def test_unknown_or_malformed_id_is_404(api, customer_id):
    assert api.get(f"/customers/{customer_id}").status_code == 404


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_customers_need_a_token(anonymous, organization, method):
    customer = CustomerFactory(organization=organization)
    path = "/customers" if method == "get" else f"/customers/{customer.id}"
    assert getattr(anonymous, method)(path).status_code == 401
