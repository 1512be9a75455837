"""What a dead worker means for a webhook delivery (registered with jobs.leases at start-up).

Nothing is lost: before an attempt went out, its next attempt's task was committed (webhooks.attempts).
The dead worker's task is marked failed with the reason, and the delivery, which still says
"sending", says that the attempt was cut off and when the next one comes.
"""

from jobs.leases import LostTask, on_worker_lost
from webhooks.models import Delivery, Webhook
from webhooks.tasks import deliver


@on_worker_lost(deliver)
def attempt_cut_off(lost: LostTask) -> bool:
    delivery_id = lost.args[0]
    # Webhook first, then delivery: the order every writer of deliveries locks them in.
    webhook = Webhook.objects.select_for_update(of=("self",)).filter(deliveries=delivery_id).first()
    if webhook is None:
        return False
    delivery = Delivery.objects.select_for_update().filter(pk=delivery_id, status=Delivery.Status.SENDING).first()
    if delivery is None:
        return False
    when = f" at {delivery.next_attempt_at:%Y-%m-%d %H:%M:%S %Z}" if delivery.next_attempt_at else ""
    delivery.status = Delivery.Status.PENDING
    delivery.sending_until = None
    delivery.last_error = f"{lost.reason} The attempt got no outcome; the next attempt comes{when}."[:500]
    delivery.save(update_fields=["status", "sending_until", "last_error"])
    return False  # the next attempt's own task sends it again
