"""A stored model as one SQL expression over leads_lead's columns: predictedScore for a set-based re-score.

The expression is intercept + one CASE per feature (the lead's value's coefficient), clamped,
through the sigmoid, times 100, rounded half up: the same arithmetic, in the same order, as
predictor.CompiledModel.predict. Works on SQLite (Django registers EXP and FLOOR there) and PostgreSQL.
"""

from django.db.models import Case, FloatField, JSONField, Q, Value, When
from django.db.models.fields.json import KeyTransform, KeyTransformExact, KeyTransformIsNull
from django.db.models.functions import Exp, Floor, Greatest, Least, Lower, StrIndex, Substr
from django.db.models.lookups import In

from scoring import features as F_
from scoring.predictor import LOGIT_LIMIT, CompiledModel


def _number(value: float) -> Value:
    return Value(float(value), output_field=FloatField())


def _case(whens: list, coefficients: dict) -> Case | Value:
    """CASE over (condition, value) pairs, the first that holds; a value without a coefficient is (other)'s, or 0.

    Every condition stays, also one whose value has no coefficient: the order decides (score bands)."""
    other = coefficients.get(F_.OTHER, 0.0)
    cases = [When(condition, then=_number(coefficients.get(value, other))) for condition, value in whens]
    return Case(*cases, default=_number(other), output_field=FloatField())


def _json(value) -> Value:
    """A JSON value to compare a key's value with: "5" (a string) equals only "5", never the number 5."""
    return Value(value, output_field=JSONField())


def _empty(column: str) -> Q:
    return Q(**{f"{column}__isnull": True}) | Q(**{column: ""})


def _domain():
    return Lower(Substr("email", StrIndex("email", Value("@")) + 1))


def feature_expression(feature: str, coefficients: dict):
    values = [value for value in coefficients if value != F_.OTHER]
    if feature == "source":
        whens = [(_empty("source"), F_.NONE)] + [(Q(source=v), v) for v in values if v != F_.NONE]
    elif feature == "emailKind":
        whens = [
            (_empty("email") | ~Q(email__contains="@"), "none"),
            (In(_domain(), sorted(F_.FREE_MAIL_DOMAINS)), "free"),
            (Q(email__contains="@"), "company"),
        ]
    elif feature == "emailTld":
        # Every known TLD is the end of the address; the ones without a dot in the domain are (none).
        tlds = [v for v in values if v != F_.NONE]
        whens = [(_empty("email") | ~Q(email__contains="@"), F_.NONE)]
        whens += [(~Q(email__regex=r"^[^@]*@.*\.[^.]+$"), F_.NONE)]
        whens += [(Q(email__iendswith=f".{tld}"), tld) for tld in tlds]
    elif feature in ("hasPhone", "hasCompany"):
        column = "phone" if feature == "hasPhone" else "company"
        whens = [(_empty(column), F_.NO), (~_empty(column), F_.YES)]
    elif feature == "scoreBand":
        whens = [(Q(score__isnull=True), "none")]
        whens += [(Q(score__lte=high), f"{low}-{high}") for low, high in F_.SCORE_BANDS]
    elif feature.startswith(F_.CUSTOM_PREFIX):
        key = feature[len(F_.CUSTOM_PREFIX) :]
        # Lookups built by hand: a key may hold "__" or spaces, which a keyword lookup cannot name.
        value_of = KeyTransform(key, "custom_fields")
        missing = Q(KeyTransformIsNull(value_of, True)) | Q(KeyTransformExact(value_of, _json(None)))
        whens = [(missing, F_.NONE)] + [(KeyTransformExact(value_of, _json(v)), v) for v in values if v != F_.NONE]
    elif feature == F_.ASSIGNEE:
        whens = [(Q(assigned_to_id__isnull=True), F_.NONE)]
        whens += [(Q(assigned_to_id=v), v) for v in values if v != F_.NONE]
    else:
        raise ValueError(f"Unknown feature {feature}")
    return _case(whens, coefficients)


def score_expression(model: CompiledModel):
    """predictedScore of a lead as a SQL expression (an integer 0-100)."""
    logit = _number(model.intercept)
    for feature in model.features:
        logit = logit + feature_expression(feature, model.coefficients.get(feature, {}))
    logit = Greatest(Least(logit, _number(LOGIT_LIMIT)), _number(-LOGIT_LIMIT))
    probability = _number(1.0) / (_number(1.0) + Exp(-logit))
    return Floor(probability * _number(100.0) + _number(0.5))
