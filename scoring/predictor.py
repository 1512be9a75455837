"""Predicting one lead from plain attributes at write time: what leads/services.py calls, knowing nothing of Lead.

A stored model (ScoringModel, plain JSON) is read once per process and version and kept here;
an organization without a ready model (Organization.scoring_model_version is null, read with the
user) costs no query at all, and one with a model costs one query per process after each retrain.
"""

import math
from dataclasses import dataclass

from scoring import features as F
from scoring.models import ScoringModel

# The logit is clamped to this range before the sigmoid (as in SQL, where EXP would overflow).
LOGIT_LIMIT = 30.0


class ModelRefused(Exception):
    """A stored model this code cannot read: another format or feature set. The message says which and what to do."""

    code = "incompatible_scoring_model"


def refusal(row) -> str | None:
    """Why this code refuses the stored model `row`, or None when it reads it."""
    if row.format != F.FORMAT or row.feature_set != F.FEATURE_SET:
        return (
            f"Scoring model version {row.version} was trained with format {row.format} and feature set "
            f"'{row.feature_set}'; this server reads format {F.FORMAT} with feature set '{F.FEATURE_SET}'. It is "
            "not used: retrain the model (POST /scoring/model/train or manage.py train_lead_scores)."
        )
    return None


def sigmoid(logit: float) -> float:
    logit = max(-LOGIT_LIMIT, min(LOGIT_LIMIT, logit))
    return 1.0 / (1.0 + math.exp(-logit))


def percent(probability: float) -> int:
    """The score: 100·p rounded half up (SQL's FLOOR(x + 0.5) gives the same)."""
    return int(math.floor(100.0 * probability + 0.5))


@dataclass
class Prediction:
    probability: float
    logit: float
    baseline: float
    factors: list  # [(feature, value, effect)], largest |effect| first

    @property
    def score(self) -> int:
        return percent(self.probability)


class CompiledModel:
    """A ready model's coefficients, ready to predict; built from its row, checked against this code."""

    def __init__(self, row: ScoringModel):
        reason = refusal(row)
        if reason is not None:
            raise ModelRefused(reason)
        self.version = row.version
        self.trained_at = row.trained_at
        self.features = list(row.features)
        self.intercept = float(row.intercept)
        self.coefficients = {feature: dict(values) for feature, values in row.coefficients.items()}
        self.uses_assignee = F.ASSIGNEE in self.features

    def value_of(self, feature: str, raw: str) -> str:
        """A lead's value as the model knows it: rare and unseen values are (other)."""
        known = self.coefficients.get(feature, {})
        return raw if raw in known else F.OTHER

    def predict(self, attrs: dict) -> Prediction:
        values = F.lead_values(attrs, self.features)
        factors, logit = [], self.intercept
        for feature in self.features:
            value = self.value_of(feature, values[feature])
            effect = self.coefficients.get(feature, {}).get(value, 0.0)
            logit += effect
            factors.append((feature, value, effect))
        factors.sort(key=lambda factor: -abs(factor[2]))
        return Prediction(probability=sigmoid(logit), logit=logit, baseline=self.intercept, factors=factors)

    def score(self, attrs: dict) -> int:
        return self.predict(attrs).score


# (organization id, version) -> CompiledModel (or the ModelRefused it raised); a few per organization at most.
_models: dict = {}


def model_for(organization) -> CompiledModel | None:
    """The organization's ready model, or None when it has none (no query then). Raises ModelRefused."""
    version = getattr(organization, "scoring_model_version", None)
    if version is None:
        return None
    key = (organization.pk, version)
    model = _models.get(key)
    if model is None:
        row = ScoringModel.objects.filter(organization_id=organization.pk, version=version).first()
        if row is None or row.status != ScoringModel.Status.READY:
            return None
        try:
            model = CompiledModel(row)
        except ModelRefused as exc:
            model = exc
        if len(_models) > 1000:
            _models.clear()
        _models[key] = model
    if isinstance(model, ModelRefused):
        raise model
    return model


def usable_model_for(organization) -> CompiledModel | None:
    """model_for, with a refused model as no model: a write never fails for the scorer (its GET says why)."""
    try:
        return model_for(organization)
    except ModelRefused:
        return None


def forget_models() -> None:
    _models.clear()


RESOLVED_STATUSES = ("converted", "unqualified")


def predicted_score(model: CompiledModel | None, attrs: dict) -> int | None:
    """A lead's predictedScore: null without a model and for converted or unqualified leads."""
    if model is None or attrs.get("status") in RESOLVED_STATUSES:
        return None
    return model.score(attrs)
