"""The planted truth of the bench leads (issue 20): what `bench/load.py` draws and a bench scores against.

Once resolved, a bench lead was converted (against unqualified) with the probability
`true_probability(source, email, phone, custom_fields)`: a logistic function of its source, the kind of
its email's domain (a company's, free mail, none), whether it has a phone and its
`customFields.industry`. Nothing else matters: not the assignee, the company, `customFields.country`,
the email's top-level domain or the manual score. The features are correlated as real ones are: a
company email usually comes with a company name, a free-mail address rarely does; trade-show and
cold-call leads nearly always have a phone; the manual score is a rep's noisy guess of the truth.

The truth is a function of the stored fields only, so a bench recovers it from the rows themselves
(`true_probability(**row)`), also for leads that are still open, whose outcome nobody drew.
"""

import math

# In log-odds: BASELINE plus one effect per feature. BASELINE puts the mean over all leads near 0.4,
# so that 10 % of all leads are converted and 15 % unqualified at load.py's default open share.
BASELINE = -1.05
SOURCE_EFFECTS = {
    "referral": 1.3,
    "partner": 0.9,
    "trade_show": 0.5,
    "website": 0.1,
    "email_campaign": -0.3,
    "linkedin": -0.5,
    "cold_call": -1.4,
    None: -0.2,
}
EMAIL_EFFECTS = {"company": 0.7, "free": -0.6, "none": -0.5}
PHONE_EFFECT = 0.6
INDUSTRY_EFFECTS = {  # a lead without an industry: 0
    "saas": 0.6,
    "finance": 0.3,
    "health": 0.0,
    "manufacturing": -0.2,
    "retail": -0.5,
    "education": -0.9,
}
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de", "proton.me")

# How the features come together (shares of leads), by source where it differs.
COMPANY_EMAIL_SHARE = {
    "referral": 0.7,
    "partner": 0.8,
    "trade_show": 0.8,
    "cold_call": 0.65,
    "website": 0.5,
    "email_campaign": 0.55,
    "linkedin": 0.45,
    None: 0.5,
}
NO_EMAIL_SHARE = {"cold_call": 0.12}  # others: NO_EMAIL_SHARE_OTHERS
NO_EMAIL_SHARE_OTHERS = 0.04
PHONE_SHARE = {"trade_show": 0.9, "cold_call": 1.0, "referral": 0.7, "partner": 0.7}  # others: PHONE_SHARE_OTHERS
PHONE_SHARE_OTHERS = 0.6
COMPANY_SHARE = {"company": 0.93, "free": 0.2, "none": 0.6}  # a company name given, by email kind
INDUSTRY_SHARES = {"saas": 25, "finance": 15, "health": 15, "manufacturing": 15, "retail": 18, "education": 12}
NO_INDUSTRY_SHARE = 0.1
COUNTRIES = {"US": ("com", 45), "GB": ("co.uk", 20), "DE": ("de", 15), "FR": ("fr", 10), "CA": ("ca", 10)}
NO_COUNTRY_SHARE = 0.5


def email_kind(email):
    """'none', 'free' (a domain in FREE_MAIL) or 'company'."""
    if not email:
        return "none"
    return "free" if email.rsplit("@", 1)[-1].lower() in FREE_MAIL else "company"


_CACHE = {}


def true_probability(source, email, phone, custom_fields, **_ignored):
    """The planted probability that a bench lead with these fields, once resolved, was converted.

    `custom_fields` is the lead's dict (or its JSON text); other keyword arguments (a row's other
    columns) are ignored, so `true_probability(**row)` works.
    """
    if isinstance(custom_fields, str):
        import json

        custom_fields = json.loads(custom_fields)
    key = (source, email_kind(email), bool(phone), (custom_fields or {}).get("industry"))
    probability = _CACHE.get(key)
    if probability is None:
        logit = (
            BASELINE
            + SOURCE_EFFECTS.get(key[0], SOURCE_EFFECTS[None])
            + EMAIL_EFFECTS[key[1]]
            + (PHONE_EFFECT if key[2] else 0.0)
            + INDUSTRY_EFFECTS.get(key[3], 0.0)
        )
        probability = _CACHE[key] = 1 / (1 + math.exp(-logit))
    return probability
