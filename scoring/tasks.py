"""Training in the task worker: on demand (POST /scoring/model/train) and on a schedule (SCORING_RETRAIN_HOURS)."""

import logging

from django_tasks import task

from jobs.leases import LostTask, on_sweep, on_worker_lost
from scoring import services
from scoring.models import ScoringModel

logger = logging.getLogger(__name__)


@task()
def train_scoring_model(model_id: int) -> None:
    """Train the model of a queued training row; a row that is no longer training (done, deleted) is left alone."""
    row = ScoringModel.objects.filter(pk=model_id, status=ScoringModel.Status.TRAINING).first()
    if row is None:
        return
    try:
        services.run_training(row)
    except Exception:
        # The organization keeps the model it had; GET /scoring/model shows it again.
        logger.exception("Training of scoring model %s failed", model_id)
        ScoringModel.objects.filter(pk=model_id, status=ScoringModel.Status.TRAINING).delete()
        raise


@on_worker_lost(train_scoring_model)
def retrain_or_give_up(lost: LostTask) -> bool:
    """A training whose worker died starts again (it writes nothing until it ends); given up, its row goes."""
    if lost.may_retry:
        return ScoringModel.objects.filter(pk=lost.args[0], status=ScoringModel.Status.TRAINING).exists()
    ScoringModel.objects.filter(pk=lost.args[0], status=ScoringModel.Status.TRAINING).delete()
    return False


@on_sweep
def retrain_when_due(now) -> None:
    """Every worker's sweep (every WORKER_HEARTBEAT_SECONDS) queues the trainings that are due: one query when none."""
    services.retrain_due(now)
