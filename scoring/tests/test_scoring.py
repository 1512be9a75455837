"""Lead scoring as users meet it: the model's API, the explanation, every write path, isolation, retraining."""

import io
import json
import math
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from conftest import client_for
from leads.models import Lead
from leads.services import SCORING_ATTRIBUTES, lead_reassign
from leads.tests.factories import LeadFactory
from organizations.models import Organization, User
from organizations.tests.factories import UserFactory
from scoring import features, services
from scoring.models import KEEP_VERSIONS, ScoringModel
from scoring.predictor import forget_models, model_for
from scoring.tasks import train_scoring_model
from scoring.tests.planted import planted_leads

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_models():
    forget_models()
    yield
    forget_models()


@pytest.fixture
def planted(organization):
    return planted_leads(organization, resolved=600, open_=40)


@pytest.fixture
def ready(organization, planted):
    row = services.train_now(organization=organization)
    organization.refresh_from_db()
    assert row.status == ScoringModel.Status.READY
    return row


def attributes(lead):
    return {name: getattr(lead, name) for name in SCORING_ATTRIBUTES}


def expected_score(organization, lead):
    organization.refresh_from_db()
    return model_for(organization).score(attributes(lead))


def open_lead(organization, **fields):
    return Lead.objects.for_organization(organization).filter(status="new", **fields).order_by("pk").first()


def logit(p):
    return math.log(p / (1 - p))


# -- GET /scoring/model ------------------------------------------------------------------------------


def test_never_trained_is_a_404_saying_how_to_train(api):
    response = api.get("/scoring/model")
    assert response.status_code == 404
    assert response.json()["details"][0]["code"] == "no_scoring_model"
    assert "POST /scoring/model/train" in response.json()["details"][0]["message"]


def test_a_ready_model_shows_its_data_and_quality(api, ready):
    body = api.get("/scoring/model").json()
    assert body["status"] == "ready"
    assert body["version"] == 1
    assert body["trainedAt"].endswith("Z")
    assert body["counts"]["leads"] == 600
    assert body["counts"]["converted"] + body["counts"]["unqualified"] == 600
    assert body["needed"] is None
    quality = body["quality"]
    assert 0.5 < quality["rocAuc"] <= 1
    assert quality["brier"] < quality["baselineBrier"]
    assert [row["bin"] for row in quality["calibration"]][:2] == ["0-10%", "10-20%"]
    assert len(quality["calibration"]) == 10
    assert sum(row["count"] for row in quality["calibration"]) == quality["heldOutLeads"] == 120
    assert body["featureSet"] == features.FEATURE_SET and body["format"] == features.FORMAT
    assert body["topFactors"] and {"feature", "value", "effect", "leads"} <= set(body["topFactors"][0])
    effects = [abs(factor["effect"]) for factor in body["topFactors"]]
    assert effects == sorted(effects, reverse=True)
    assert body["problem"] is None


def test_below_the_minimum_there_is_no_model_and_no_prediction(api, organization):
    planted_leads(organization, resolved=150, open_=5)
    row = services.train_now(organization=organization)

    body = api.get("/scoring/model").json()
    assert row.status == body["status"] == "insufficient_data"
    converted, unqualified = body["counts"]["converted"], body["counts"]["unqualified"]
    assert body["needed"] == {
        "leads": 50,
        "converted": max(0, 20 - converted),
        "unqualified": max(0, 20 - unqualified),
    }
    assert body["quality"] is None
    lead = open_lead(organization)
    assert api.get(f"/leads/{lead.pk}").json()["predictedScore"] is None
    response = api.get(f"/leads/{lead.pk}/prediction")
    assert response.status_code == 409
    assert response.json()["details"][0]["code"] == "no_scoring_model"


def test_each_outcome_needs_20(organization):
    planted_leads(organization, resolved=400, open_=0)
    Lead.objects.filter(status="converted").exclude(
        pk__in=list(Lead.objects.filter(status="converted").values_list("pk", flat=True)[:19])
    ).update(status="unqualified", converted_at=None, converted_customer=None)
    row = services.train_now(organization=organization)
    assert row.status == "insufficient_data"
    assert row.counts["needed"] == {"leads": 0, "converted": 1, "unqualified": 0}


# -- The explanation -------------------------------------------------------------------------------


def test_the_explanation_adds_up_for_every_open_lead(api, organization, ready):
    for lead in Lead.objects.for_organization(organization).filter(status="new"):
        body = api.get(f"/leads/{lead.pk}/prediction").json()
        total = body["baseline"] + sum(factor["effect"] for factor in body["factors"])
        assert abs(total - logit(body["probability"])) < 1e-9
        assert body["predictedScore"] == math.floor(100 * body["probability"] + 0.5) == lead.predicted_score
        assert body["modelVersion"] == 1 and body["trainedAt"].endswith("Z")
        assert [f["feature"] for f in body["factors"]] != [] and len(body["factors"]) == len(ready.features)
        effects = [abs(factor["effect"]) for factor in body["factors"]]
        assert effects == sorted(effects, reverse=True)


def test_the_factors_are_the_leads_own(api, organization, ready):
    lead = open_lead(organization, phone__isnull=False)
    factors = {f["feature"]: f["value"] for f in api.get(f"/leads/{lead.pk}/prediction").json()["factors"]}
    assert factors["source"] == lead.source
    assert factors["hasPhone"] == "yes"
    assert factors["customFields.industry"] == lead.custom_fields["industry"]


@pytest.mark.parametrize("status", ["converted", "unqualified"])
def test_a_resolved_lead_has_nothing_to_explain(api, organization, ready, status):
    lead = Lead.objects.for_organization(organization).filter(status=status).first()
    response = api.get(f"/leads/{lead.pk}/prediction")
    assert response.status_code == 409
    assert response.json()["details"][0]["code"] == "lead_resolved"
    assert api.get(f"/leads/{lead.pk}").json()["predictedScore"] is None


def test_another_organizations_lead_is_404(other_api, organization, ready):
    lead = open_lead(organization)
    assert other_api.get(f"/leads/{lead.pk}/prediction").status_code == 404


# -- No leakage: what is written at or after the outcome changes nothing -----------------------------


def test_status_contact_and_notes_do_not_move_the_prediction(api, organization, ready):
    lead = open_lead(organization)
    before = api.get(f"/leads/{lead.pk}/prediction").json()
    for change in (
        {"status": "contacted"},
        {"status": "qualified"},
        {"lastContactedAt": "2026-01-02T03:04:05.000Z"},
        {"notes": "Called twice, very keen"},
        {"isActive": False},
    ):
        assert api.patch(f"/leads/{lead.pk}", change, format="json").status_code == 200
        assert api.get(f"/leads/{lead.pk}/prediction").json() == before, change
        assert api.get(f"/leads/{lead.pk}").json()["predictedScore"] == before["predictedScore"]


def test_converting_clears_and_unconverting_restores_it(api, organization, ready):
    lead = open_lead(organization)
    score = lead.predicted_score
    assert score is not None
    assert api.post(f"/leads/{lead.pk}/convert-to-customer", {}, format="json").status_code == 201
    assert api.get(f"/leads/{lead.pk}").json()["predictedScore"] is None
    assert api.post(f"/leads/{lead.pk}/unconvert").status_code == 200
    assert api.get(f"/leads/{lead.pk}").json()["predictedScore"] == score
    assert api.patch(f"/leads/{lead.pk}", {"status": "unqualified"}, format="json").json()["predictedScore"] is None


# -- Every write path scores ------------------------------------------------------------------------


NEW_LEAD = {
    "name": "Fresh",
    "email": "fresh@gmail.com",
    "phone": "555-0199",
    "source": "referral",
    "customFields": {"industry": "Technology"},
}


def test_api_create_and_update_score_the_lead(api, organization, ready):
    created = api.post("/leads", NEW_LEAD, format="json").json()
    lead = Lead.objects.get(pk=created["id"])
    assert created["predictedScore"] == lead.predicted_score == expected_score(organization, lead)
    patched = api.patch(f"/leads/{lead.pk}", {"source": "cold_call", "email": "ceo@acme-corp.com"}, format="json")
    lead.refresh_from_db()
    assert patched.json()["predictedScore"] == lead.predicted_score == expected_score(organization, lead)
    assert patched.json()["predictedScore"] != created["predictedScore"]
    put = api.put(f"/leads/{lead.pk}", {"name": "Fresh", "customFields": {"industry": "Education"}}, format="json")
    lead.refresh_from_db()
    assert put.json()["predictedScore"] == lead.predicted_score == expected_score(organization, lead)
    history = api.get(f"/leads/{lead.pk}/history").json()["data"]
    assert all("predictedScore" not in entry["changes"] for entry in history)


def test_batch_create_and_update_score_the_leads(api, organization, ready):
    inputs = [
        {**NEW_LEAD, "email": f"b{n}@gmail.com", "source": source} for n, source in enumerate(["referral", "cold_call"])
    ]
    body = api.post("/leads/batch/create", {"inputs": inputs}, format="json").json()
    for result in body["results"]:
        lead = Lead.objects.get(pk=result["id"])
        assert result["lead"]["predictedScore"] == lead.predicted_score == expected_score(organization, lead)
    first = body["results"][0]["id"]
    update = api.post("/leads/batch/update", {"inputs": [{"id": first, "phone": None}]}, format="json").json()
    lead = Lead.objects.get(pk=first)
    assert update["results"][0]["lead"]["predictedScore"] == lead.predicted_score == expected_score(organization, lead)


def test_import_scores_new_and_updated_leads(tmp_path, organization, ready):
    path = tmp_path / "leads.csv"
    path.write_text(
        "name,email,phone,source\nImported,imp@acme-corp.com,555-0100,referral\nOther,o@gmail.com,,cold_call\n"
    )
    call_command("import_leads", str(path), "--organization", organization.slug, stdout=io.StringIO())
    for lead in Lead.objects.filter(name__in=["Imported", "Other"]):
        assert lead.predicted_score is not None
        assert lead.predicted_score == expected_score(organization, lead)
    path.write_text("name,email,source\nImported,imp@acme-corp.com,cold_call\n")
    call_command(
        "import_leads", str(path), "--organization", organization.slug, "--upsert", "email", stdout=io.StringIO()
    )
    lead = Lead.objects.get(name="Imported")
    assert lead.source == "cold_call" and lead.predicted_score == expected_score(organization, lead)


def test_merge_scores_the_survivor(api, organization, ready):
    survivor = LeadFactory(organization=organization, email=None, phone=None, source=None, custom_fields={})
    duplicate = LeadFactory(organization=organization, email="d@acme-corp.com", phone="555-0100", source="referral")
    response = api.post(f"/leads/{survivor.pk}/merge", {"duplicateIds": [str(duplicate.pk)]}, format="json")
    survivor.refresh_from_db()
    assert response.json()["predictedScore"] == survivor.predicted_score == expected_score(organization, survivor)


def test_admin_add_and_change_score_the_lead(organization, ready):
    staff = UserFactory(organization=organization, role=User.Role.ADMIN, is_staff=True)
    client = Client()
    client.force_login(staff)
    data = {"name": "Admin Lead", "status": "new", "source": "referral", "phone": "555", "custom_fields": "{}"}
    assert client.post(reverse("admin:leads_lead_add"), data).status_code == 302
    lead = Lead.objects.get(name="Admin Lead")
    assert lead.predicted_score == expected_score(organization, lead)
    change = {**data, "source": "cold_call", "is_active": "on"}
    client.post(reverse("admin:leads_lead_change", args=[lead.pk]), change)
    lead.refresh_from_db()
    assert lead.source == "cold_call" and lead.predicted_score == expected_score(organization, lead)


def test_leads_factory_scores_stay_null_without_a_model(api, organization):
    created = api.post("/leads", NEW_LEAD, format="json").json()
    assert created["predictedScore"] is None


def test_a_write_with_a_model_costs_no_more_queries_than_without(api, organization, planted):
    """Once the model is in the process, POST /leads queries as often with scoring as without."""

    def queries_of_a_create(email):
        with CaptureQueriesContext(connection) as queries:
            response = api.post("/leads", {**NEW_LEAD, "email": email}, format="json")
        assert response.status_code == 201
        return len(queries), response.json()["predictedScore"]

    without = queries_of_a_create("a@gmail.com")
    services.train_now(organization=organization)
    queries_of_a_create("warm@gmail.com")  # loads the model into this process once
    with_model = queries_of_a_create("b@gmail.com")
    assert without[1] is None and with_model[1] is not None
    assert with_model[0] == without[0]


def test_reassign_rescores_when_the_model_reads_the_assignee(organization, ready, user):
    row = ScoringModel.objects.get(organization=organization, version=1)
    rep, other = UserFactory(organization=organization), UserFactory(organization=organization)
    row.features = [*row.features, features.ASSIGNEE]
    row.coefficients = {**row.coefficients, features.ASSIGNEE: {str(other.pk): 2.0, features.NONE: 0.0}}
    row.save()
    forget_models()
    lead = LeadFactory(organization=organization, assigned_to=rep)
    before = expected_score(organization, lead)
    lead_reassign(organization=organization, from_user=rep, to_user=other, user=user)
    lead.refresh_from_db()
    assert lead.predicted_score == expected_score(organization, lead) > before


# -- Training: versions, re-scoring, refusal --------------------------------------------------------


def test_a_retrain_changes_the_version_and_rescores(api, organization, ready):
    lead = open_lead(organization, source="referral")
    before = lead.predicted_score
    # Referral leads stop converting: the next model thinks less of them.
    Lead.objects.for_organization(organization).filter(source="referral", status="converted").update(
        status="unqualified", converted_at=None, converted_customer=None
    )
    row = services.train_now(organization=organization)
    assert row.version == 2
    organization.refresh_from_db()
    assert organization.scoring_model_version == 2
    lead.refresh_from_db()
    assert lead.predicted_score < before
    body = api.get(f"/leads/{lead.pk}/prediction").json()
    assert (body["modelVersion"], body["predictedScore"]) == (2, lead.predicted_score)
    assert api.get("/scoring/model").json()["version"] == 2


def test_the_last_versions_are_kept(organization, ready):
    for _ in range(KEEP_VERSIONS + 1):
        services.train_now(organization=organization)
    versions = list(ScoringModel.objects.filter(organization=organization).values_list("version", flat=True))
    assert versions == list(range(KEEP_VERSIONS + 2, 2, -1))


def test_a_model_of_another_feature_set_is_refused_clearly(api, organization, ready):
    ScoringModel.objects.filter(organization=organization).update(feature_set="v0-old", format=0)
    forget_models()
    lead = open_lead(organization)
    response = api.get(f"/leads/{lead.pk}/prediction")
    assert response.status_code == 409
    detail = response.json()["details"][0]
    assert detail["code"] == "incompatible_scoring_model"
    assert "feature set 'v0-old'" in detail["message"] and "retrain" in detail["message"]
    assert "v0-old" in api.get("/scoring/model").json()["problem"]
    # Writes go on without it, never misreading it.
    assert api.post("/leads", NEW_LEAD, format="json").json()["predictedScore"] is None


# -- POST /scoring/model/train ---------------------------------------------------------------------


def test_admins_train_in_the_worker(api, organization, planted):
    response = api.post("/scoring/model/train")
    assert response.status_code == 202
    assert response.json()["status"] == "training"
    assert api.get("/scoring/model").json()["status"] == "training"
    assert api.post("/scoring/model/train").status_code == 202  # a double click starts nothing more
    (task,) = DBTaskResult.objects.filter(task_path="scoring.tasks.train_scoring_model")
    train_scoring_model.call(*task.args_kwargs["args"])  # what the worker does
    body = api.get("/scoring/model").json()
    assert (body["status"], body["version"]) == ("ready", 1)
    assert open_lead(organization).predicted_score is not None


@pytest.mark.parametrize("role", [User.Role.SALES_REP, User.Role.READ_ONLY])
def test_only_admins_may_train(organization, planted, role):
    client = client_for(UserFactory(organization=organization, role=role))
    response = client.post("/scoring/model/train")
    assert response.status_code == 403
    assert not ScoringModel.objects.exists()
    assert client.get("/scoring/model").status_code == 404  # members may look


def test_the_command_trains_one_or_every_organization(organization, planted, other_organization):
    out = io.StringIO()
    call_command("train_lead_scores", "--organization", organization.slug, stdout=out)
    assert f"{organization.slug}: version 1 ready from 600 resolved leads" in out.getvalue()
    out = io.StringIO()
    call_command("train_lead_scores", stdout=out)
    assert f"{other_organization.slug}: version 1 insufficient_data" in out.getvalue()
    assert ScoringModel.objects.get(organization=organization, version=2).status == "ready"


def test_the_schedule_queues_what_is_due(organization, planted, other_organization, settings):
    settings.SCORING_RETRAIN_HOURS = 24
    queued = services.retrain_due()
    assert [row.organization_id for row in queued] == [organization.pk]  # the other has no resolved lead
    assert services.retrain_due() == []  # queued already
    row = queued[0]
    train_scoring_model.call(row.pk)
    assert services.retrain_due() == []  # trained just now
    ScoringModel.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert len(services.retrain_due()) == 1
    settings.SCORING_RETRAIN_HOURS = 0
    assert services.retrain_due(timezone.now() + timedelta(days=9)) == []


# -- Isolation --------------------------------------------------------------------------------------


def test_another_organizations_leads_change_nothing(organization, other_organization):
    planted_leads(organization, resolved=500, open_=20, seed=3)
    first = services.train_now(organization=organization)
    # The other organization's history says the opposite: it must not move this model.
    for _lead in planted_leads(other_organization, resolved=800, open_=20, seed=4):
        pass
    Lead.objects.filter(organization=other_organization, source="referral").update(
        status="unqualified", converted_at=None, converted_customer=None
    )
    second = services.train_now(organization=organization)
    assert json.dumps(second.coefficients, sort_keys=True) == json.dumps(first.coefficients, sort_keys=True)
    assert second.intercept == first.intercept and second.counts == first.counts
    assert not Lead.objects.filter(organization=other_organization, predicted_score__isnull=False).exists()
    assert Organization.objects.get(pk=other_organization.pk).scoring_model_version is None


def test_another_organization_sees_none_of_the_model(other_api, organization, ready):
    assert other_api.get("/scoring/model").status_code == 404


def test_deleting_a_customer_scores_its_leads_again(api, organization, ready):
    lead = open_lead(organization)
    score = lead.predicted_score
    customer_id = api.post(f"/leads/{lead.pk}/convert-to-customer", {}, format="json").json()["customerId"]
    assert api.delete(f"/customers/{customer_id}").status_code == 204
    lead.refresh_from_db()
    assert (lead.status, lead.predicted_score) == ("qualified", score)
