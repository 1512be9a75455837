"""Tasks run by the worker (`manage.py db_worker`); on Django 6 the import becomes `django.tasks`."""

from django_tasks import task

from webhooks.attempts import run_attempt


@task()
def deliver(delivery_id: str) -> None:
    """One attempt of a delivery (see webhooks.attempts); its outcome is recorded on the Delivery row."""
    run_attempt(delivery_id)
