"""POST /leads/batch/{create,update,upsert,delete,read}: each input held to its single request's rules."""

import uuid

import pytest

from conftest import client_for
from events.models import Event
from leads.models import Lead, LeadHistory, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def events(organization, event_type=None):
    found = Event.objects.for_organization(organization).order_by("transaction_order", "created_at", "id")
    return [event for event in found if event_type is None or event.type == event_type]


def codes(result):
    return sorted((error.get("field"), error["code"]) for error in result["errors"])


def post(api, operation, body, **extra):
    return api.post(f"/leads/batch/{operation}", body, format="json", **extra)


# create ----------------------------------------------------------------------------------------


def test_create_writes_every_lead_with_history_and_events_as_post_leads_does(api, organization, user):
    rep = UserFactory(organization=organization, role=User.Role.SALES_REP)
    inputs = [
        {"name": "Ada", "email": "ada@example.com", "score": 70, "assignedTo": str(rep.pk)},
        {"name": "Grace", "customFields": {"industry": "Navy"}},
    ]

    response = post(api, "create", {"inputs": inputs})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["numErrors"] == 0
    assert [(r["index"], r["status"]) for r in body["results"]] == [(0, 201), (1, 201)]
    ada = Lead.objects.get(email="ada@example.com")
    assert body["results"][0]["id"] == str(ada.pk)
    assert body["results"][0]["lead"] == api.get(f"/leads/{ada.pk}").json()
    assert (ada.organization, ada.assigned_to, ada.score, ada.status) == (organization, rep, 70, "new")
    assert body["results"][1]["lead"]["customFields"] == {"industry": "Navy"}
    history = LeadHistory.objects.for_organization(organization).get(lead_id=ada.pk)
    assert (history.action, history.via, history.actor, history.changes["name"]) == (
        "created",
        "api",
        user,
        {"old": None, "new": "Ada"},
    )
    created = events(organization, "lead.created")
    assert [event.data for event in created] == [{"lead": result["lead"]} for result in body["results"]]
    assert {(event.actor_id, event.actor_via) for event in created} == {(user.pk, "api")}


def test_mixed_inputs_give_207_with_every_error_of_every_failing_input(api, organization):
    existing = LeadFactory(organization=organization, email="taken@example.com")
    inputs = [
        {"name": "Valid", "email": "new@example.com"},
        {"score": 500, "scroe": 1, "email": "not-an-email", "status": "won"},  # four mistakes
        {"name": "Taken", "email": "TAKEN@example.com"},  # an existing lead's email
        {"name": "Twice", "email": "NEW@example.com"},  # the first input's email
        {"name": "Converted", "status": "converted"},
        {"name": 5, "email": "taken@example.com"},  # invalid and a duplicate: both reported
        {"name": "Also valid"},
    ]

    response = post(api, "create", {"inputs": inputs})

    assert response.status_code == 207, response.content
    body = response.json()
    results = body["results"]
    assert [r["status"] for r in results] == [201, 400, 409, 409, 400, 400, 201]
    assert body["numErrors"] == 4 + 0 + 1  # inputs 1-5
    assert codes(results[1]) == [
        ("email", "invalid"),
        ("name", "required"),
        ("score", "out_of_range"),
        ("scroe", "unknown_parameter"),
        ("status", "invalid_choice"),
    ]
    assert results[2]["errors"] == [
        {
            "message": "A lead with the email 'TAKEN@example.com' already exists.",
            "field": "email",
            "code": "duplicate_email",
            "existingLeadId": str(existing.pk),
        }
    ]
    assert codes(results[3]) == [("email", "duplicate_email")]
    assert "Input 0 of this batch" in results[3]["errors"][0]["message"]
    assert codes(results[4]) == [("status", "use_convert_endpoint")]
    assert codes(results[5]) == [("email", "duplicate_email"), ("name", "invalid")]
    assert all("lead" not in r for r in results[1:6]) and all(r["id"] is None for r in results[1:6])
    names = set(Lead.objects.for_organization(organization).values_list("name", flat=True))
    assert names == {existing.name, "Valid", "Also valid"}
    assert len(events(organization, "lead.created")) == 2


def test_allow_duplicate_creates_leads_whose_email_is_taken(api, organization):
    LeadFactory(organization=organization, email="taken@example.com")
    inputs = [{"name": "A", "email": "taken@example.com"}, {"name": "B", "email": "taken@example.com"}]

    response = api.post("/leads/batch/create?allowDuplicate=true", {"inputs": inputs}, format="json")

    assert response.status_code == 201, response.content
    assert Lead.objects.for_organization(organization).filter(email="taken@example.com").count() == 3


def test_an_atomic_batch_with_failing_inputs_writes_nothing_and_lists_every_failing_input(api, organization):
    LeadFactory(organization=organization, email="taken@example.com")
    inputs = [
        {"name": "Valid"},
        {"name": "", "score": -1},
        {"name": "Taken", "email": "taken@example.com"},
        {"name": "Valid too"},
    ]

    response = post(api, "create", {"inputs": inputs, "atomic": True})

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["error"] == "Conflict"
    assert sorted((d["field"], d["code"]) for d in body["details"]) == [
        ("inputs[1].name", "blank"),
        ("inputs[1].score", "out_of_range"),
        ("inputs[2].email", "duplicate_email"),
    ]
    assert [r["status"] for r in body["results"]] == [424, 400, 409, 424]
    assert body["numErrors"] == 2
    assert Lead.objects.for_organization(organization).count() == 1
    assert events(organization) == []
    assert not LeadHistory.objects.for_organization(organization).exists()


def test_an_atomic_batch_that_succeeds_writes_everything(api, organization):
    response = post(api, "create", {"inputs": [{"name": "A"}, {"name": "B"}], "atomic": True})

    assert response.status_code == 201
    assert Lead.objects.for_organization(organization).count() == 2


# idempotency -----------------------------------------------------------------------------------


def test_an_idempotent_retry_returns_the_first_answer_without_writing_again(api, organization):
    body = {"inputs": [{"name": "A", "email": "a@example.com"}, {"name": ""}]}

    first = post(api, "create", body, HTTP_IDEMPOTENCY_KEY="sync-42")
    retry = post(api, "create", body, HTTP_IDEMPOTENCY_KEY="sync-42")
    other = post(api, "create", {"inputs": [{"name": "C"}]}, HTTP_IDEMPOTENCY_KEY="sync-42")

    assert first.status_code == retry.status_code == 207
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Lead.objects.for_organization(organization).count() == 1
    assert other.status_code == 422
    assert other.json()["details"][0]["code"] == "idempotency_key_reused"


def test_a_failed_atomic_batch_records_no_idempotency_key_so_its_retry_runs_again(api, organization):
    LeadFactory(organization=organization, email="taken@example.com")
    body = {"inputs": [{"name": "A", "email": "taken@example.com"}], "atomic": True}
    assert post(api, "create", body, HTTP_IDEMPOTENCY_KEY="k").status_code == 409

    Lead.objects.for_organization(organization).delete()
    retry = post(api, "create", body, HTTP_IDEMPOTENCY_KEY="k")

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry


def test_idempotency_key_works_on_every_batch_write(api, organization):
    lead = LeadFactory(organization=organization, score=10)
    body = {"inputs": [{"id": str(lead.pk), "score": 20}]}
    post(api, "update", body, HTTP_IDEMPOTENCY_KEY="u")
    post(api, "update", body, HTTP_IDEMPOTENCY_KEY="u")

    lead.refresh_from_db()
    assert (lead.score, lead.version) == (20, 2)
    assert len(events(organization, "lead.updated")) == 1


# roles, isolation, limits ----------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["create", "update", "upsert", "delete"])
def test_a_read_only_member_may_not_write_by_batch(organization, operation):
    lead = LeadFactory(organization=organization)
    reader = client_for(UserFactory(organization=organization, role=User.Role.READ_ONLY))
    body = {"inputs": [{"id": str(lead.pk), "name": "X", "email": "x@example.com"}], "idProperty": "id"}

    response = post(reader, operation, body)

    assert response.status_code == 403
    assert response.json()["details"][0]["code"] == "permission_denied"
    assert Lead.objects.get(pk=lead.pk).name == lead.name


def test_every_role_may_read_by_batch_and_a_sales_rep_may_write_but_not_delete(organization):
    lead = LeadFactory(organization=organization)
    reader = client_for(UserFactory(organization=organization, role=User.Role.READ_ONLY))
    rep = client_for(UserFactory(organization=organization, role=User.Role.SALES_REP))
    ids = {"inputs": [{"id": str(lead.pk)}]}

    assert post(reader, "read", ids).status_code == 200
    assert post(rep, "create", {"inputs": [{"name": "A"}]}).status_code == 201
    assert post(rep, "update", {"inputs": [{"id": str(lead.pk), "score": 1}]}).status_code == 200
    assert post(rep, "delete", ids).status_code == 403
    assert Lead.objects.filter(pk=lead.pk).exists()


@pytest.mark.parametrize("operation", ["update", "delete", "read"])
def test_another_organizations_lead_is_an_input_that_is_not_found(api, other_organization, operation):
    theirs = LeadFactory(organization=other_organization, name="Theirs", score=5)

    response = post(
        api, operation, {"inputs": [{"id": str(theirs.pk), **({"score": 99} if operation == "update" else {})}]}
    )

    assert response.status_code == 207
    (result,) = response.json()["results"]
    assert result["status"] == 404
    assert result["errors"] == [
        {"message": f"No lead with id '{theirs.pk}' in your organization.", "field": "id", "code": "not_found"}
    ]
    assert "Theirs" not in response.content.decode()
    theirs.refresh_from_db()
    assert (theirs.score, theirs.version) == (5, 1)
    assert not events(other_organization)


def test_upsert_by_id_of_another_organizations_lead_is_not_found_and_creates_nothing(
    api, organization, other_organization
):
    theirs = LeadFactory(organization=other_organization)

    response = post(api, "upsert", {"idProperty": "id", "inputs": [{"id": str(theirs.pk), "name": "Mine now"}]})

    assert response.json()["results"][0]["status"] == 404
    assert not Lead.objects.for_organization(organization).exists()


def test_upsert_by_email_never_touches_another_organizations_lead(api, organization, other_organization):
    theirs = LeadFactory(organization=other_organization, email="shared@example.com", name="Theirs")

    response = post(api, "upsert", {"idProperty": "email", "inputs": [{"email": "shared@example.com", "name": "Mine"}]})

    assert response.json()["results"][0]["status"] == 201
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    assert Lead.objects.for_organization(organization).get().name == "Mine"


@pytest.mark.parametrize("operation", ["create", "update", "upsert", "delete", "read"])
def test_more_than_100_inputs_is_a_413_that_says_the_limit(api, organization, operation):
    response = post(api, operation, {"inputs": [{"name": f"L{i}"} for i in range(101)], "idProperty": "id"})

    assert response.status_code == 413
    (detail,) = response.json()["details"]
    assert detail["code"] == "too_large"
    assert "at most 100 inputs" in detail["message"] and "101" in detail["message"]
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "body, field, code",
    [
        ({}, "inputs", "required"),
        ({"inputs": []}, "inputs", "too_short"),
        ({"inputs": {"name": "A"}}, "inputs", "invalid"),
        ({"inputs": ["A"]}, "inputs.0", "invalid"),
        ({"inputs": [{"name": "A"}], "atomic": "yes"}, "atomic", "invalid"),
        ({"inputs": [{"name": "A"}], "atomc": True}, "atomc", "unknown_parameter"),
    ],
)
def test_a_malformed_batch_is_a_400_and_writes_nothing(api, body, field, code):
    response = post(api, "create", body)

    assert response.status_code == 400, response.content
    assert (field, code) in [(d.get("field"), d["code"]) for d in response.json()["details"]]
    assert not Lead.objects.exists()


def test_upsert_needs_an_id_property(api):
    response = post(api, "upsert", {"inputs": [{"name": "A"}], "idProperty": "name"})

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "idProperty"
    assert response.json()["details"][0]["code"] == "invalid_choice"


@pytest.mark.parametrize("path", ["/leads/batch/create", "/leads/batch/create/"])
def test_both_forms_of_the_path_answer_without_a_redirect(api, path):
    assert api.post(path, {"inputs": [{"name": "A"}]}, format="json").status_code == 201


def test_an_unknown_query_parameter_is_refused(api):
    response = api.post("/leads/batch/update?force=true", {"inputs": [{"id": str(uuid.uuid4())}]}, format="json")

    assert response.status_code == 400
    assert response.json()["details"][0]["code"] == "unknown_parameter"


# update ----------------------------------------------------------------------------------------


def test_update_patches_each_lead_with_versions_history_and_events(api, organization, user):
    a = LeadFactory(organization=organization, score=10, custom_fields={"keep": 1, "drop": 2})
    b = LeadFactory(organization=organization, score=20)
    inputs = [
        {"id": str(a.pk), "version": 1, "score": 11, "customFields": {"drop": None, "new": 3}},
        {"id": str(b.pk), "name": b.name},  # no change: a new version, as PATCH gives, but no history or event
    ]

    response = post(api, "update", {"inputs": inputs})

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["status"], r["id"]) for r in results] == [(200, str(a.pk)), (200, str(b.pk))]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.score, a.custom_fields, a.version) == (11, {"keep": 1, "new": 3}, 2)
    assert b.version == 2
    assert results[0]["lead"] == api.get(f"/leads/{a.pk}").json()
    (entry,) = LeadHistory.objects.for_organization(organization).filter(action="updated")
    assert (entry.lead_id, entry.via, entry.actor) == (a.pk, "api", user)
    assert entry.changes["score"] == {"old": 10, "new": 11}
    (event,) = events(organization, "lead.updated")
    assert event.data == {"lead": results[0]["lead"], "changes": entry.changes}


def test_update_errors_per_input(api, organization):
    stale = LeadFactory(organization=organization, score=1)
    converted = LeadFactory(organization=organization, status=LeadStatus.CONVERTED)
    fine = LeadFactory(organization=organization, score=1)
    twice = LeadFactory(organization=organization)
    inputs = [
        {"id": str(stale.pk), "version": 7, "score": 2},
        {"id": str(converted.pk), "status": "new"},
        {"id": str(fine.pk), "status": "converted", "score": "high"},
        {"score": 3},
        {"id": "not-a-uuid", "version": "1"},
        {"id": str(twice.pk), "score": 4},
        {"id": str(twice.pk), "score": 5},
        {"id": str(uuid.uuid4()), "score": 101},
    ]

    response = post(api, "update", {"inputs": inputs})

    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == [412, 409, 400, 400, 400, 200, 409, 404]
    assert results[0]["errors"][0]["code"] == "precondition_failed"
    assert "it is now 1" in results[0]["errors"][0]["message"]
    assert results[0]["id"] == str(stale.pk)
    assert codes(results[1]) == [("status", "lead_converted")]
    assert codes(results[2]) == [("score", "invalid"), ("status", "use_convert_endpoint")]
    assert codes(results[3]) == [("id", "required")]
    assert codes(results[4]) == [("id", "invalid"), ("version", "invalid")]
    assert codes(results[6]) == [("id", "conflict")]
    assert codes(results[7]) == [("id", "not_found"), ("score", "out_of_range")]
    assert Lead.objects.get(pk=stale.pk).score == 1
    assert Lead.objects.get(pk=twice.pk).score == 4
    assert Lead.objects.get(pk=converted.pk).status == "converted"


def test_a_failed_atomic_update_changes_no_lead(api, organization):
    a = LeadFactory(organization=organization, score=1)
    response = post(
        api, "update", {"atomic": True, "inputs": [{"id": str(a.pk), "score": 2}, {"id": str(uuid.uuid4())}]}
    )

    assert response.status_code == 409
    assert [r["status"] for r in response.json()["results"]] == [424, 404]
    a.refresh_from_db()
    assert (a.score, a.version) == (1, 1)
    assert events(organization) == []


# upsert ----------------------------------------------------------------------------------------


def test_upsert_by_email_updates_the_lead_with_that_email_and_creates_the_others(api, organization):
    ada = LeadFactory(organization=organization, email="ada@example.com", score=1, custom_fields={"a": 1})
    inputs = [
        {"email": "ADA@example.com", "score": 2, "customFields": {"b": 2}},
        {"email": "new@example.com", "name": "New"},
        {"email": "new@example.com", "name": "New again"},
        {"name": "No email"},
        {"email": "other@example.com"},  # a new lead needs a name
    ]

    response = post(api, "upsert", {"idProperty": "email", "inputs": inputs})

    assert response.status_code == 207, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == [200, 201, 409, 400, 400]
    ada.refresh_from_db()
    assert (ada.score, ada.custom_fields, ada.version) == (2, {"a": 1, "b": 2}, 2)
    assert results[0]["id"] == str(ada.pk)
    assert codes(results[3]) == [("email", "required")]
    assert codes(results[4]) == [("name", "required")]
    assert Lead.objects.for_organization(organization).count() == 2
    assert [e.type for e in events(organization)] == ["lead.created", "lead.updated"]


def test_upsert_by_email_refuses_an_email_several_leads_have(api, organization):
    LeadFactory.create_batch(2, organization=organization, email="dup@example.com")

    response = post(api, "upsert", {"idProperty": "email", "inputs": [{"email": "dup@example.com", "score": 3}]})

    (result,) = response.json()["results"]
    assert (result["status"], codes(result)) == (409, [("email", "conflict")])


def test_upsert_by_id_updates_named_leads_and_creates_the_ones_without_id(api, organization):
    lead = LeadFactory(organization=organization, score=1)
    inputs = [
        {"id": str(lead.pk), "score": 9, "version": 1},
        {"name": "New", "email": "new@example.com"},
        {"id": str(uuid.uuid4()), "name": "Ghost"},
        {"name": "Versioned", "version": 1},
    ]

    response = post(api, "upsert", {"idProperty": "id", "inputs": inputs})

    results = response.json()["results"]
    assert [r["status"] for r in results] == [200, 201, 404, 412]
    assert Lead.objects.get(pk=lead.pk).score == 9
    assert results[1]["lead"]["email"] == "new@example.com"
    assert Lead.objects.for_organization(organization).count() == 2


# delete and read -------------------------------------------------------------------------------


def test_delete_removes_the_leads_and_records_history_and_events(api, organization, user):
    a, b = LeadFactory.create_batch(2, organization=organization)
    before = api.get(f"/leads/{a.pk}").json()

    response = post(api, "delete", {"inputs": [{"id": str(a.pk)}, {"id": str(b.pk), "version": 1}]})

    assert response.status_code == 200, response.content
    assert response.json()["results"] == [
        {"index": 0, "status": 204, "id": str(a.pk)},
        {"index": 1, "status": 204, "id": str(b.pk)},
    ]
    assert not Lead.objects.for_organization(organization).exists()
    entries = LeadHistory.objects.for_organization(organization).filter(action="deleted")
    assert {(entry.lead_id, entry.actor_id, entry.via) for entry in entries} == {
        (a.pk, user.pk, "api"),
        (b.pk, user.pk, "api"),
    }
    deleted = events(organization, "lead.deleted")
    assert {"lead": before} in [event.data for event in deleted]


def test_delete_refuses_converted_leads_without_force_and_stale_versions(api, organization):
    converted = LeadFactory(organization=organization, status=LeadStatus.CONVERTED)
    stale = LeadFactory(organization=organization)

    response = post(api, "delete", {"inputs": [{"id": str(converted.pk)}, {"id": str(stale.pk), "version": 3}]})

    assert [r["status"] for r in response.json()["results"]] == [409, 412]
    assert Lead.objects.for_organization(organization).count() == 2
    forced = api.post("/leads/batch/delete?force=true", {"inputs": [{"id": str(converted.pk)}]}, format="json")
    assert forced.status_code == 200
    assert not Lead.objects.filter(pk=converted.pk).exists()


def test_read_answers_each_lead_as_get_does(api, organization):
    a, b = LeadFactory.create_batch(2, organization=organization)
    missing = uuid.uuid4()

    response = post(api, "read", {"inputs": [{"id": str(b.pk)}, {"id": str(missing)}, {"id": str(a.pk)}, {"x": 1}]})

    assert response.status_code == 207
    results = response.json()["results"]
    assert results[0] == {"index": 0, "status": 200, "id": str(b.pk), "lead": api.get(f"/leads/{b.pk}").json()}
    assert (results[1]["status"], results[1]["id"]) == (404, str(missing))
    assert results[2]["lead"]["id"] == str(a.pk)
    assert codes(results[3]) == [("id", "required"), ("x", "unknown_parameter")]


# cost --------------------------------------------------------------------------------------------


def test_100_creates_take_at_most_15_queries(api, organization, django_assert_max_num_queries):
    reps = UserFactory.create_batch(3, organization=organization)
    inputs = [
        {"name": f"Lead {i}", "email": f"lead{i}@example.com", "assignedTo": str(reps[i % 3].pk), "score": i}
        for i in range(100)
    ]

    with django_assert_max_num_queries(15):
        response = post(api, "create", {"inputs": inputs})

    assert response.status_code == 201, response.content
    assert Lead.objects.for_organization(organization).count() == 100
    assert LeadHistory.objects.for_organization(organization).count() == 100
    assert len(events(organization, "lead.created")) == 100


@pytest.mark.parametrize("operation", ["update", "upsert", "delete", "read"])
def test_100_inputs_of_the_other_operations_take_at_most_15_queries(
    api, organization, operation, django_assert_max_num_queries
):
    rep = UserFactory(organization=organization)
    leads = LeadFactory.create_batch(100, organization=organization)
    if operation in ("update", "upsert"):
        inputs = [{"id": str(lead.pk), "score": 7, "assignedTo": str(rep.pk)} for lead in leads]
    else:
        inputs = [{"id": str(lead.pk)} for lead in leads]

    with django_assert_max_num_queries(15):
        response = post(
            api, operation, {"inputs": inputs, "idProperty": "id"} if operation == "upsert" else {"inputs": inputs}
        )

    assert response.status_code == 200, response.content
