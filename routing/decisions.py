"""Choosing an assignee: plain data in, a decision with its explanation out.

Nothing here reads or writes the database, or knows a Lead: a lead is a dict of its attributes
(model names: source, status, custom_fields, email, company, score, predicted_score), the rules are
`Rule`s with their `Member`s as services.py loaded them under row locks. `decide` changes the
members' fairness state in place (whose turn, weights owed, today's count, open leads), so that a
batch of leads is routed one after the other in memory and the state written back once.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

CONDITION_KEYS = (
    "source",
    "status",
    "customFields",
    "emailDomain",
    "hasCompany",
    "scoreMin",
    "scoreMax",
    "predictedScoreMin",
    "predictedScoreMax",
)
METHOD_WORDS = {"round_robin": "round robin", "weighted": "weighted", "least_loaded": "least loaded"}


@dataclass
class Member:
    id: int | None
    user_id: object
    name: str
    weight: int = 1
    max_open: int | None = None
    max_per_day: int | None = None
    is_active: bool = True
    is_away: bool = False
    away_until: date | None = None
    open_leads: int | None = None  # counted when max_open or least_loaded needs it
    turn: int = 0
    credit: int = 0
    day: date | None = None
    assigned_on_day: int = 0
    changed: bool = False

    def today_count(self, today: date) -> int:
        return self.assigned_on_day if self.day == today else 0

    def why_not(self, today: date) -> str | None:
        """Why the member cannot take a lead now, or None."""
        if not self.is_active:
            return f"{self.name} deactivated"
        if self.is_away:
            return f"{self.name} away until {self.away_until.isoformat()}" if self.away_until else f"{self.name} away"
        if self.max_open is not None and self.open_leads is not None and self.open_leads >= self.max_open:
            return f"{self.name} full ({self.open_leads}/{self.max_open} open)"
        if self.max_per_day is not None and self.today_count(today) >= self.max_per_day:
            return f"{self.name} had {self.max_per_day}/{self.max_per_day} today"
        return None

    def load(self) -> str:
        if self.max_open is not None:
            return f"{self.name} {self.open_leads}/{self.max_open} open"
        if self.open_leads is not None:
            return f"{self.name} {self.open_leads} open"
        return ""


@dataclass
class Rule:
    id: object
    name: str
    method: str
    conditions: dict
    members: list[Member] = field(default_factory=list)

    def next_turn(self) -> int:
        return max((member.turn for member in self.members), default=0) + 1


@dataclass
class Decision:
    user_id: object  # None: unassigned
    rule: Rule | None
    explanation: str

    def as_json(self) -> dict:
        """What history, events and the simulate endpoint say of it."""
        return {
            "ruleId": str(self.rule.id) if self.rule and self.rule.id else None,
            "ruleName": self.rule.name if self.rule else None,
            "method": self.rule.method if self.rule else None,
            "userId": str(self.user_id) if self.user_id else None,
            "explanation": self.explanation,
        }


def _domain(email) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower()


def _in_range(value, low, high) -> bool:
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def _range_text(name, low, high) -> str:
    if low is not None and high is not None:
        return f"{name} {low}-{high}"
    return f"{name}>={low}" if low is not None else f"{name}<={high}"


def check_conditions(conditions: dict, lead: dict) -> tuple[bool, str]:
    """(matched, what matched or the first condition that did not), e.g. (True, "source=referral")."""
    held = []
    if "source" in conditions:
        if lead.get("source") not in conditions["source"]:
            return False, f"source={lead.get('source')} not in {', '.join(conditions['source'])}"
        held.append(f"source={lead.get('source')}")
    if "status" in conditions:
        status = lead.get("status") or "new"
        if status not in conditions["status"]:
            return False, f"status={status} not in {', '.join(conditions['status'])}"
        held.append(f"status={status}")
    for key, values in (conditions.get("customFields") or {}).items():
        value = (lead.get("custom_fields") or {}).get(key)
        if value not in values:
            return False, f"customFields.{key}={value} not in the rule's values"
        held.append(f"customFields.{key}={value}")
    if "emailDomain" in conditions:
        domain = _domain(lead.get("email"))
        if domain not in {d.lower() for d in conditions["emailDomain"]}:
            return False, f"email domain {domain or '(none)'} not in {', '.join(conditions['emailDomain'])}"
        held.append(f"emailDomain={domain}")
    if "hasCompany" in conditions:
        has = bool(lead.get("company"))
        if has != conditions["hasCompany"]:
            return False, "has a company" if has else "has no company"
        held.append("has a company" if has else "has no company")
    for name, attribute in (("score", "score"), ("predictedScore", "predicted_score")):
        low, high = conditions.get(f"{name}Min"), conditions.get(f"{name}Max")
        if low is None and high is None:
            continue
        value = lead.get(attribute)
        if not _in_range(value, low, high):
            return False, f"{name}={value} not {_range_text(name, low, high).split(' ', 1)[-1]}"
        held.append(f"{name}={value}")
    return True, ", ".join(held) or "every lead (no conditions)"


def _pick(rule: Rule, free: list[Member]) -> tuple[Member, str]:
    """The member of `free` whose turn it is by the rule's method, and why."""
    if rule.method == "weighted":
        # Smooth weighted round robin (nginx): each free member earns its weight, the richest takes the
        # lead and pays the free members' total. Who is away earns nothing, so comes back owed nothing.
        total = sum(member.weight for member in free)
        for member in free:
            member.credit += member.weight
            member.changed = True
        chosen = max(free, key=lambda member: (member.credit, -member.turn))
        chosen.credit -= total
        share = f"weight {chosen.weight} of {total}"
        return chosen, share
    if rule.method == "least_loaded":
        # Fewest open leads; a tie goes to whoever had a lead from this rule least recently.
        chosen = min(free, key=lambda member: (member.open_leads or 0, member.turn))
        tied = [m for m in free if m is not chosen and (m.open_leads or 0) == (chosen.open_leads or 0)]
        why = f"fewest open ({chosen.open_leads or 0})"
        if tied:
            why += f", tie with {', '.join(m.name for m in tied)} broken by longest wait"
        return chosen, why
    # Round robin: whoever had a lead from this rule least recently (never comes first, then the list's order).
    chosen = min(free, key=lambda member: member.turn)
    previous = max(rule.members, key=lambda member: member.turn)
    return chosen, f"after {previous.name}" if previous.turn else "first in the rotation"


def decide(lead: dict, rules: list[Rule], *, today: date, now: datetime | None = None) -> Decision:
    """The first rule whose conditions hold and whose pool has a free member, and that member.

    No such rule: Decision(None, None, ...) and the caller applies the organization's default.
    """
    passed = []
    for rule in rules:
        matched, why = check_conditions(rule.conditions, lead)
        if not matched:
            passed.append(f'rule "{rule.name}" did not match ({why})')
            continue
        reasons = {member.id: member.why_not(today) for member in rule.members}
        free = [member for member in rule.members if reasons[member.id] is None]
        if not free:
            nobody = "; ".join(reasons.values()) if rule.members else "no members"
            passed.append(f'rule "{rule.name}" matched {why} but nobody was free ({nobody})')
            continue
        chosen, pick_why = _pick(rule, free)
        chosen.turn = rule.next_turn()
        chosen.day, chosen.assigned_on_day = today, chosen.today_count(today) + 1
        if chosen.open_leads is not None:
            chosen.open_leads += 1
        chosen.changed = True
        loads = [m.load() for m in rule.members if m.load() and reasons[m.id] is None]
        others = [reason for reason in reasons.values() if reason]
        parts = [
            *passed,
            f'rule "{rule.name}" matched {why}',
            f"{METHOD_WORDS[rule.method]}: {chosen.name}, {pick_why}",
            *loads,
            *others,
        ]
        return Decision(chosen.user_id, rule, "; ".join(parts))
    return Decision(None, None, "; ".join(passed) or "no assignment rules")
