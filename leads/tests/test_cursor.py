"""Keyset pagination: `?cursor=` walks a sorted list without skipping or repeating rows."""

import base64
import json

import pytest

from leads.models import SORTABLE_FIELDS, Lead
from leads.tests.factories import LeadFactory
from leadsite.api import PageLimitPagination

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(organization):
    """25 leads with ties and nulls in the sort fields."""
    return [
        LeadFactory(
            organization=organization,
            name=f"Lead {i % 7}",
            score=None if i % 4 == 0 else i % 5 * 10,
            email=None if i % 6 == 0 else f"lead{i}@example.com",
            company=None if i % 3 == 0 else f"Company {i % 4}",
            source=["website", "referral", None][i % 3],
        )
        for i in range(25)
    ]


def walk(api, query, limit, between_pages=None):
    """Follow nextCursor from `?cursor=` (the top) to the end; returns the ids in order."""
    ids, cursor, pages = [], "", 0
    while cursor is not None:
        response = api.get(f"/leads?limit={limit}&cursor={cursor}{query}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"data", "limit", "nextCursor"}
        ids += [lead["id"] for lead in body["data"]]
        cursor = body["nextCursor"]
        pages += 1
        assert pages < 100
        if between_pages:
            between_pages()
    return ids


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort_field", SORTABLE_FIELDS)
def test_walking_gives_every_lead_once_in_the_same_order_as_one_big_page(api, leads, sort_field, order):
    query = f"&sortField={sort_field}&sortOrder={order}"
    everything = [lead["id"] for lead in api.get(f"/leads?limit=100{query}").json()["data"]]
    assert len(everything) == 25

    assert walk(api, query, limit=4) == everything


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort_field", SORTABLE_FIELDS)
def test_numbered_pages_give_nulls_last_and_ties_by_id(api, leads, sort_field, order):
    """A descending sort of a nullable field is two walks (values, then nulls): pages across the seam,
    and pages that start among the nulls, still give the one order."""
    rows = list(Lead.objects.values_list(SORTABLE_FIELDS[sort_field], "id"))
    values = sorted((row for row in rows if row[0] is not None), reverse=order == "desc")
    nulls = sorted((row for row in rows if row[0] is None), key=lambda row: row[1], reverse=order == "desc")
    expected = [str(pk) for _, pk in values + nulls]

    query = f"&sortField={sort_field}&sortOrder={order}"
    pages = [api.get(f"/leads?limit=4&page={page}{query}").json()["data"] for page in range(1, 8)]

    assert [lead["id"] for page in pages for lead in page] == expected


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort_field", ["score", "company", "createdAt"])
def test_rows_inserted_between_pages_skip_nothing_and_repeat_nothing(api, organization, leads, sort_field, order):
    inserted = []

    def insert_some():
        inserted.extend(
            LeadFactory(organization=organization, score=s, company=c)
            for s, c in [(None, None), (0, "Company 0"), (30, "Company 2"), (100, "Zeta")]
        )

    ids = walk(api, f"&sortField={sort_field}&sortOrder={order}", limit=5, between_pages=insert_some)

    assert len(ids) == len(set(ids))
    assert {str(lead.id) for lead in leads} <= set(ids)
    assert set(ids) <= {str(lead.id) for lead in leads + inserted}


def test_rows_deleted_between_pages_do_not_break_the_walk(api, leads):
    first = api.get("/leads?limit=5&cursor=&sortField=score").json()
    last_id = first["data"][-1]["id"]
    assert api.delete(f"/leads/{last_id}").status_code == 204

    response = api.get(f"/leads?limit=100&cursor={first['nextCursor']}&sortField=score")

    assert response.status_code == 200
    seen = [lead["id"] for lead in first["data"]] + [lead["id"] for lead in response.json()["data"]]
    assert len(seen) == len(set(seen)) == 25


def test_page_responses_keep_the_spec_keys_and_a_cursor_walk_gives_the_same_rows(api, leads):
    page1 = api.get("/leads?limit=10&sortField=name").json()
    page2 = api.get("/leads?limit=10&page=2&sortField=name").json()

    assert set(page1) == {"data", "total", "page", "limit", "totalPages"}
    first = api.get("/leads?limit=10&sortField=name&cursor=").json()
    assert first["data"] == page1["data"]
    by_cursor = api.get(f"/leads?limit=10&sortField=name&cursor={first['nextCursor']}").json()
    assert by_cursor["data"] == page2["data"]


def test_the_last_page_has_no_next_cursor(api, leads):
    assert api.get("/leads?limit=25&cursor=").json()["nextCursor"] is None
    assert api.get("/leads?limit=100&cursor=").json()["nextCursor"] is None


def test_by_source_and_assigned_to_walk_too(api, organization, user):
    LeadFactory.create_batch(7, organization=organization, source="fair", assigned_to=user)
    for url in ["/leads/by-source/fair", f"/leads/assigned-to/{user.id}"]:
        first = api.get(f"{url}?limit=4&cursor=").json()
        rest = api.get(f"{url}?limit=4&cursor={first['nextCursor']}").json()
        assert len({lead["id"] for lead in first["data"] + rest["data"]}) == 7
        assert rest["nextCursor"] is None


def encode(payload):
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "%%%",
        encode({"a": 1}),
        encode(["createdAt", "desc", "yesterday", "00000000-0000-0000-0000-000000000000"]),
        encode(["createdAt", "desc", "2025-01-01T00:00:00+00:00", "not-a-uuid"]),
        encode(["createdAt", "desc"]),
    ],
)
def test_a_bad_cursor_is_a_400_naming_cursor(api, leads, cursor):
    response = api.get(f"/leads?cursor={cursor}")

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "cursor"


def test_a_cursor_only_works_with_its_own_sort(api, leads):
    cursor = api.get("/leads?limit=5&sortField=score&sortOrder=asc&cursor=").json()["nextCursor"]

    for query in ["", "&sortField=score", "&sortField=name&sortOrder=asc"]:
        response = api.get(f"/leads?cursor={cursor}{query}")
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "cursor"
    assert api.get(f"/leads?cursor={cursor}&sortField=score&sortOrder=asc").status_code == 200


def test_another_organizations_cursor_shows_only_your_leads(api, other_api, leads, other_organization):
    LeadFactory.create_batch(3, organization=other_organization)
    cursor = api.get("/leads?limit=2&cursor=").json()["nextCursor"]

    response = other_api.get(f"/leads?cursor={cursor}")

    assert response.status_code == 200
    assert not {lead["id"] for lead in response.json()["data"]} & {str(lead.id) for lead in leads}


def test_small_totals_are_exact(api, leads):
    body = api.get("/leads").json()

    assert body["total"] == 25
    assert "totalIsEstimate" not in body


@pytest.mark.postgres
def test_big_totals_are_estimates_and_say_so(api, leads, monkeypatch):
    monkeypatch.setattr(PageLimitPagination, "exact_count_up_to", 10)

    body = api.get("/leads?limit=5&page=3").json()

    assert body["totalIsEstimate"] is True
    assert body["total"] > 10
    assert len(body["data"]) == 5
