"""Writing the demo organization: its members, then the history of `demo.history`, in one transaction.

The history is written set-based, so that `make run` stays fast: the leads in their final state,
their customers, their history entries and their events, one bulk INSERT per table, each row
dated when its write happened. The rows are those the services write (leads/services.py): a
conversion's customer is numbered and linked as `lead_convert` does, every write has its history
entry with the old and new values, and the tallies' triggers count the leads as they go in.
Events are written for the last EVENT_RETENTION_DAYS days only: what the feed of an organization
that runs `purge_events` daily holds.
"""

import random
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import get_hasher, make_password
from django.db import transaction
from django.utils import timezone

from customers.events import customer_payload
from customers.models import Customer
from demo.history import MEMBERS, SEED, Member, PlannedLead, demo_history
from events.models import Event
from events.services import customer_event, lead_event, record_events
from leads.history import Action, created_changes, field_changes, history_entry, record_history
from leads.models import Lead, LeadHistory, LeadStatus
from organizations.emails import normalize_email
from organizations.models import Organization, User
from routing.models import AssignmentRule, Method, RuleMember
from scoring import services as scoring_services
from scoring.models import ScoringModel

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Organization"
DEMO_PASSWORD = "demo-leads-2025"
# make_password(DEMO_PASSWORD) with Django 5.2's default hasher, made once: hashing takes half a second
# by design, and the demo's password is public anyway. A login re-hashes it if the default changes.
DEMO_PASSWORD_HASH = "pbkdf2_sha256$1000000$demoleadsseed2025$B5m/dcNd4UAMTtqhftQ1xi6LUXDljM2F56pfPXldUpM="
# Customers converted this long ago may have left since.
CHURN_AFTER = timedelta(days=120)


@dataclass
class Seeded:
    organization: Organization
    members: list[tuple[Member, User]]
    leads: int  # written now; 0 when the organization already had leads
    scoring_model: ScoringModel | None = None


@transaction.atomic
def seed_demo(*, now: datetime | None = None) -> Seeded:
    """The demo organization with its members and, unless it has leads already, six months of history."""
    now = now or timezone.now()
    organization, _ = Organization.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": DEMO_NAME})
    members = _members(organization)
    if Lead.objects.for_organization(organization).exists():
        return Seeded(organization, members, 0, _scoring_model(organization))
    users = {member.key: user for member, user in members}
    writer = HistoryWriter(organization, users, now)
    for planned in demo_history(now):
        writer.add(planned)
    writer.save()
    _assignment_rules(organization, users)
    return Seeded(organization, members, len(writer.leads), _scoring_model(organization))


def _scoring_model(organization) -> ScoringModel | None:
    """The demo's lead scoring model, trained on its history (about a second) unless it has one: `ready` at once."""
    existing = ScoringModel.objects.for_organization(organization).exclude(status=ScoringModel.Status.TRAINING)
    model = existing.order_by("-version").first()
    return model if model is not None else scoring_services.train_now(organization=organization)


# The demo's routing, written with its history (not again once an admin has changed it): referrals to
# the two senior reps by weight, trade shows in strict rotation, everything else to whoever has least
# open work, at most 150 open leads each; beyond that the admin gets the lead.
DEMO_RULES = (
    ("Referrals to senior reps", Method.WEIGHTED, {"source": ["referral"]}, (("maria", 2, None), ("james", 1, None))),
    ("Trade shows", Method.ROUND_ROBIN, {"source": ["trade_show"]}, (("priya", 1, None), ("tom", 1, None))),
    ("Everything else", Method.LEAST_LOADED, {}, tuple((key, 1, 150) for key in ("maria", "james", "priya", "tom"))),
)


def _assignment_rules(organization, users: dict) -> None:
    for position, (name, method, conditions, members) in enumerate(DEMO_RULES, start=1):
        rule = AssignmentRule.objects.create(
            organization=organization, name=name, method=method, conditions=conditions, position=position
        )
        RuleMember.objects.bulk_create(
            RuleMember(
                organization=organization, rule=rule, user=users[key], position=index, weight=weight, max_open=cap
            )
            for index, (key, weight, cap) in enumerate(members)
        )
    Organization.objects.filter(pk=organization.pk).update(default_assignee=users["demo"])


def _members(organization) -> list[tuple[Member, User]]:
    """The demo's members, created once; all share the demo password."""
    existing = {user.email: user for user in User.objects.filter(email__in=[m.email for m in MEMBERS])}
    password = DEMO_PASSWORD_HASH if get_hasher().algorithm == "pbkdf2_sha256" else None
    members = []
    for member in MEMBERS:
        user = existing.get(normalize_email(member.email))
        if user is None:
            password = password or make_password(DEMO_PASSWORD)
            user = User.objects.create(
                email=normalize_email(member.email),
                name=member.name,
                organization=organization,
                role=member.role,
                is_staff=True,
                password=password,
            )
        members.append((member, user))
    return members


@contextmanager
def timestamps_as_given(*models):
    """Let bulk_create keep the created_at/updated_at set on the objects (auto_now would overwrite them with now)."""
    fields = [f for model in models for f in model._meta.concrete_fields if hasattr(f, "auto_now_add")]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


class TimeOrderedIds:
    """UUIDv7 ids (leadsite/ids.py) of the moment a row was written, from a seeded generator: deterministic."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.last = 0

    def at(self, moment: datetime) -> uuid.UUID:
        value = (int(moment.timestamp() * 1000) & 0xFFFF_FFFF_FFFF) << 80 | self.rng.getrandbits(80)
        value = value & ~(0xF << 76) | 0x7 << 76
        value = value & ~(0x3 << 62) | 0x2 << 62
        return uuid.UUID(int=value)

    def increasing_at(self, moment: datetime) -> uuid.UUID:
        """An id of the moment, greater than every one this method made before (the feed's order in a transaction)."""
        value = max(self.at(moment).int, self.last + 1)
        self.last = value
        return uuid.UUID(int=value)


class HistoryWriter:
    """Replays planned leads in memory as the services would write them, then inserts everything at once."""

    def __init__(self, organization, users: dict, now: datetime):
        self.organization = organization
        self.users = users
        self.event_since = now - timedelta(days=settings.EVENT_RETENTION_DAYS)
        self.now = now
        self.ids = TimeOrderedIds(SEED)
        self.leads, self.entries, self.events = [], [], []
        self.customers = {}  # company name (or the customer's id, for a person) -> Customer

    def add(self, planned: PlannedLead) -> None:
        fields = dict(planned.fields)
        assignee = fields.pop("assigned_to")
        lead = Lead(
            id=self.ids.at(planned.created_at),
            organization_id=self.organization.pk,
            assigned_to_id=self.users[assignee].pk if assignee else None,
            created_at=planned.created_at,
            updated_at=planned.created_at,
            **fields,
        )
        actor = self.users[planned.created_by]
        self._history(lead, Action.CREATED, planned.created_at, actor, planned.created_via, created_changes(lead))
        if self._in_feed(planned.created_at):
            self._record(
                planned.created_at, lead_event(Event.Type.LEAD_CREATED, lead=lead, user=actor, via=planned.created_via)
            )
        for step in planned.steps:
            actor = self.users[step.actor]
            if step.action == Action.CONVERTED:
                self._convert(lead, step.at, actor, step.via)
            else:
                changes = self._write(lead, step.data, step.at)
                self._history(lead, Action.UPDATED, step.at, actor, step.via, changes)
                if self._in_feed(step.at):
                    event = lead_event(Event.Type.LEAD_UPDATED, lead=lead, user=actor, via=step.via, changes=changes)
                    self._record(step.at, event)
        self.leads.append(lead)

    def _write(self, lead, data: dict, at) -> dict:
        changes = field_changes(lead, data)
        for name, value in data.items():
            setattr(lead, name, value)
        lead.version += 1
        lead.updated_at = at
        return changes

    def _convert(self, lead, at, actor, via) -> None:
        """As leads.services.lead_convert does: a new customer, or the company's, its empty contacts filled."""
        customer = self.customers.get(lead.company) if lead.company else None
        is_new = customer is None
        if is_new:
            customer = Customer(
                id=uuid.UUID(int=self.ids.rng.getrandbits(128), version=4),
                organization_id=self.organization.pk,
                customer_number=f"CUST-{len(self.customers) + 1:03d}",
                company_name=lead.company or lead.name,
                contact_email=lead.email,
                contact_phone=lead.phone,
                created_at=at,
                updated_at=at,
            )
            self.customers[lead.company or customer.pk] = customer
            if self._in_feed(at):
                self._record(at, customer_event(Event.Type.CUSTOMER_CREATED, customer=customer, user=actor, via=via))
        else:
            filled = {"contact_email": lead.email, "contact_phone": lead.phone}
            filled = {name: value for name, value in filled.items() if value and not getattr(customer, name)}
            if filled:
                changes = field_changes(customer, filled)
                for name, value in filled.items():
                    setattr(customer, name, value)
                customer.version += 1
                customer.updated_at = at
                if self._in_feed(at):
                    event = customer_event(
                        Event.Type.CUSTOMER_UPDATED, customer=customer, user=actor, via=via, changes=changes
                    )
                    self._record(at, event)
        data = {"status": LeadStatus.CONVERTED, "converted_at": at, "converted_customer": customer}
        changes = self._write(lead, data, at)
        self._history(lead, Action.CONVERTED, at, actor, via, changes)
        if self._in_feed(at):
            payload = customer_payload(customer)
            event = lead_event(
                Event.Type.LEAD_CONVERTED, lead=lead, user=actor, via=via, customer=payload, customerIsNew=is_new
            )
            self._record(at, event)

    def _history(self, lead, action, at, actor, via, changes) -> None:
        entry = history_entry(lead=lead, action=action, actor=actor, via=via, changes=changes)
        entry.id, entry.created_at = self.ids.at(at), at
        self.entries.append(entry)

    def _in_feed(self, at) -> bool:
        """Whether the feed still keeps events of `at`: only those are made (of the lead as it is at `at`)."""
        return at >= self.event_since

    def _record(self, at, event) -> None:
        event.created_at = at
        self.events.append(event)

    def save(self) -> None:
        self._churn()
        with timestamps_as_given(Customer, Lead, LeadHistory):
            Customer.objects.bulk_create(self.customers.values(), batch_size=500)
            Lead.objects.bulk_create(self.leads, batch_size=500)
            record_history(sorted(self.entries, key=lambda entry: entry.id))  # in time order: B-tree appends
        Organization.objects.filter(pk=self.organization.pk).update(last_customer_number=len(self.customers))
        self.events.sort(key=lambda event: event.created_at)  # stable: a conversion's events keep their order
        for event in self.events:
            event.id = self.ids.increasing_at(event.created_at)
        record_events(self.events)

    def _churn(self) -> None:
        """A few customers won long ago have left or paused since (no events: older than the feed keeps)."""
        for customer in self.customers.values():
            if customer.created_at < self.now - CHURN_AFTER:
                draw = self.ids.rng.random()
                if draw < 0.08:
                    customer.status = Customer.Status.CHURNED
                elif draw < 0.12:
                    customer.status = Customer.Status.INACTIVE
