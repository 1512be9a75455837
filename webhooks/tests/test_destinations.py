"""The guard against server-side request forgery, as production runs it (WEBHOOK_ALLOW_PRIVATE_URLS off)."""

import subprocess
import sys

import pytest

from webhooks.destinations import DestinationRefused, resolve
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

REFUSED = [
    "http://93.184.215.14/hook",  # not https
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://10.1.2.3/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://0.0.0.0/hook",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fd00:ec2::254]/hook",  # AWS metadata over IPv6
    "https://[::ffff:127.0.0.1]/hook",  # IPv4 loopback wrapped in IPv6
    "https://user:pass@93.184.215.14/hook",
]


@pytest.fixture
def production_guard(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_plain_http_urls_are_refused_on_creation(api, production_guard, url):
    response = api.post("/webhooks", {"url": url, "events": ["*"]}, format="json")

    assert response.status_code == 400, response.json()
    [detail] = response.json()["details"]
    assert detail["field"] == "url"
    assert not Webhook.objects.exists()


def test_a_public_https_address_is_accepted(api, production_guard):
    # A literal address resolves without DNS; nothing is sent on creation.
    response = api.post("/webhooks", {"url": "https://93.184.215.14/hook?x=1", "events": ["*"]}, format="json")

    assert response.status_code == 201


def test_the_attempt_connects_to_the_address_that_was_checked(production_guard):
    destination = resolve("https://93.184.215.14:8443/a/b?c=d")

    assert (destination.address, destination.port, destination.host, destination.path) == (
        "93.184.215.14",
        8443,
        "93.184.215.14",
        "/a/b?c=d",
    )


def test_local_receivers_are_allowed_in_development(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True

    assert resolve("http://127.0.0.1:8160/hook").address == "127.0.0.1"
    with pytest.raises(DestinationRefused):
        resolve("ftp://127.0.0.1/hook")


def test_production_settings_refuse_private_urls():
    code = "from django.conf import settings; print(settings.WEBHOOK_ALLOW_PRIVATE_URLS)"
    env = {"DJANGO_SETTINGS_MODULE": "leadsite.settings.production", "SECRET_KEY": "x" * 50, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert result.stdout.strip() == "False"
