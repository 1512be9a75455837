"""What the model reads of a lead: only what is known before its outcome (docs/scoring.md, "Features").

A lead is given as plain attributes (model names: source, email, phone, company, score,
custom_fields, assigned_to_id); this module knows nothing of the Lead model. Each feature is
categorical and has one value per lead, a string: the model has a coefficient per (feature, value).

Never read: status, convertedAt, convertedCustomerId, lastContactedAt, notes, isActive, the
timestamps: they are written at or after the outcome, or by the work the outcome results from.
"""

import hashlib

# Bump when the stored model's layout changes; a stored model of another format is refused.
FORMAT = 1

# The features this code computes, and how; a model trained with another definition is refused.
# Changing how any feature is computed must change this text (and so FEATURE_SET).
FEATURE_DEFINITIONS = (
    "source: the source, (none) when empty",
    "emailKind: free | company | none; free = domain in FREE_MAIL_DOMAINS v1",
    "emailTld: the email domain's last label, lower case; (none) without an email or a dot",
    "hasPhone: yes | no (a non-empty phone)",
    "hasCompany: yes | no (a non-empty company)",
    "scoreBand: the manual score by 20 (0-19 ... 80-100), none",
    "customFields.<key>: string values of keys with at most 20 distinct values; (none) missing or null",
    "assignee: the assignee's id, (none); only when it raises held-out AUC by 0.01",
    "rare values: seen fewer than 10 times among resolved leads -> (other)",
)
FEATURE_SET = "v1-" + hashlib.sha256("\n".join(FEATURE_DEFINITIONS).encode()).hexdigest()[:12]

NONE, OTHER = "(none)", "(other)"
YES, NO = "yes", "no"
# A customFields key is a feature when its string values among the resolved leads are this few...
CUSTOM_FIELD_MAX_VALUES = 20
# ... and it is set on at least this many of them. At most this many keys (the most often set).
CUSTOM_FIELD_MIN_LEADS = 10
CUSTOM_FIELD_MAX_KEYS = 20
# A value seen fewer times than this among the resolved leads is "(other)".
MIN_VALUE_COUNT = 10
SCORE_BANDS = ((0, 19), (20, 39), (40, 59), (60, 79), (80, 100))

# Free mail providers: an address there says nothing of an employer. Lower case.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "fastmail.com",
        "tutanota.com",
        "hey.com",
        "free.fr",
        "orange.fr",
        "libero.it",
        "t-online.de",
    }
)

BASE_FEATURES = ("source", "emailKind", "emailTld", "hasPhone", "hasCompany", "scoreBand")
CUSTOM_PREFIX = "customFields."
ASSIGNEE = "assignee"


def email_domain(email) -> str | None:
    if not email or "@" not in email:
        return None
    return email.split("@", 1)[1].lower()


def email_kind(email) -> str:
    domain = email_domain(email)
    if domain is None:
        return "none"
    return "free" if domain in FREE_MAIL_DOMAINS else "company"


def email_tld(email) -> str:
    domain = email_domain(email)
    if not domain or "." not in domain:
        return NONE
    return domain.rsplit(".", 1)[1] or NONE


def score_band(score) -> str:
    if score is None:
        return "none"
    for low, high in SCORE_BANDS:
        if score <= high:
            return f"{low}-{high}"
    return f"{SCORE_BANDS[-1][0]}-{SCORE_BANDS[-1][1]}"


def present(value) -> str:
    return NO if value in (None, "") else YES


def custom_value(custom_fields, key) -> str | None:
    """A customFields key's value as a category: the string, (none) when missing or null, else None (other)."""
    value = (custom_fields or {}).get(key) if isinstance(custom_fields, dict) else None
    if value is None:
        return NONE
    return value if isinstance(value, str) else None


def base_values(attrs: dict) -> tuple:
    """The base features' values of a lead, in BASE_FEATURES order."""
    return (
        attrs.get("source") or NONE,
        email_kind(attrs.get("email")),
        email_tld(attrs.get("email")),
        present(attrs.get("phone")),
        present(attrs.get("company")),
        score_band(attrs.get("score")),
    )


def lead_values(attrs: dict, features: list[str]) -> dict:
    """{feature: raw value} of a lead for the model's features (before rare values become (other))."""
    base = dict(zip(BASE_FEATURES, base_values(attrs), strict=True))
    values = {}
    for feature in features:
        if feature in base:
            values[feature] = base[feature]
        elif feature.startswith(CUSTOM_PREFIX):
            value = custom_value(attrs.get("custom_fields"), feature[len(CUSTOM_PREFIX) :])
            values[feature] = OTHER if value is None else value
        elif feature == ASSIGNEE:
            assignee = attrs.get("assigned_to_id")
            values[feature] = NONE if assignee is None else str(assignee)
    return values
