"""Reads of an organization's scoring model and of one lead's prediction."""

from leadsite.errors import Conflict
from scoring.models import ScoringModel
from scoring.predictor import ModelRefused, model_for, refusal

Status = ScoringModel.Status
QUALITY_KEYS = ("rocAuc", "brier", "baselineBrier", "calibration", "heldOutLeads", "trainedOnLeads",
                "assigneeAucGain", "assigneeUsed")  # fmt: skip


def model_body(*, organization) -> dict | None:
    """GET /scoring/model: the newest finished training, and whether one is queued or running; None: never trained."""
    models = ScoringModel.objects.for_organization(organization).order_by("-version")
    training = models.filter(status=Status.TRAINING).first()
    finished = models.exclude(status=Status.TRAINING).first()
    if finished is None and training is None:
        return None
    body = {
        "status": Status.TRAINING if training is not None else finished.status,
        "version": None,
        "trainedAt": None,
        "format": None,
        "featureSet": None,
        "features": [],
        "counts": None,
        "needed": None,
        "quality": None,
        "topFactors": [],
        "trainingStartedAt": training.created_at if training is not None else None,
        "problem": None,
    }
    if finished is not None:
        counts = dict(finished.counts)
        needed = counts.pop("needed", None)
        quality = finished.quality or {}
        body.update(
            version=finished.version,
            trainedAt=finished.trained_at,
            format=finished.format,
            featureSet=finished.feature_set,
            features=finished.features,
            counts=counts or None,
            needed=needed,
            quality={key: quality.get(key) for key in QUALITY_KEYS} if finished.status == Status.READY else None,
            topFactors=quality.get("topFactors", []),
            problem=refusal(finished) if finished.status == Status.READY else None,
        )
    return body


def lead_prediction(*, lead, organization) -> dict:
    """GET /leads/{id}/prediction: the lead's prediction and every factor of it; a Conflict when there is none."""
    if lead.status in ("converted", "unqualified"):
        raise Conflict(
            f"The lead is {lead.status}: its outcome is known, so it has no prediction.", code="lead_resolved"
        )
    try:
        model = model_for(organization)
    except ModelRefused as exc:
        raise Conflict(str(exc), code=ModelRefused.code) from None
    if model is None:
        raise Conflict(
            "Your organization has no ready scoring model (GET /scoring/model says why; POST /scoring/model/train "
            "trains one).",
            code="no_scoring_model",
        )
    attrs = {name: getattr(lead, name) for name in
             ("source", "email", "phone", "company", "score", "custom_fields", "assigned_to_id", "status")}  # fmt: skip
    prediction = model.predict(attrs)
    return {
        "probability": prediction.probability,
        "predictedScore": prediction.score,
        "baseline": prediction.baseline,
        "factors": [{"feature": f, "value": v, "effect": e} for f, v, e in prediction.factors],
        "modelVersion": model.version,
        "trainedAt": model.trained_at,
    }
