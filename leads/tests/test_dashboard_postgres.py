"""PostgreSQL plans the dashboard's weekly aggregate from statistics on the week (migration leads/0011)."""

import json

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Lead
from leads.selectors import lead_dashboard_rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def planned_groups(queryset) -> int:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]["Plan Rows"]


def test_the_weekly_aggregate_is_planned_with_about_as_many_groups_as_there_are(organization, monkeypatch):
    now = timezone.now()
    Lead.objects.bulk_create(Lead(organization=organization, name=f"Lead {n}", source="web") for n in range(5000))
    with connection.cursor() as cursor:  # 5,000 leads, each created at its own instant in 6 weeks
        cursor.execute(
            "UPDATE leads_lead SET created_at = %s - random() * interval '41 days' WHERE organization_id = %s",
            [now, organization.pk],
        )
        cursor.execute("ANALYZE leads_lead")
    queries = []
    real_list = list

    def capture(iterable):
        queries.append(iterable)
        return real_list(iterable)

    monkeypatch.setattr("leads.selectors.list", capture, raising=False)
    rows = lead_dashboard_rows(organization=organization, days=365, now=now)

    weekly = queries[1]
    assert len(rows["by_week_and_source"]) in (6, 7)
    # Without the statistics PostgreSQL plans a group per distinct created_at: 5,000.
    assert planned_groups(weekly) <= 10 * len(rows["by_week_and_source"])
