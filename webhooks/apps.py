from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"

    def ready(self):
        from events.hooks import register_on_recorded
        from webhooks import recovery  # noqa: F401 - registers what a worker's death means for a delivery
        from webhooks.services import enqueue_deliveries

        # The outbox's other half: deliveries are written in the transaction of the change.
        register_on_recorded(enqueue_deliveries)
