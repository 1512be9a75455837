"""Production settings and serving, checked in real subprocesses (no database needed)."""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

PYTHON = sys.executable
GUNICORN = os.path.join(os.path.dirname(PYTHON), "gunicorn")


def production_env(tmp_path, **extra):
    env = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "DEBUG")}
    env.update(
        DJANGO_SETTINGS_MODULE="leadsite.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    env.update(extra)
    return env


def run_manage(env, *args):
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300
    )


def test_check_deploy_is_clean(tmp_path):
    result = run_manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("secret_key", [None, "", "too-short"])
def test_production_refuses_to_start_without_a_real_secret_key(tmp_path, secret_key):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key

    result = run_manage(env, "check")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


FOREIGN_HOST_REQUEST = """
import json, logging
from django.test import Client

records = []
handler = logging.Handler()
handler.emit = records.append
logging.getLogger().addHandler(handler)
response = Client(HTTP_HOST="attacker.example", secure=True).get("/api/leads")
print(json.dumps({
    "status": response.status_code,
    "body": response.json(),
    "records": [[r.name, r.levelname, r.exc_info is not None] for r in records],
}))
"""


def test_a_foreign_host_gets_a_json_400_and_one_warning_line_not_an_error_with_a_traceback(tmp_path):
    result = run_manage(production_env(tmp_path), "shell", "--no-imports", "-c", FOREIGN_HOST_REQUEST)

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 400
    assert outcome["body"]["details"][0]["code"] == "invalid_host"
    assert ["django.security.DisallowedHost", "WARNING", False] in outcome["records"]
    assert not [record for record in outcome["records"] if record[1] in ("ERROR", "CRITICAL") or record[2]]
    assert "Invalid HTTP_HOST header: 'attacker.example'" in result.stderr
    assert "Traceback" not in result.stderr


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url, **headers):
    """(status, body) of a GET, without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def gunicorn(tmp_path):
    """Real gunicorn with the production settings, the way `make serve` starts it, on a free port."""
    port = free_port()
    env = production_env(tmp_path, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1")
    collected = run_manage(env, "collectstatic", "--noinput", "-v0")
    assert collected.returncode == 0, collected.stderr

    log = open(tmp_path / "gunicorn.log", "w+")
    process = subprocess.Popen(
        [GUNICORN, "-c", "gunicorn.conf.py"], cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # Waiting for start-up, not asserting on speed.
        while True:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                get(f"{base_url}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def test_gunicorn_serves_probes_docs_and_static_files(gunicorn):
    https = {"X-Forwarded-Proto": "https"}  # as set by the TLS-terminating proxy

    # Probes answer over plain HTTP (load balancers inside the network); the rest goes to HTTPS.
    assert get(f"{gunicorn}/healthz") == (200, b'{"status":"ok"}')
    assert get(f"{gunicorn}/api/docs/")[0] == 301

    status, page = get(f"{gunicorn}/api/docs/", **https)
    assert status == 200
    bundle = re.search(rb'src="(/static/[^"]*swagger-ui-bundle\.js)"', page)
    assert bundle, page
    assert get(gunicorn + bundle.group(1).decode(), **https)[0] == 200
    assert get(f"{gunicorn}/static/admin/css/base.css", **https)[0] == 200
    assert get(f"{gunicorn}/static/no-such-file.css", **https)[0] == 404


def raw_request(base_url, request: bytes) -> tuple[int, dict, bytes]:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def test_gunicorn_refuses_an_overlong_url_and_oversized_headers_in_json(gunicorn):
    long_path = "/leads?q=" + "x" * 5000
    status, headers, body = raw_request(gunicorn, f"GET {long_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())

    assert (status, headers["content-type"]) == (414, "application/json")
    assert json.loads(body) == {
        "error": "Request-URI Too Long",  # HTTPStatus's phrase, as in every error answer
        "details": [
            {
                "message": "The request line (method, path and query string) is 5,022 bytes long; at most 4,094 "
                "are allowed. Shorten the URL: fewer or shorter query parameters.",
                "code": "uri_too_long",
            }
        ],
    }
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])

    huge_header = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {'y' * 10000}\r\n\r\n".encode()
    status, headers, body = raw_request(gunicorn, huge_header)
    assert (status, headers["content-type"]) == (431, "application/json")
    assert json.loads(body)["details"][0]["code"] == "headers_too_large"

    # A request line within the limit reaches the application (its 404 for an unknown path).
    status, body = get(f"{gunicorn}/{'z' * 4000}", **{"X-Forwarded-Proto": "https"})
    assert (status, json.loads(body)["details"][0]["code"]) == (404, "not_found")


def test_gunicorns_error_codes_are_the_apis():
    from leadsite import gunicorn_errors
    from leadsite.errors import ERROR_CODES

    assert {*gunicorn_errors.CODES.values(), gunicorn_errors.DEFAULT_CODE} <= set(ERROR_CODES)
