from django.apps import AppConfig


class JobsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"
    verbose_name = "Jobs and task workers"

    def ready(self):
        from jobs import tasks  # noqa: F401 - registers what a worker's death means for a job
