"""Writers that race, on PostgreSQL over real connections: every race ends in 404, 409 or 412, never a 500.

Each pair below answered 500s before the writes locked their row and turned a row that vanished
while they waited into a 404 (leads/services.py `_locked`). A few rounds per pair: a round is one
real race, whichever request wins it.
"""

import pytest

from conftest import client_for, run_at_once
from customers.models import Customer
from leads.models import Lead, LeadHistory, LeadStatus
from leads.tests.factories import LeadFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def request(user, method, path, body=None):
    return lambda: getattr(client_for(user), method)(path, body, format="json").status_code


def test_parallel_deletes_of_one_lead_are_one_204_and_404s(user, organization):
    for _ in range(ROUNDS):
        lead = LeadFactory(organization=organization)

        codes = run_at_once([request(user, "delete", f"/leads/{lead.id}") for _ in range(5)])

        assert sorted(codes) == [204, 404, 404, 404, 404]
        assert not Lead.objects.filter(pk=lead.pk).exists()
        assert LeadHistory.objects.filter(lead_id=lead.pk, action="deleted").count() == 1


def test_patch_racing_delete(user, organization):
    for _ in range(ROUNDS):
        lead = LeadFactory(organization=organization, score=1)

        patch, delete = run_at_once(
            [request(user, "patch", f"/leads/{lead.id}", {"score": 2}), request(user, "delete", f"/leads/{lead.id}")]
        )

        assert (patch, delete) in [(200, 204), (404, 204)]
        assert not Lead.objects.filter(pk=lead.pk).exists()


def test_convert_racing_delete(user, organization):
    for _ in range(ROUNDS):
        lead = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED)
        customers_before = Customer.objects.count()

        convert, delete = run_at_once(
            [
                request(user, "post", f"/leads/{lead.id}/convert-to-customer", {}),
                request(user, "delete", f"/leads/{lead.id}"),
            ]
        )

        # Converted first: deleting a converted lead needs force (409). Deleted first: nothing to convert (404).
        assert (convert, delete) in [(201, 409), (404, 204)]
        if convert == 201:
            lead.refresh_from_db()
            assert lead.status == LeadStatus.CONVERTED and lead.converted_customer_id is not None
        else:
            assert Customer.objects.count() == customers_before


def test_convert_racing_merge(user, organization):
    for _ in range(ROUNDS):
        keep = LeadFactory(organization=organization)
        duplicate = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED)

        convert, merge = run_at_once(
            [
                request(user, "post", f"/leads/{duplicate.id}/convert-to-customer", {}),
                request(user, "post", f"/leads/{keep.id}/merge", {"duplicateIds": [str(duplicate.id)]}),
            ]
        )

        # Converted first: a converted duplicate is not merged (409). Merged first: the duplicate is gone (404).
        assert (convert, merge) in [(201, 409), (404, 200)]
        assert Lead.objects.filter(pk=duplicate.pk).exists() == (convert == 201)


def test_customer_delete_racing_lead_delete_and_patch(user, organization):
    for _ in range(ROUNDS):
        lead = LeadFactory(organization=organization, status=LeadStatus.QUALIFIED)
        customer_id = client_for(user).post(f"/leads/{lead.id}/convert-to-customer").json()["customerId"]

        customer_delete, lead_delete, patch = run_at_once(
            [
                request(user, "delete", f"/customers/{customer_id}"),
                request(user, "delete", f"/leads/{lead.id}?force=true"),
                request(user, "patch", f"/leads/{lead.id}", {"notes": "called back"}),
            ]
        )

        assert (customer_delete, lead_delete) == (204, 204)
        assert patch in (200, 404)
        assert not Customer.objects.filter(pk=customer_id).exists()
        assert not Lead.objects.filter(pk=lead.pk).exists()


def test_50_parallel_patches_each_adding_a_custom_field_keep_all_50(user, organization):
    lead = LeadFactory(organization=organization, custom_fields={"kept": True})

    codes = run_at_once(
        [request(user, "patch", f"/leads/{lead.id}", {"customFields": {f"key{i}": i}}) for i in range(50)]
    )

    assert codes == [200] * 50
    lead.refresh_from_db()
    assert lead.custom_fields == {"kept": True, **{f"key{i}": i for i in range(50)}}
    assert lead.version == 51


def test_50_parallel_patches_of_score_leave_a_history_where_each_old_is_the_previous_new(user, organization):
    lead = LeadFactory(organization=organization, score=100)

    codes = run_at_once([request(user, "patch", f"/leads/{lead.id}", {"score": i}) for i in range(1, 51)])

    assert codes == [200] * 50
    changes = [entry.changes["score"] for entry in LeadHistory.objects.filter(lead_id=lead.pk, action="updated")]
    assert len(changes) == 50
    # Walk the chain from the first value: every step's old is the value the step before left.
    by_old = {change["old"]: change["new"] for change in changes}
    assert len(by_old) == 50
    value, walked = 100, 0
    while value in by_old:
        value, walked = by_old[value], walked + 1
    assert walked == 50
    lead.refresh_from_db()
    assert lead.score == value
    # And in the order they were written.
    ordered = [
        entry.changes["score"]
        for entry in LeadHistory.objects.filter(lead_id=lead.pk, action="updated").order_by("created_at", "id")
    ]
    assert all(earlier["new"] == later["old"] for earlier, later in zip(ordered, ordered[1:], strict=False))


def test_two_writers_with_the_same_if_match_one_wins_one_gets_412(user, organization):
    for _ in range(ROUNDS):
        lead = LeadFactory(organization=organization, score=1)

        def patch(score, lead=lead):
            def call():
                api = client_for(user)
                return api.patch(f"/leads/{lead.id}", {"score": score}, format="json", HTTP_IF_MATCH='"1"').status_code

            return call

        codes = run_at_once([patch(2), patch(3)])

        assert sorted(codes) == [200, 412]
        lead.refresh_from_db()
        assert lead.version == 2
