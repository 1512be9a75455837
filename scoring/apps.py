from django.apps import AppConfig


class ScoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "scoring"
    verbose_name = "Predictive lead scoring"

    def ready(self):
        from scoring import tasks  # noqa: F401  (the task and the worker's nightly retrain check)
