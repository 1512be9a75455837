"""The app's URLs plus /bench/bare-leads: a plain Django view returning the same JSON as GET /leads.

No DRF, no authentication, no serializer: one hand-written query for the page and one for a
count capped at 1,001 rows (the API's exact-count limit), dumped with orjson. It is the floor
the API is compared against in the load run, routed only with DJANGO_SETTINGS_MODULE=bench.settings.
"""

import os

import orjson
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from leadsite import urls as app_urls

COLUMNS = (
    'id, organization_id AS "organizationId", name, email, phone, company, source, status, score, '
    'assigned_to_id AS "assignedTo", last_contacted_at AS "lastContactedAt", notes, custom_fields AS "customFields", '
    'is_active AS "isActive", converted_at AS "convertedAt", converted_customer_id AS "convertedCustomerId", '
    'created_at AS "createdAt", updated_at AS "updatedAt"'
)
ORGANIZATION_SLUG = os.environ.get("BENCH_ORGANIZATION", "bench-big")


def bare_leads(request):
    limit = int(request.GET.get("limit", 10))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM leads_lead WHERE organization_id = "
            "(SELECT id FROM organizations_organization WHERE slug = %s) LIMIT 1001) capped",
            [ORGANIZATION_SLUG],
        )
        total = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT {COLUMNS} FROM leads_lead WHERE organization_id = "
            "(SELECT id FROM organizations_organization WHERE slug = %s) "
            "ORDER BY created_at DESC, id DESC LIMIT %s",
            [ORGANIZATION_SLUG, limit],
        )
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["customFields"] = orjson.loads(row["customFields"]) if row["customFields"] else {}
    pages = -(-total // limit)
    body = {"data": rows, "total": total, "page": 1, "limit": limit, "totalPages": pages}
    return HttpResponse(orjson.dumps(body, option=orjson.OPT_UTC_Z), content_type="application/json")


def django_noop(request):
    """The floor of a Django request: routing and the middleware, no database."""
    return HttpResponse(b'{"ok":true}', content_type="application/json")


class DrfNoop(APIView):
    """The floor of an API request: the app's DRF settings (JWT authentication with its one query,
    permission, throttling, renderer), nothing else."""

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("bench/bare-leads", bare_leads),
    path("bench/django-noop", django_noop),
    path("bench/drf-noop", DrfNoop.as_view()),
    path("", include(app_urls)),
]
