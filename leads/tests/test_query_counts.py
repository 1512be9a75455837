"""SQL queries per request for every lead endpoint, pinned: the same count at two page sizes.

Counts include authentication (one query: the user with its organization) and, for writes,
the transaction's BEGIN/COMMIT (or SAVEPOINT/RELEASE inside a test's transaction), which Django
logs as queries too. Reads stay within 4. A write's count does not grow with the number of
rows it touches.
"""

import pytest
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from leads.models import SORTABLE_FIELDS, Lead
from leads.tests.factories import LeadFactory
from leadsite.api import PageLimitPagination
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGE_SIZES = [5, 25]


@pytest.fixture
def rep(organization):
    return UserFactory(organization=organization)


@pytest.fixture
def leads(organization, rep):
    """60 leads of all kinds, some fields null, more than twice either page size."""
    return [
        LeadFactory(
            organization=organization,
            assigned_to=rep if i % 3 else None,
            source="website" if i % 2 else None,
            score=None if i % 4 == 0 else i,
            predicted_score=None if i % 4 == 1 else i,
            email=None if i % 5 == 0 else f"lead{i}@example.com",
            status=["new", "contacted", "qualified"][i % 3],
            last_contacted_at=timezone.now() if i % 2 else None,
        )
        for i in range(60)
    ]


def rows(response):
    assert response.status_code == 200, response.content
    return response.json()["data"]


@pytest.mark.parametrize("limit", PAGE_SIZES)
@pytest.mark.parametrize(
    "query",
    [
        "",
        "&page=2",
        "&status=new,contacted&source=website&scoreMin=10&scoreMax=70&isActive=true",
        "&createdAfter=2020-01-01T00:00:00Z&createdBefore=2100-01-01T00:00:00Z&lastContactedBefore=2100-01-01T00:00:00Z",
        "&q=lead1",
    ],
)
def test_list_counts_then_fetches_one_page(api, leads, django_assert_num_queries, limit, query):
    # authentication, count, page
    with django_assert_num_queries(3):
        rows(api.get(f"/leads?limit={limit}{query}"))


@pytest.mark.parametrize("limit", PAGE_SIZES)
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort_field", SORTABLE_FIELDS)
def test_every_sort_costs_the_same(api, leads, django_assert_num_queries, limit, order, sort_field):
    with django_assert_num_queries(3):
        assert len(rows(api.get(f"/leads?limit={limit}&sortField={sort_field}&sortOrder={order}"))) == limit


@pytest.mark.parametrize("limit", PAGE_SIZES)
def test_cursor_page_is_one_query_after_authentication(api, leads, django_assert_num_queries, limit):
    with django_assert_num_queries(2):
        first = api.get(f"/leads?limit={limit}&cursor=").json()
    with django_assert_num_queries(2):
        assert len(rows(api.get(f"/leads?limit={limit}&cursor={first['nextCursor']}"))) == limit


@pytest.mark.parametrize("limit", PAGE_SIZES)
def test_cursor_page_reaching_the_null_values_adds_one_query(api, leads, django_assert_num_queries, limit):
    # 45 leads have a score; a page starting 5 before their end continues into the 15 without.
    cursor = api.get("/leads?limit=40&sortField=score&sortOrder=asc&cursor=").json()["nextCursor"]
    with django_assert_num_queries(3):
        page = rows(api.get(f"/leads?limit={limit}&sortField=score&sortOrder=asc&cursor={cursor}"))
    assert len(page) == min(limit, 20)


@pytest.mark.postgres
@pytest.mark.parametrize("limit", PAGE_SIZES)
def test_a_big_list_estimates_its_total_in_the_same_query(api, leads, django_assert_num_queries, monkeypatch, limit):
    monkeypatch.setattr(PageLimitPagination, "exact_count_up_to", 10)
    # authentication, planner estimate with the capped count, page
    with django_assert_num_queries(3):
        body = api.get(f"/leads?limit={limit}").json()
    assert body["totalIsEstimate"] is True
    assert len(body["data"]) == limit


def test_detail(api, leads, django_assert_num_queries):
    with django_assert_num_queries(2):
        api.get(f"/leads/{leads[0].id}")


@pytest.mark.parametrize("limit", PAGE_SIZES)
def test_by_source(api, leads, django_assert_num_queries, limit):
    with django_assert_num_queries(3):
        assert len(rows(api.get(f"/leads/by-source/website?limit={limit}"))) == limit


@pytest.mark.parametrize("limit", PAGE_SIZES)
def test_assigned_to(api, leads, rep, django_assert_num_queries, limit):
    # The assignee is looked up only when it has no leads (see the next test).
    with django_assert_num_queries(3):
        assert len(rows(api.get(f"/leads/assigned-to/{rep.id}?limit={limit}"))) == limit


def test_assigned_to_without_leads_looks_the_assignee_up(
    api, leads, organization, other_user, django_assert_num_queries
):
    idle = UserFactory(organization=organization)
    with django_assert_num_queries(3):
        assert rows(api.get(f"/leads/assigned-to/{idle.id}")) == []
    with django_assert_num_queries(3):
        assert api.get(f"/leads/assigned-to/{other_user.id}").status_code == 404


@pytest.mark.parametrize("top", [1, 50])
def test_scoring_stats(api, leads, django_assert_num_queries, top):
    # authentication, the aggregate, the top scorers
    with django_assert_num_queries(3):
        assert api.get(f"/leads/stats/scoring?top={top}").status_code == 200


@pytest.mark.parametrize("limit", PAGE_SIZES)
def test_duplicates(api, organization, django_assert_num_queries, limit):
    for i in range(30):
        LeadFactory.create_batch(2, organization=organization, email=f"twin{i}@example.com", phone=f"555-000-{i:04d}")
    # authentication, count, the groups, their leads
    with django_assert_num_queries(4):
        assert len(rows(api.get(f"/leads/duplicates?limit={limit}"))) == limit


@pytest.mark.parametrize("limit", PAGE_SIZES)
def test_history(api, leads, django_assert_num_queries, limit):
    lead = leads[0]
    for i in range(30):
        assert api.put(f"/leads/{lead.id}", {"score": i}, format="json").status_code == 200
    # authentication, the lead, count, page
    with django_assert_num_queries(4):
        assert len(rows(api.get(f"/leads/{lead.id}/history?limit={limit}"))) == limit


# Writes: BEGIN and COMMIT (here SAVEPOINT and RELEASE) are two of the counted queries, and one looks up
# the organization's webhooks for the fan-out (webhooks.services). Each write
# inserts its events (events/) in one INSERT beside the history's, whatever the number of events.


def test_create(api, rep, django_assert_num_queries):
    # authentication, BEGIN, routing's read of the organization's pools (routing/; none here), INSERT lead,
    # INSERT history, INSERT event, COMMIT
    with django_assert_num_queries(8):
        assert api.post("/leads", {"name": "Ada"}, format="json").status_code == 201
    # An explicit assignee: the assignee's lookup instead of routing
    with django_assert_num_queries(8):
        assert api.post("/leads", {"name": "Ada", "assignedTo": str(rep.id)}, format="json").status_code == 201


def test_update(api, leads, user, django_assert_num_queries):
    # authentication, the lead, BEGIN, the lead's lock (SELECT ... FOR UPDATE), UPDATE, INSERT history,
    # INSERT event, COMMIT
    with django_assert_num_queries(9):
        assert api.put(f"/leads/{leads[1].id}", {"name": "Ada"}, format="json").status_code == 200
    with django_assert_num_queries(10):
        assert api.put(f"/leads/{leads[1].id}", {"assignedTo": str(user.id)}, format="json").status_code == 200


def test_delete(api, leads, django_assert_num_queries):
    with django_assert_num_queries(9):
        assert api.delete(f"/leads/{leads[1].id}").status_code == 204


def test_convert(api, leads, django_assert_num_queries):
    lead = next(lead for lead in leads if lead.status == "qualified")
    # customer.created and lead.converted in one INSERT
    with django_assert_num_queries(12):
        assert api.post(f"/leads/{lead.id}/convert-to-customer", {}, format="json").status_code == 201


@pytest.mark.parametrize("duplicates", [1, 5])
def test_merge(api, organization, django_assert_num_queries, duplicates):
    keep, *others = LeadFactory.create_batch(duplicates + 1, organization=organization, email="same@example.com")
    body = {"duplicateIds": [str(lead.id) for lead in others]}
    with django_assert_num_queries(11):
        assert api.post(f"/leads/{keep.id}/merge", body, format="json").status_code == 200
    assert Lead.objects.filter(email="same@example.com").count() == 1


@pytest.mark.parametrize("moved", [2, 20])
def test_reassign(api, organization, user, rep, django_assert_num_queries, moved):
    LeadFactory.create_batch(moved, organization=organization, assigned_to=rep)
    body = {"fromUserId": str(rep.id), "toUserId": str(user.id)}
    # authentication, both users, the count that decides now or as a job, the target's lock,
    # UPDATE ... RETURNING, INSERT history, INSERT events (+ transaction)
    with django_assert_num_queries(11):
        assert api.post("/leads/reassign", body, format="json").json() == {"reassigned": moved}


def test_patch(api, leads, django_assert_num_queries):
    # as test_update: + the lead's lock
    with django_assert_num_queries(9):
        assert api.patch(f"/leads/{leads[1].id}", {"score": 3}, format="json").status_code == 200


def test_convert_into_an_existing_customer(api, leads, organization, django_assert_num_queries):
    lead = next(lead for lead in leads if lead.status == "qualified")
    customer = CustomerFactory(organization=organization)
    # customer.updated (its phone filled) and lead.converted in one INSERT
    with django_assert_num_queries(12):
        response = api.post(f"/leads/{lead.id}/convert-to-customer", {"customerId": str(customer.id)}, format="json")
    assert response.status_code == 200


def test_create_with_an_idempotency_key_and_its_replay(api, django_assert_num_queries, django_assert_max_num_queries):
    body = {"name": "Ada", "email": "ada@example.com"}
    # 15 on SQLite, 16 on PostgreSQL (the key is claimed differently), routing's read of the pools included
    with django_assert_max_num_queries(17):
        assert api.post("/leads", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    # authentication, the stored response (+ its transaction)
    with django_assert_num_queries(4):
        assert api.post("/leads", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201


# Other lists on the same pagination: constant in the page size too.


@pytest.mark.parametrize("limit", PAGE_SIZES)
def test_customers(api, organization, django_assert_num_queries, limit):
    for customer in CustomerFactory.create_batch(30, organization=organization):
        LeadFactory(organization=organization, converted_customer=customer, status="converted")
    # authentication, count, page, the pages' lead ids
    with django_assert_num_queries(4):
        assert len(rows(api.get(f"/customers?limit={limit}"))) == limit


@pytest.mark.parametrize("limit", PAGE_SIZES)
def test_users(api, organization, django_assert_num_queries, limit):
    UserFactory.create_batch(30, organization=organization)
    with django_assert_num_queries(3):
        assert len(rows(api.get(f"/users?limit={limit}"))) == limit
