from django.apps import AppConfig


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"

    def ready(self):
        from events.hooks import register_payload
        from leads import tasks  # noqa: F401 - registers what a worker's death means for an import
        from leads.events import lead_payload

        register_payload("lead", lead_payload)
