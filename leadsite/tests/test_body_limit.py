import json
from http import HTTPStatus

import pytest

from leads.models import Lead

pytestmark = pytest.mark.django_db


def test_body_over_the_limit_is_413_in_the_error_format(api, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    body = json.dumps({"name": "Big", "notes": "x" * 1000})

    response = api.post("/leads", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "error": HTTPStatus(413).phrase,  # "Request Entity Too Large" before Python 3.13
        "details": [
            {"message": f"The request body is {len(body)} bytes; the limit is 1000 bytes.", "code": "too_large"}
        ],
    }
    assert not Lead.objects.exists()


def test_body_at_the_limit_is_accepted(api, settings):
    body = json.dumps({"name": "Fits", "notes": ""})
    body = json.dumps({"name": "Fits", "notes": "x" * (1000 - len(body))})
    assert len(body) == 1000
    settings.MAX_REQUEST_BODY_BYTES = 1000

    assert api.post("/leads", body, content_type="application/json").status_code == 201


def test_the_limit_is_refused_before_authentication(anonymous, settings):
    settings.MAX_REQUEST_BODY_BYTES = 10
    assert anonymous.post("/auth/token", {"email": "a" * 20}, format="json").status_code == 413


def test_default_limit_is_one_megabyte_and_configurable(monkeypatch):
    import importlib

    import leadsite.settings.base as base

    assert base.MAX_REQUEST_BODY_BYTES == base.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024
    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", "2048")
    try:
        assert importlib.reload(base).MAX_REQUEST_BODY_BYTES == 2048
    finally:
        monkeypatch.undo()
        importlib.reload(base)
