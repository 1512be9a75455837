"""predictedScore on every lead the API shows, its sort and its filters (the model behind it: scoring/)."""

import pytest

from leads.models import Lead
from leads.tests.factories import LeadFactory
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["data"]]


@pytest.fixture
def rep(organization):
    return UserFactory(organization=organization)


@pytest.fixture
def scored(organization, rep):
    """Leads with predicted scores 10, 40, 70, 95 and one without, all from the website and assigned to `rep`."""
    return {
        score: LeadFactory(organization=organization, predicted_score=score, assigned_to=rep, source="website")
        for score in (10, 40, 70, 95, None)
    }


def test_every_lead_shows_its_predicted_score_null_without_a_model(api, organization, rep):
    lead = LeadFactory(organization=organization, assigned_to=rep)
    paths = ["/leads", "/leads/by-source/website", f"/leads/assigned-to/{rep.pk}"]
    for path in paths:
        (row,) = api.get(path).json()["data"]
        assert row["predictedScore"] is None, path
    assert api.get(f"/leads/{lead.pk}").json()["predictedScore"] is None
    body = api.post("/leads/batch/read", {"inputs": [{"id": str(lead.pk)}]}, format="json").json()
    assert body["results"][0]["lead"]["predictedScore"] is None


def test_a_stored_predicted_score_is_shown_everywhere(api, scored, rep):
    lead = scored[70]
    assert api.get(f"/leads/{lead.pk}").json()["predictedScore"] == 70
    for path in ["/leads?sortField=predictedScore", "/leads/by-source/website", f"/leads/assigned-to/{rep.pk}"]:
        shown = {row["id"]: row["predictedScore"] for row in api.get(path).json()["data"]}
        assert shown[str(lead.pk)] == 70, path


def test_clients_cannot_write_it(api, organization):
    """Like the other read-only fields it is accepted (a GET's body sent back) and ignored."""
    created = api.post("/leads", {"name": "Ada", "predictedScore": 99}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["predictedScore"] is None
    lead_id = created.json()["id"]
    assert api.patch(f"/leads/{lead_id}", {"predictedScore": 99}, format="json").json()["predictedScore"] is None
    assert Lead.objects.get(pk=lead_id).predicted_score is None


@pytest.mark.parametrize("path", ["/leads", "/leads/by-source/website", "/leads/assigned-to/{rep}"])
def test_sorting_by_predicted_score_keeps_leads_without_one_last(api, scored, rep, path):
    path = path.format(rep=rep.pk)
    ascending = ids(api.get(f"{path}?sortField=predictedScore&sortOrder=asc"))
    descending = ids(api.get(f"{path}?sortField=predictedScore&sortOrder=desc"))
    by_score = {str(lead.pk): score for score, lead in scored.items()}
    assert [by_score[i] for i in ascending] == [10, 40, 70, 95, None]
    assert [by_score[i] for i in descending] == [95, 70, 40, 10, None]


def test_sorting_by_predicted_score_pages_by_cursor(api, scored):
    first = api.get("/leads?sortField=predictedScore&sortOrder=desc&limit=2&cursor=").json()
    second = api.get(f"/leads?sortField=predictedScore&sortOrder=desc&limit=2&cursor={first['nextCursor']}").json()
    third = api.get(f"/leads?sortField=predictedScore&sortOrder=desc&limit=2&cursor={second['nextCursor']}").json()
    scores = [row["predictedScore"] for page in (first, second, third) for row in page["data"]]
    assert scores == [95, 70, 40, 10, None]


@pytest.mark.parametrize("path", ["/leads", "/leads/by-source/website", "/leads/assigned-to/{rep}"])
def test_predicted_score_range_filters(api, scored, rep, path):
    path = path.format(rep=rep.pk)

    def scores(query):
        by_score = {str(lead.pk): score for score, lead in scored.items()}
        return sorted(by_score[i] for i in ids(api.get(f"{path}?{query}")))

    assert scores("predictedScoreMin=40") == [40, 70, 95]
    assert scores("predictedScoreMax=40") == [10, 40]
    assert scores("predictedScoreMin=40&predictedScoreMax=70") == [40, 70]
    assert scores("predictedScoreMin=0") == [10, 40, 70, 95]  # a lead without a prediction is in no range


@pytest.mark.parametrize("query", ["predictedScoreMin=high", "predictedScoreMax=0.5", "predictedScoreMin=1e3"])
def test_a_bad_range_is_a_400_naming_the_parameter(api, query):
    response = api.get(f"/leads?{query}")
    assert response.status_code == 400
    assert [(d["field"], d["message"]) for d in response.json()["details"]] == [
        (query.split("=")[0], "Must be a whole number.")
    ]


def test_every_mistake_in_one_answer(api):
    response = api.get("/leads?predictedScoreMin=x&predictedScoreMax=y&scoreMin=z")
    assert response.status_code == 400
    assert {d["field"] for d in response.json()["details"]} == {"predictedScoreMin", "predictedScoreMax", "scoreMin"}


@pytest.mark.parametrize("query", ["predictedScoreMin=29333404044", "predictedScoreMax=-25731808"])
def test_a_range_beyond_the_column_is_an_empty_list(api, scored, query):
    response = api.get(f"/leads?{query}")
    assert response.status_code == 200
    assert (response.json()["data"], response.json()["total"]) == ([], 0)


def test_an_unknown_sort_field_names_predicted_score_among_the_allowed(api):
    response = api.get("/leads?sortField=predicted")
    assert response.status_code == 400
    assert "predictedScore" in response.json()["details"][0]["message"]


def test_another_organizations_predicted_scores_stay_out(api, scored, other_organization):
    LeadFactory(organization=other_organization, predicted_score=50)
    assert len(ids(api.get("/leads?predictedScoreMin=0"))) == 4
