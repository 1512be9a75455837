"""Routing writes: choosing assignees for new leads under row locks, and editing the rules.

`choose_assignees` is what a lead write calls (leads/services.py, the importer): it takes the
leads' plain attributes and returns one Decision per lead, knowing nothing of the Lead model. The
count of a user's open leads, which capacity and least_loaded need, is an expression the caller
passes (`open_leads_of`), so that it is read in the same query that locks the pools.
"""

from collections.abc import Callable

from django.db import connection, connections, router, transaction
from django.db.models import Case, F, IntegerField, OuterRef, Q, Subquery, When
from django.utils import timezone
from rest_framework.exceptions import NotFound

from leadsite.compiled import CompiledValues
from organizations.models import Availability, Organization, User
from routing.decisions import Decision, Member, Rule, decide
from routing.models import AssignmentRule, Method, RuleMember

STATE_FIELDS = ["turn", "credit", "day", "assigned_on_day", "last_assigned_at"]


def _user_is_away(availability, away_until, today) -> bool:
    return availability == Availability.AWAY and (away_until is None or away_until > today)


def _display_name(name, email) -> str:
    return name or email


# The pools' columns that a decision reads, as load_rules names them.
POOL_FIELDS = ["id", "rule_id", "user_id", "position", "weight", "max_open", "max_per_day", *STATE_FIELDS[:-1]]
POOL_EXPRESSIONS = {
    "rule_name": F("rule__name"),
    "rule_method": F("rule__method"),
    "rule_conditions": F("rule__conditions"),
    "rule_position": F("rule__position"),
    "rule_created_at": F("rule__created_at"),
    "user_name": F("user__name"),
    "user_email": F("user__email"),
    "user_is_active": F("user__is_active"),
    "user_availability": F("user__availability"),
    "user_away_until": F("user__away_until"),
}
_pool_reads = {}  # (open_leads_of, lock) -> CompiledValues


def _pool_read(open_leads_of, lock: bool) -> CompiledValues:
    """The read of an organization's active pools, compiled once per process (a create is not charged
    Django's few milliseconds of building this annotated, locked statement each time)."""
    read = _pool_reads.get((open_leads_of, lock))
    if read is not None:
        return read

    def build(organization_id):
        members = RuleMember.objects.filter(organization_id=organization_id, rule__is_active=True).order_by("pk")
        annotations = {}
        if open_leads_of is not None:
            needs_count = Q(max_open__isnull=False) | Q(rule__method=Method.LEAST_LOADED)
            count = open_leads_of(OuterRef("user_id"), organization=organization_id)
            annotations["open_leads"] = Case(When(needs_count, then=count), output_field=IntegerField())
        if lock and connection.vendor == "postgresql":
            annotations["snapshot_turn"] = Subquery(RuleMember.objects.filter(pk=OuterRef("pk")).values("turn")[:1])
        members = members.annotate(**annotations).values(*POOL_FIELDS, *annotations, **POOL_EXPRESSIONS)
        return members.select_for_update(of=("self",)) if lock else members

    read = _pool_reads[open_leads_of, lock] = CompiledValues(build)
    return read


def load_rules(*, organization, open_leads_of: Callable | None, lock: bool, today) -> list[Rule]:
    """The organization's active rules with their members, in order, the members' rows locked if `lock`.

    One query. `open_leads_of(user_ref, organization=)`: an expression counting a user's open leads,
    read for the members whose capacity or method needs it. Under a lock wait on PostgreSQL the
    open-lead counts come from the statement's snapshot, taken before the wait; `snapshot_turn` (the
    turn as that snapshot saw it) tells, and the caller reads again then (it holds the locks, so the
    second read is current).
    """
    organization_id = getattr(organization, "pk", organization)
    rows = _pool_read(open_leads_of, lock).rows(organization_id, using=router.db_for_write(RuleMember))
    rules = {}
    stale = False
    for row in rows:
        rule = rules.get(row["rule_id"])
        if rule is None:
            rule = Rule(row["rule_id"], row["rule_name"], row["rule_method"], row["rule_conditions"] or {})
            rule.position = (row["rule_position"], row["rule_created_at"])
            rules[row["rule_id"]] = rule
        member = Member(
            id=row["id"],
            user_id=row["user_id"],
            name=_display_name(row["user_name"], row["user_email"]),
            weight=row["weight"],
            max_open=row["max_open"],
            max_per_day=row["max_per_day"],
            is_active=row["user_is_active"],
            is_away=_user_is_away(row["user_availability"], row["user_away_until"], today),
            away_until=row["user_away_until"],
            open_leads=row.get("open_leads"),
            turn=row["turn"],
            credit=row["credit"],
            day=row["day"],
            assigned_on_day=row["assigned_on_day"],
        )
        member.position = row["position"]
        rule.members.append(member)
        stale = stale or row.get("snapshot_turn", row["turn"]) != row["turn"]
    if stale:
        return load_rules(organization=organization, open_leads_of=open_leads_of, lock=False, today=today)
    ordered = sorted(rules.values(), key=lambda rule: rule.position)
    for rule in ordered:
        rule.members.sort(key=lambda member: (member.position, member.id))
    return ordered


def _save_state(rules: list[Rule], now) -> None:
    """Write back the members whose fairness state changed: one UPDATE a member, sent together.

    Plain SQL: Django's bulk_update builds a CASE per column, several ms for the one member a create changes.
    """
    changed = [member for rule in rules for member in rule.members if member.changed]
    if not changed:
        return
    db = connections[router.db_for_write(RuleMember)]
    quote, field = db.ops.quote_name, RuleMember._meta.get_field
    columns = ", ".join(f"{quote(field(name).column)} = %s" for name in STATE_FIELDS)
    sql = f"UPDATE {quote(RuleMember._meta.db_table)} SET {columns} WHERE {quote(field('id').column)} = %s"
    at = db.ops.adapt_datetimefield_value(now)
    rows = [(m.turn, m.credit, db.ops.adapt_datefield_value(m.day), m.assigned_on_day, at, m.id) for m in changed]
    with db.cursor() as cursor:
        cursor.executemany(sql, rows)


def _default_decision(organization: Organization, today) -> Decision:
    """Nothing placed the lead: the organization's default assignee, if they can take it (one query)."""
    if organization.default_assignee_id is None:
        return Decision(None, None, "no default assignee: left unassigned")
    default = (
        User.objects.filter(pk=organization.default_assignee_id, organization=organization)
        .values("name", "email", "is_active", "availability", "away_until")
        .first()
    )
    if default is None:
        return Decision(None, None, "no default assignee: left unassigned")
    name = _display_name(default["name"], default["email"])
    if not default["is_active"] or _user_is_away(default["availability"], default["away_until"], today):
        return Decision(None, None, f"default assignee {name} is away or deactivated: left unassigned")
    return Decision(organization.default_assignee_id, None, f"organization default: {name}")


def _with_default(decisions: list[Decision], organization, today) -> list[Decision]:
    """Hand the leads no rule placed to the organization's default (looked up once)."""
    default = None
    for index, decision in enumerate(decisions):
        if decision.user_id is None:
            default = default or _default_decision(organization, today)
            decisions[index] = Decision(default.user_id, None, f"{decision.explanation}; {default.explanation}")
    return decisions


def choose_assignees(*, organization: Organization, leads: list[dict], open_leads_of: Callable | None) -> list:
    """One Decision per lead (its plain attributes), in order, as if they came one after the other.

    Locks the organization's rule members (inside the caller's transaction), so concurrent callers
    take turns: rotation, weights and capacity hold under any number of parallel writers.
    """
    assert transaction.get_connection().in_atomic_block, "route inside the lead write's transaction"
    now = timezone.now()
    today = timezone.localdate(now)
    rules = load_rules(organization=organization, open_leads_of=open_leads_of, lock=True, today=today)
    decisions = [decide(lead, rules, today=today) for lead in leads]
    _save_state(rules, now)
    return _with_default(decisions, organization, today)


def simulate(*, organization: Organization, leads: list[dict], rules: list[Rule] | None, open_counts) -> list:
    """What routing would decide for the leads, writing nothing (no locks, no state written back).

    `rules`: a draft (Rules built from a request) or None for the saved ones. `open_counts(user_ids)`
    gives the open leads of each user, for capacity and least_loaded.
    """
    today = timezone.localdate()
    if rules is None:
        rules = load_rules(organization=organization, open_leads_of=None, lock=False, today=today)
    user_ids = {member.user_id for rule in rules for member in rule.members}
    counts = open_counts(user_ids) if user_ids else {}
    for rule in rules:
        for member in rule.members:
            if member.max_open is not None or rule.method == Method.LEAST_LOADED:
                member.open_leads = counts.get(member.user_id, 0)
    return _with_default([decide(lead, rules, today=today) for lead in leads], organization, today)


# ---- editing the rules -----------------------------------------------------------------------------


def _lock_rules(organization) -> list[AssignmentRule]:
    """The organization's rules, locked in position order: edits of the order take turns."""
    return list(AssignmentRule.objects.for_organization(organization).select_for_update().order_by("position", "pk"))


def _renumber(rules: list[AssignmentRule]) -> None:
    changed = []
    for index, rule in enumerate(rules, start=1):
        if rule.position != index:
            rule.position = index
            changed.append(rule)
    if changed:
        AssignmentRule.objects.bulk_update(changed, ["position"])


def _write_members(rule: AssignmentRule, members: list[dict]) -> None:
    """Replace the rule's members, keeping the fairness state of the users who stay."""
    existing = {
        member.user_id: member for member in RuleMember.objects.filter(rule=rule).select_for_update().order_by("pk")
    }
    wanted = {member["user"].pk: member for member in members}
    RuleMember.objects.filter(rule=rule).exclude(user_id__in=list(wanted)).delete()
    keep, new = [], []
    for position, data in enumerate(members):
        values = {
            "position": position,
            "weight": data.get("weight", 1),
            "max_open": data.get("max_open"),
            "max_per_day": data.get("max_per_day"),
        }
        row = existing.get(data["user"].pk)
        if row is None:
            new.append(RuleMember(organization_id=rule.organization_id, rule=rule, user=data["user"], **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
            keep.append(row)
    if keep:
        RuleMember.objects.bulk_update(keep, ["position", "weight", "max_open", "max_per_day"])
    if new:
        # A newcomer starts level with the rule's rotation, not owed every lead so far.
        level = max((row.turn for row in keep), default=0)
        for row in new:
            row.turn = level
        RuleMember.objects.bulk_create(new)


@transaction.atomic
def rule_create(*, organization, data: dict) -> AssignmentRule:
    rules = _lock_rules(organization)
    members = data.pop("members", [])
    position = data.pop("position", None)
    rule = AssignmentRule(organization=organization, position=len(rules) + 1, **data)
    rule.save()
    _write_members(rule, members)
    if position is not None:
        _move(rules + [rule], rule, position)
    return rule


@transaction.atomic
def rule_update(*, rule: AssignmentRule, data: dict) -> AssignmentRule:
    rules = _lock_rules(rule.organization_id)
    rule = next((row for row in rules if row.pk == rule.pk), None)
    if rule is None:
        raise NotFound("No assignment rule with this id in your organization.")
    members = data.pop("members", None)
    position = data.pop("position", None)
    for name, value in data.items():
        setattr(rule, name, value)
    rule.save()
    if members is not None:
        _write_members(rule, members)
    if position is not None:
        _move(rules, rule, position)
    return rule


@transaction.atomic
def rule_delete(*, rule: AssignmentRule) -> None:
    rules = _lock_rules(rule.organization_id)
    RuleMember.objects.filter(rule_id=rule.pk).select_for_update().order_by("pk").delete()
    AssignmentRule.objects.filter(pk=rule.pk).delete()
    _renumber([row for row in rules if row.pk != rule.pk])


def _move(rules, rule, position: int) -> None:
    position = min(max(position, 1), len(rules))  # beyond the last: last
    order = [row for row in rules if row.pk != rule.pk]
    order.insert(position - 1, rule)
    _renumber(order)


@transaction.atomic
def rule_move(*, rule: AssignmentRule, position: int) -> AssignmentRule:
    """Put the rule at `position` (1 = first); the others keep their order around it."""
    rules = _lock_rules(rule.organization_id)
    rule = next((row for row in rules if row.pk == rule.pk), rule)
    _move(rules, rule, position)
    return rule


def default_assignee_set(*, organization: Organization, user: User | None) -> Organization:
    Organization.objects.filter(pk=organization.pk).update(default_assignee=user)
    organization.default_assignee = user
    return organization
