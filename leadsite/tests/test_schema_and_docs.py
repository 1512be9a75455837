import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_valid_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))


def test_schema_documents_the_spec_paths_without_trailing_slashes():
    schema = APIClient().get("/api/schema/?format=json").json()

    for path in (
        "/leads",
        "/leads/{id}",
        "/leads/{id}/convert-to-customer",
        "/leads/by-source/{source}",
        "/leads/assigned-to/{assigneeId}",
        "/leads/stats/scoring",
    ):
        assert path in schema["paths"]
    assert not any(path.endswith("/") and path.startswith("/leads") for path in schema["paths"])


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_render_with_local_assets(path):
    response = APIClient().get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
