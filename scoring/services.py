"""Training an organization's model, keeping its versions, and re-scoring its open leads set-based."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, Subquery
from django.utils import timezone

from leads import selectors
from leads.models import Lead
from organizations.models import Organization
from scoring import features, training
from scoring.models import KEEP_VERSIONS, ScoringModel
from scoring.predictor import CompiledModel
from scoring.sql import score_expression

logger = logging.getLogger(__name__)
Status = ScoringModel.Status

# Open leads re-scored per UPDATE after a retrain.
RESCORE_BATCH = 10_000
# A training still "training" after this long lost its worker (and its task was not recovered): another may start.
TRAINING_GIVEN_UP_AFTER = timedelta(hours=2)


@transaction.atomic
def training_request(*, organization, user=None, due_before=None) -> tuple[ScoringModel, bool]:
    """Queue a training of the organization's model: (the training, whether it is new).

    Under the organization's row lock, so that a double click (or two workers' schedules) starts
    one: a training already queued or running is returned as it is. With `due_before`, only if the
    organization's last training started before then (the nightly schedule).
    """
    from scoring.tasks import train_scoring_model  # the task module imports this one

    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    models = ScoringModel.objects.for_organization(organization)
    running = models.filter(status=Status.TRAINING, created_at__gte=timezone.now() - TRAINING_GIVEN_UP_AFTER).first()
    if running is not None:
        return running, False
    latest = models.order_by("-version").first()
    if due_before is not None and latest is not None and latest.created_at >= due_before:
        return latest, False
    row = ScoringModel.objects.create(
        organization=organization, version=(latest.version if latest else 0) + 1, requested_by=user
    )
    row.task_id = str(train_scoring_model.enqueue(row.pk).id)
    row.save(update_fields=["task_id"])
    return row, True


def start_training(*, organization, user=None) -> ScoringModel:
    """A training row for a training run right here (the command, the demo), not by the worker."""
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        latest = ScoringModel.objects.for_organization(organization).aggregate(v=Max("version"))["v"] or 0
        return ScoringModel.objects.create(organization=organization, version=latest + 1, requested_by=user)


def train_now(*, organization, user=None) -> ScoringModel:
    return run_training(start_training(organization=organization, user=user))


def run_training(row: ScoringModel) -> ScoringModel:
    """Train the model of a training row: ready (then every open lead is re-scored) or insufficient_data."""
    started = time.monotonic()
    organization = Organization.objects.get(pk=row.organization_id)
    counts = selectors.resolved_lead_counts(organization=organization)
    total = counts["converted"] + counts["unqualified"]
    row.counts = {"leads": total, **counts}
    row.format, row.feature_set = features.FORMAT, features.FEATURE_SET
    missing = training.needed(counts)
    if missing is not None:
        row.status, row.counts["needed"] = Status.INSUFFICIENT_DATA, missing
        row.features, row.intercept, row.coefficients, row.quality = [], None, {}, {}
    else:
        trained = training.train(organization=organization, counts=counts)
        row.status = Status.READY
        row.features, row.intercept = trained.features, trained.intercept
        row.coefficients, row.quality = trained.coefficients, trained.quality
    row.trained_at = timezone.now()
    with transaction.atomic():
        # The newest finished training decides; an older one finishing late is kept but does not take over.
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        newer = ScoringModel.objects.for_organization(organization).filter(
            version__gt=row.version, status__in=[Status.READY, Status.INSUFFICIENT_DATA]
        )
        takes_over = not newer.exists()
        row.seconds = time.monotonic() - started
        row.save()
        if takes_over:
            locked.scoring_model_version = row.version if row.status == Status.READY else None
            locked.save(update_fields=["scoring_model_version"])
        keep = ScoringModel.objects.for_organization(organization).order_by("-version")[:KEEP_VERSIONS]
        ScoringModel.objects.for_organization(organization).exclude(pk__in=[kept.pk for kept in keep]).exclude(
            status=Status.TRAINING
        ).delete()
    if takes_over:
        model = CompiledModel(row) if row.status == Status.READY else None
        rescored = rescore_open_leads(organization=organization, model=model)
        row.quality = {**row.quality, "rescoreSeconds": round(rescored, 3)}
        row.seconds = time.monotonic() - started
        row.save(update_fields=["quality", "seconds"])
    return row


def rescore_open_leads(*, organization, model: CompiledModel | None) -> float:
    """Every open lead's predictedScore by the model (null without one), one UPDATE per RESCORE_BATCH leads;
    converted and unqualified leads' scores become null. Returns the seconds it took.

    The batches are ranges of ids (read once, streamed); each UPDATE writes only the leads whose score changes
    (a retrain moves few), its WHERE served by the (organization, status, id) index.
    """
    started = time.monotonic()
    leads = Lead.objects.for_organization(organization)
    resolved = Q(status__in=selectors.RESOLVED_STATUSES)
    leads.filter(resolved, predicted_score__isnull=False).update(predicted_score=None)
    open_leads = leads.filter(status__in=selectors.OPEN_STATUSES)
    if model is None:
        open_leads.filter(predicted_score__isnull=False).update(predicted_score=None)
        return time.monotonic() - started
    expression = score_expression(model)
    ids = open_leads.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=RESCORE_BATCH)
    bounds, first = [], None
    for position, pk in enumerate(ids):
        if position % RESCORE_BATCH == 0:
            first = pk
        if position % RESCORE_BATCH == RESCORE_BATCH - 1:
            bounds.append((first, pk))
            first = None
    if first is not None:
        bounds.append((first, pk))
    for low, high in bounds:
        batch = open_leads.filter(pk__gte=low, pk__lte=high)
        batch.filter(Q(predicted_score__isnull=True) | ~Q(predicted_score=expression)).update(
            predicted_score=expression
        )
    return time.monotonic() - started


def retrain_due(now=None) -> list[ScoringModel]:
    """Queue a training for every active organization whose last one started SCORING_RETRAIN_HOURS ago or more
    (or that never trained and has resolved leads). The task worker's sweep calls it; 0 hours turns it off."""
    hours = settings.SCORING_RETRAIN_HOURS
    if not hours:
        return []
    now = now or timezone.now()
    due_before = now - timedelta(hours=hours)
    last = ScoringModel.objects.filter(organization=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    has_resolved = Lead.objects.filter(organization=OuterRef("pk"), status__in=selectors.RESOLVED_STATUSES)
    due = (
        Organization.objects.filter(is_active=True)
        .annotate(last_training=Subquery(last))
        .filter(Q(last_training__lt=due_before) | Q(last_training__isnull=True))
        .filter(Q(last_training__isnull=False) | Q(Exists(has_resolved)))
    )
    queued = []
    for organization in due:
        row, new = training_request(organization=organization, due_before=due_before)
        if new:
            queued.append(row)
    return queued
