from django.apps import AppConfig
from django.db.backends.signals import connection_created


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"

    def ready(self):
        from events.hooks import register_payload
        from leads import tasks  # noqa: F401 - registers what a worker's death means for an import
        from leads.events import lead_payload
        from leadsite.db_types import load_timestamps_in_c

        register_payload("lead", lead_payload)
        # Leads carry four timestamps each: every list page loads hundreds (leadsite/db_types.py).
        connection_created.connect(load_timestamps_in_c, dispatch_uid="load_timestamps_in_c")
