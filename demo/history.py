"""The demo organization's made-up history: its members, six months of leads and what became of each.

Pure Python, no database: `demo_history(now)` returns the same plan for the same `now` (one
`random.Random(SEED)`), with every moment relative to `now`. `demo.seeding` writes it.

The planted truth a scoring model can learn (issue 20): whether a lead converts, once it is
resolved, is drawn with the probability `true_probability(lead)`, a logistic function of its
source, the kind of its email's domain (a company's, free mail, none), whether it has a phone and
its `customFields.industry`. Nothing else matters: not the assignee, the country, the company or the
manual score. The features are correlated as real ones are: a company email usually comes with a
company name, a trade-show or cold-call lead usually has a phone, and the manual score is a rep's
noisy guess of the truth.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SEED = 2025
DAYS = 182
LEADS = 1550
DUPLICATE_PAIRS = 6

ADMIN, SALES_REP, READ_ONLY = "admin", "sales_rep", "read_only"


@dataclass(frozen=True)
class Member:
    key: str
    name: str
    email: str
    role: str
    share: float  # of the assigned leads


MEMBERS = (
    Member("demo", "Demo Admin", "demo@example.com", ADMIN, 0.08),
    Member("maria", "Maria Lopez", "maria.lopez@example.com", SALES_REP, 0.31),
    Member("james", "James Okafor", "james.okafor@example.com", SALES_REP, 0.26),
    Member("priya", "Priya Raman", "priya.raman@example.com", SALES_REP, 0.21),
    Member("tom", "Tom Becker", "tom.becker@example.com", SALES_REP, 0.14),
    Member("ines", "Ines Duarte", "ines.duarte@example.com", READ_ONLY, 0.0),
)

# The planted truth, in log-odds: BASELINE plus one effect per feature.
BASELINE = -0.9
SOURCE_EFFECTS = {
    "referral": 1.4,
    "trade_show": 0.5,
    "website": 0.2,
    "content_marketing": 0.0,
    "paid_advertising": -0.4,
    "social_media": -0.8,
    "cold_call": -1.5,
}
EMAIL_EFFECTS = {"company": 0.7, "free": -0.7, "none": -0.5}
PHONE_EFFECT = 0.6
INDUSTRY_EFFECTS = {
    "Technology": 0.6,
    "Finance": 0.3,
    "Healthcare": 0.0,
    "Manufacturing": -0.2,
    "Retail": -0.6,
    "Education": -1.0,
}

SOURCE_SHARES = {
    "website": 0.27,
    "referral": 0.10,
    "trade_show": 0.10,
    "cold_call": 0.14,
    "social_media": 0.14,
    "content_marketing": 0.13,
    "paid_advertising": 0.12,
}
# How often a lead of each source gives a company email address (the rest: free mail, or none).
COMPANY_EMAIL_SHARE = {
    "referral": 0.75,
    "trade_show": 0.8,
    "cold_call": 0.7,
    "website": 0.55,
    "content_marketing": 0.55,
    "paid_advertising": 0.45,
    "social_media": 0.35,
}
NO_EMAIL_SHARE = {"cold_call": 0.15}
PHONE_SHARE = {"trade_show": 0.9, "cold_call": 1.0, "referral": 0.7, "website": 0.45}
PHONE_SHARE_OTHERS = 0.35
# Company name given: tied to the email's kind, not to the outcome.
COMPANY_SHARE = {"company": 0.93, "free": 0.2, "none": 0.6}
INDUSTRY_SHARES = {
    "Technology": 0.25,
    "Finance": 0.15,
    "Healthcare": 0.15,
    "Manufacturing": 0.15,
    "Retail": 0.18,
    "Education": 0.12,
}
NO_INDUSTRY_SHARE = 0.08
COUNTRIES = {"US": (0.45, "com"), "GB": (0.2, "co.uk"), "DE": (0.15, "de"), "FR": (0.1, "fr"), "CA": (0.1, "ca")}
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de", "proton.me")

FIRST_NAMES = (
    "Olivia Liam Emma Noah Ava Elijah Sophia Lucas Mia Mateo Amelia Levi Harper Ethan Evelyn Aiden Luna Leo Chloe "
    "Hannah Jonas Lena Felix Clara Paul Chiara Hugo Manon Louis Camille Arjun Ananya Kenji Yuki Omar Layla Samir "
    "Fatima Diego Lucia Tomasz Zofia Nikolai Ingrid Sven Aisha Kwame Grace Daniel Rachel"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Martinez Wilson Anderson Taylor Thomas Moore Martin "
    "Jackson Lee Walker Hall Young King Wright Scott Green Baker Nelson Carter Mitchell Roberts Turner Muller "
    "Schmidt Schneider Fischer Weber Dubois Moreau Laurent Lefebvre Rossi Bianchi Novak Kowalski Sato Tanaka "
    "Nakamura Khan Patel Singh Chen Wang Nguyen Kim Park Silva Santos Costa Okafor Mensah Haddad"
).split()
COMPANY_WORDS = (
    "Northwind Bluefin Copperleaf Brightpath Ironbridge Silverline Greenfield Redwood Clearwater Summit Harbor "
    "Lumen Quantix Nimbus Vertex Orbital Keystone Pinnacle Meridian Cascade Sterling Evergreen Beacon Horizon "
    "Granite Falcon Atlas Juniper Maple Cobalt Aurora Polaris Sequoia Tidewater Helix Vantage Crescent Ember"
).split()
COMPANY_SUFFIXES = ("Labs", "Systems", "Logistics", "Health", "Foods", "Capital", "Software", "Works", "Retail")
TRADE_SHOWS = ("SaaStr Europa", "Web Summit", "CES", "Hannover Messe", "VivaTech")


@dataclass
class Step:
    """A write to the lead at `at`: by `actor` (a Member key, None for nobody), `via` (api, admin, import)."""

    at: datetime
    actor: str | None
    via: str
    action: str  # "updated", "converted"
    data: dict  # model field -> new value; a conversion's is empty (the seeder links the customer)


@dataclass
class PlannedLead:
    created_at: datetime
    created_by: str
    created_via: str
    fields: dict  # model field -> value at creation
    email_kind: str
    steps: list[Step] = field(default_factory=list)
    duplicate_of: int | None = None  # index of the lead this one duplicates

    @property
    def probability(self) -> float:
        return true_probability(
            source=self.fields["source"],
            email_kind=self.email_kind,
            has_phone=bool(self.fields.get("phone")),
            industry=self.fields["custom_fields"].get("industry"),
        )


def true_probability(*, source, email_kind, has_phone, industry) -> float:
    """The planted probability that a resolved lead with these features was converted."""
    logit = (
        BASELINE
        + SOURCE_EFFECTS[source]
        + EMAIL_EFFECTS[email_kind]
        + (PHONE_EFFECT if has_phone else 0.0)
        + INDUSTRY_EFFECTS.get(industry, 0.0)
    )
    return 1 / (1 + math.exp(-logit))


def demo_history(now: datetime) -> list[PlannedLead]:
    """Every lead of the demo organization, oldest first, with the writes made to it until `now`."""
    rng = random.Random(SEED)
    taken = set()  # emails and phones: duplicates are only the planted ones
    leads = [_new_lead(rng, _created_at(rng, now), taken) for _ in range(LEADS)]
    leads.sort(key=lambda lead: lead.created_at)
    for lead in leads:
        lead.steps = [step for step in _life(rng, lead) if step.at <= now]
    leads.extend(_duplicates(rng, leads, now))
    leads.sort(key=lambda lead: lead.created_at)
    return leads


def _pick(rng, shares: dict):
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _created_at(rng, now) -> datetime:
    """More leads lately than six months ago (about 1.9 times as many a day), few at weekends, in office hours."""
    while True:
        growth = rng.random() < 0.3
        fraction = 1 - math.sqrt(rng.random()) if growth else rng.random()
        moment = now - timedelta(days=DAYS * fraction)
        if moment.weekday() < 5 or rng.random() < 0.25:
            break
    moment = moment.replace(hour=rng.randint(7, 18), minute=rng.randint(0, 59), second=rng.randint(0, 59))
    return min(moment, now - timedelta(minutes=rng.randint(5, 600)))


def _new_lead(rng, created_at, taken: set) -> PlannedLead:
    source = _pick(rng, SOURCE_SHARES)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    country = _pick(rng, {code: share for code, (share, _) in COUNTRIES.items()})
    draw = rng.random()
    email_kind = (
        "none"
        if draw < NO_EMAIL_SHARE.get(source, 0.02)
        else "company"
        if draw < NO_EMAIL_SHARE.get(source, 0.02) + COMPANY_EMAIL_SHARE[source]
        else "free"
    )
    company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"
    email = _email(rng, first, last, email_kind, company, COUNTRIES[country][1], taken)
    has_phone = rng.random() < PHONE_SHARE.get(source, PHONE_SHARE_OTHERS)
    custom_fields = {"country": country}
    if rng.random() >= NO_INDUSTRY_SHARE:
        custom_fields["industry"] = _pick(rng, INDUSTRY_SHARES)
    fields = {
        "name": f"{first} {last}",
        "email": email,
        "phone": _phone(rng, country, taken) if has_phone else None,
        "company": company if rng.random() < COMPANY_SHARE[email_kind] else None,
        "source": source,
        "status": "new",
        "custom_fields": custom_fields,
        "notes": _notes(rng, source),
    }
    lead = PlannedLead(created_at, *_creator(source), fields=fields, email_kind=email_kind)
    fields["score"] = _manual_score(rng, lead.probability)
    fields["assigned_to"] = _assignee(rng)
    return lead


def _email(rng, first, last, kind, company, tld, taken: set) -> str | None:
    if kind == "none":
        return None
    if kind == "company":
        local, domain = f"{first}.{last}".lower(), company.split()[0].lower() + "." + tld
    else:
        local, domain = f"{first}{last}{rng.randint(1, 99)}".lower(), rng.choice(FREE_MAIL)
    email = f"{local}@{domain}"
    number = 2
    while email in taken:  # two people of one name at one company
        email = f"{local}{number}@{domain}"
        number += 1
    taken.add(email)
    return email


def _phone(rng, country, taken: set) -> str:
    prefix = {"US": "+1 415", "CA": "+1 604", "GB": "+44 20", "DE": "+49 30", "FR": "+33 1"}[country]
    while True:
        phone = f"{prefix} {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
        if phone not in taken:
            taken.add(phone)
            return phone


def _notes(rng, source) -> str | None:
    if source == "trade_show":
        return f"Met at our booth at {rng.choice(TRADE_SHOWS)}."
    if source == "referral" and rng.random() < 0.6:
        return "Referred by an existing customer."
    return None


def _creator(source) -> tuple[str, str]:
    """Who wrote the lead, and how: web forms through the API, trade-show lists imported, calls typed in."""
    if source == "trade_show":
        return "demo", "import"
    if source in ("cold_call", "referral"):
        return "maria", "admin"
    return "demo", "api"


def _manual_score(rng, probability) -> int | None:
    """A rep's guess, when they gave one: the truth seen through a lot of noise."""
    if rng.random() < 0.35:
        return None
    return max(0, min(100, round(20 + 60 * probability + rng.gauss(0, 18))))


def _assignee(rng) -> str | None:
    if rng.random() < 0.04:
        return None
    reps = [member for member in MEMBERS if member.share]
    return rng.choices([rep.key for rep in reps], weights=[rep.share for rep in reps])[0]


def _after(rng, moment, low_days, high_days) -> datetime:
    return moment + timedelta(days=rng.uniform(low_days, high_days))


def _life(rng, lead: PlannedLead) -> list[Step]:
    """What the lead's rep did with it: contact, follow up, qualify, then convert or give up.

    Some leads stall (nobody gets back to them); the others end converted, with the planted
    probability, or unqualified. Steps later than now are dropped by the caller: recent leads are
    still open at the stage they reached.
    """
    rep = lead.fields["assigned_to"]
    if rep is None or rng.random() < 0.12:
        return [] if rep is None or rng.random() < 0.5 else [_contact(lead, _after(rng, lead.created_at, 0.2, 4), rep)]
    converts = rng.random() < lead.probability
    contacted = _after(rng, lead.created_at, 0.05, 4)
    steps = [_contact(lead, contacted, rep, status="contacted")]
    if rng.random() < 0.3:
        steps.append(_contact(lead, _after(rng, contacted, 1, 6), rep))
    if converts or rng.random() < 0.55:
        qualified = _after(rng, steps[-1].at, 1, 10)
        steps.append(_contact(lead, qualified, rep, status="qualified"))
    if converts:
        steps.append(Step(_after(rng, steps[-1].at, 3, 25), rep, "api", "converted", {}))
    else:
        ended = _after(rng, steps[-1].at, 3, 25)
        data = {"status": "unqualified", "last_contacted_at": ended}
        if rng.random() < 0.1:
            data["is_active"] = False  # asked not to be contacted again
        steps.append(Step(ended, rep, "api", "updated", data))
    return steps


def _contact(lead, at, rep, status=None) -> Step:
    data = {"last_contacted_at": at}
    if status:
        data["status"] = status
    return Step(at, rep, "api", "updated", data)


def _duplicates(rng, leads, now) -> list[PlannedLead]:
    """The same people again, from another channel: the email in other letter case, or the phone written otherwise."""
    candidates = [
        index
        for index, lead in enumerate(leads)
        if lead.fields["email"]
        and lead.fields["phone"]
        and not lead.steps
        and lead.created_at < now - timedelta(days=3)
    ]
    duplicates = []
    for number, index in enumerate(rng.sample(candidates, DUPLICATE_PAIRS)):
        original = leads[index]
        fields = dict(original.fields, source="website", status="new", score=None, notes=None)
        fields["custom_fields"] = dict(original.fields["custom_fields"])
        if number % 2:
            fields["email"] = original.fields["email"].upper()
            fields["phone"] = None
        else:
            fields["email"] = None
            fields["phone"] = original.fields["phone"].replace(" ", "-")  # the same digits
        at = _after(rng, original.created_at, 0.5, 3)
        duplicates.append(
            PlannedLead(
                min(at, now),
                "demo",
                "api",
                fields=fields,
                email_kind=original.email_kind if fields["email"] else "none",
                duplicate_of=index,
            )
        )
    return duplicates
