from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"

    def ready(self):
        from webhooks import recovery  # noqa: F401 - registers what a worker's death means for a delivery
