"""The import in two processes (a forked reader validates the next batch while the parent writes).

It must write exactly what one process writes: the same leads, history, events, skipped rows and
error report, with duplicates found across batches and against the database.
"""

import multiprocessing

import pytest

from events.models import Event
from leads import importing
from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory
from leads.tests.test_import import error_rows, run_import, write

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def mixed_rows(user) -> str:
    """60 rows for batches of 7: bad rows, duplicates in one batch, across batches and of the database."""
    lines = ["name,email,score,assignedTo,customFields"]
    for n in range(60):
        email = f"lead{n}@x.test"
        if n == 40:
            email = "lead3@x.test"  # the same as line 5, a batch earlier
        if n == 41:
            email = "lead37@x.test"  # the same as line 39, in the same batch
        if n == 49:
            email = "Existing@X.test"  # a lead of the organization already has it
        name = "" if n % 11 == 0 else f"Lead {n}"
        score = 150 if n % 13 == 0 else n
        assignee = {0: str(user.pk), 1: user.email, 2: "nobody@x.test", 3: ""}[n % 4]
        lines.append(f'{name},{email},{score},{assignee},"{{""n"": {n}}}"')
    return "\n".join(lines) + "\n"


def outcome(organization, errors_path, out):
    leads = Lead.objects.for_organization(organization)
    return {
        "summary": out.splitlines()[0],
        "leads": sorted(leads.values_list("name", "email", "score", "assigned_to_id", "custom_fields")),
        "history": LeadHistory.objects.filter(organization=organization, action="created").count(),
        "events": Event.objects.filter(organization_id=organization.pk, type="lead.created").count(),
        "errors": [(row["line"], row["errors"]) for row in error_rows(errors_path)],
    }


def expected_new_leads() -> int:
    valid = [n for n in range(60) if n % 11 and n % 13 and n % 4 != 2]
    return len(valid) - 3  # the rows of n = 40, 41 and 49 are duplicates


def test_two_processes_write_exactly_what_one_writes(
    tmp_path, organization, other_organization, user, other_user, monkeypatch
):
    readers = []
    real_enter = importing.Pipeline.__enter__
    monkeypatch.setattr(importing.Pipeline, "__enter__", lambda self: readers.append(self) or real_enter(self))
    LeadFactory(organization=organization, email="existing@x.test", name="Existing")
    LeadFactory(organization=other_organization, email="existing@x.test", name="Existing")
    outcomes = []
    for org, assignee, processes in ((organization, user, "1"), (other_organization, other_user, "2")):
        path = write(tmp_path, f"leads{processes}.csv", mixed_rows(assignee))
        errors = tmp_path / f"errors{processes}.csv"
        code, out = run_import(
            path, org, "--batch-size", "7", "--processes", processes, "--errors", str(errors), "--allow-errors"
        )
        assert code == 0, out
        outcomes.append(outcome(org, errors, out))

    one, two = outcomes
    assert len(readers) == 1 and readers[0].process.exitcode == 0  # only --processes 2 forked a reader
    assert two["summary"] == one["summary"]
    assert len(two["leads"]) == len(one["leads"]) == 1 + expected_new_leads()
    assert [lead[:3] + lead[4:] for lead in two["leads"]] == [lead[:3] + lead[4:] for lead in one["leads"]]
    assert two["history"] == one["history"] == len(one["leads"]) - 1
    assert two["events"] == one["events"] == len(one["leads"]) - 1
    assert two["errors"] == one["errors"]
    reasons = " ".join(message for _, message in two["errors"])
    assert reasons.count("Same email as line 39.") == 1
    assert reasons.count("A lead with this email already exists.") == 2


def test_the_reading_process_ends_with_the_import(tmp_path, organization):
    path = write(tmp_path, "leads.csv", "name\n" + "".join(f"Lead {n}\n" for n in range(30)))

    code, out = run_import(path, organization, "--batch-size", "4")

    assert code == 0, out
    assert Lead.objects.for_organization(organization).count() == 30
    assert multiprocessing.active_children() == []
