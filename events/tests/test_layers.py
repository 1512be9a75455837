"""events sits below the apps whose changes it records: it imports none of them, they plug into its hooks."""

import ast
from pathlib import Path

import pytest
from django.db import transaction

from events import hooks
from events.models import Event
from events.services import new_event, record_events

EVENTS = Path(__file__).resolve().parents[1]
ABOVE = ("leads", "customers", "webhooks")


def imported_modules(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.append(node.module)
    return modules


def test_events_imports_nothing_of_leads_customers_or_webhooks():
    sources = [path for path in EVENTS.rglob("*.py") if "tests" not in path.relative_to(EVENTS).parts]
    assert EVENTS / "services.py" in sources and EVENTS / "payloads.py" in sources
    found = [
        f"{path.relative_to(EVENTS)}: {module}"
        for path in sources
        for module in imported_modules(path)
        if module.split(".")[0] in ABOVE
    ]
    assert found == []


@pytest.mark.django_db
def test_a_subscriber_hears_of_recorded_events_inside_the_change_transaction(organization, monkeypatch):
    heard = []

    def subscriber(events):
        heard.append(([event.pk for event in events], transaction.get_connection().in_atomic_block))
        Event.objects.filter(pk__in=[event.pk for event in events]).update(type="heard.inside")

    monkeypatch.setattr(hooks, "_on_recorded", [*hooks._on_recorded, subscriber])

    with pytest.raises(RuntimeError), transaction.atomic():
        (event,) = record_events([new_event("lead.created", organization_id=organization.pk, data={})])
        assert Event.objects.get(pk=event.pk).type == "heard.inside"  # its write is part of the change
        raise RuntimeError("the change fails")

    assert heard == [([event.pk], True)]
    assert not Event.objects.exists()  # and rolls back with it


def test_an_object_kind_nobody_registered_is_a_clear_error():
    with pytest.raises(LookupError, match="No event payload for 'invoice'"):
        hooks.payload("invoice", object())
