"""Work for the task worker (`manage.py db_worker`)."""

from django_tasks import task

from leads.lead_imports import lead_import_run
from leads.models import LeadImport


@task()
def run_lead_import(import_id: str) -> None:
    """Run an import uploaded through the admin that was too large to run in the request."""
    lead_import = LeadImport.objects.select_related("organization", "created_by").get(pk=import_id)
    if lead_import.status == LeadImport.Status.QUEUED:  # not twice, if the task is delivered again
        lead_import_run(lead_import)
