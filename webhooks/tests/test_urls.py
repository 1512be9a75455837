"""One definition of a valid webhook URL (webhooks.destinations.parse_url): the API, the admin and every
attempt agree on it. Production's guard (WEBHOOK_ALLOW_PRIVATE_URLS off) unless a test says otherwise."""

import socket

import pytest

from webhooks import destinations
from webhooks.admin import WebhookForm
from webhooks.destinations import DestinationRefused, resolve
from webhooks.models import Webhook
from webhooks.sending import send

pytestmark = pytest.mark.django_db

PUBLIC_ADDRESS = "93.184.215.14"

# As sent, and as stored and shown.
ACCEPTED = [
    ("https://hooks.example.com:10443/in", "https://hooks.example.com:10443/in"),
    ("https://hooks.example.com:65535/in", "https://hooks.example.com:65535/in"),
    ("HTTPS://Hooks.Example.COM/in", "https://hooks.example.com/in"),
    ("https://bücher.example/in?q=ä", "https://xn--bcher-kva.example/in?q=%C3%A4"),
    ("https://[2606:4700:4700::1111]/in", "https://[2606:4700:4700::1111]/in"),
    ("https://[2606:4700:4700:0:0:0:0:1111]:8443/in", "https://[2606:4700:4700::1111]:8443/in"),
    (f"https://{PUBLIC_ADDRESS}/hook", f"https://{PUBLIC_ADDRESS}/hook"),
    (f"https://{'a' * 63}.example/in", f"https://{'a' * 63}.example/in"),
]
# As sent, and what the error says.
REFUSED = [
    ("https://-/h", "must not start or end with a hyphen"),
    ("https://./h", "empty label"),
    ("https://a..b/h", "empty label"),
    (f"https://{'a' * 60 + '.' + 'b' * 60 + '.' + 'c' * 60 + '.' + 'd' * 60 + '.' + 'e' * 57}/h", "longer than 253"),
    (f"https://{'a' * 64}.example/h", "longer than 63"),
    ("https://hooks.example.com:0/in", "port 0 is out of range; use 1-65535"),
    ("https://hooks.example.com:65536/in", "port 65536 is out of range; use 1-65535"),
    ("https://hooks.example.com:https/in", "port 'https' is not a number"),
    ("https://hooks_example.com/in", "'_' (u+005f) may not be in a host name"),
    ("https://127.1/in", "not a valid ipv4 address"),
    ("https://[2001:db8::zz]/in", "not a valid url"),
    ("https://hooks.example.com/a b", "spaces or control characters"),
    ("https:///in", "no host"),
]


@pytest.fixture(autouse=True)
def production_guard(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """Names resolve to a public address, without asking a DNS server; the names asked are kept."""
    asked = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        if any(c.isalpha() for c in host) and ":" not in host:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(destinations.socket, "getaddrinfo", getaddrinfo)
    return asked


def admin_form(organization, url):
    data = {"organization": organization.pk, "url": url, "event_types": ["*"], "description": "", "is_active": "on"}
    return WebhookForm(data=data)


@pytest.mark.parametrize("url, stored", ACCEPTED)
def test_valid_urls_are_accepted_and_stored_in_one_form(api, organization, url, stored):
    response = api.post("/webhooks", {"url": url, "events": ["*"]}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["url"] == Webhook.objects.get().url == stored
    form = admin_form(organization, url)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["url"] == stored


@pytest.mark.parametrize("url, message", REFUSED)
def test_malformed_urls_are_refused_saying_what_is_wrong(api, organization, url, message):
    response = api.post("/webhooks", {"url": url, "events": ["*"]}, format="json")

    assert response.status_code == 400
    [detail] = response.json()["details"]
    assert (detail["field"], detail["code"]) == ("url", "invalid")
    assert message in detail["message"].lower()
    assert not Webhook.objects.exists()
    form = admin_form(organization, url)
    assert not form.is_valid()
    assert form.errors["url"] == [detail["message"]]


def test_the_host_asked_of_the_dns_is_the_punycode_name(api, public_dns):
    response = api.post("/webhooks", {"url": "https://Bücher.example/in", "events": ["*"]}, format="json")

    assert response.status_code == 201

    assert public_dns == ["xn--bcher-kva.example"]


def test_a_webhook_sent_back_as_shown_is_accepted(api):
    created = api.post("/webhooks", {"url": "https://hooks.example.com:10443/in", "events": ["*"]}, format="json")
    shown = api.get(f"/webhooks/{created.json()['id']}").json()

    response = api.put(f"/webhooks/{shown['id']}", shown, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["url"] == "https://hooks.example.com:10443/in"


def test_local_receivers_on_ephemeral_ports_and_ipv6_literals_where_private_urls_are_allowed(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True

    for url in ("http://127.0.0.1:54321/hook", "https://[2001:db8::1]/in", "http://[::1]:49152/hook"):
        response = api.post("/webhooks", {"url": url, "events": ["*"]}, format="json")
        assert (response.status_code, response.json()["url"]) == (201, url)


def test_the_guard_is_as_strict_for_the_new_spellings(api):
    for url in (
        "https://[2001:db8::1]/in",
        "HTTPS://127.0.0.1:10443/in",
        "https://[::1]:65535/in",
        "HTTP://x.example/",
    ):
        response = api.post("/webhooks", {"url": url, "events": ["*"]}, format="json")
        assert response.status_code == 400, url
        assert response.json()["details"][0]["code"] == "url_not_allowed"


def test_each_attempt_parses_the_url_the_same_way():
    destination = resolve("HTTPS://Bücher.example:10443/in?a=1")

    assert (destination.host, destination.port, destination.path, destination.address) == (
        "xn--bcher-kva.example",
        10443,
        "/in?a=1",
        PUBLIC_ADDRESS,
    )
    with pytest.raises(DestinationRefused, match="port 0"):
        resolve("https://hooks.example.com:0/in")
    # A URL saved before this definition (the admin took ":0" as 443) fails its attempts, saying why.
    outcome = send(url="https://hooks.example.com:0/in", secret="whsec_" + "A" * 44, message_id="m", body="{}")
    assert (outcome.succeeded, outcome.error) == (False, "The port 0 is out of range; use 1-65535.")
