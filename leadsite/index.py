"""GET /: where to go from the root, for a person with a browser or a client exploring the API.

A plain Django view, not a DRF one: it is no part of the API's schema.
"""

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

LINKS = {
    "docs": "swagger-ui",
    "redoc": "redoc",
    "schema": "schema",
    "admin": "admin:index",
    "health": "healthz",
    "ready": "readyz",
}


@require_safe
def index_view(request):
    about = settings.SPECTACULAR_SETTINGS
    links = {name: request.build_absolute_uri(reverse(url_name)) for name, url_name in LINKS.items()}
    return JsonResponse({"name": about["TITLE"], "version": about["VERSION"], "links": links})
