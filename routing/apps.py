from django.apps import AppConfig


class RoutingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "routing"
    verbose_name = "Lead routing"

    def ready(self):
        from routing import backlog  # noqa: F401 - registers the job that routes a large backlog
