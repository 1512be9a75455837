"""Pages as a person sees them in headless Chromium: offline docs, admin lists that fit a 1366 px screen."""

import json
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from conftest import PASSWORD, horizontal_overflow, needs_chromium, screenshot
from customers.tests.factories import CustomerFactory
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import UserFactory

pytestmark = needs_chromium


def requested_urls(browser):
    """Every URL the page asked for since the last call, from Chrome's performance log (CDP network events)."""
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def foreign(urls, server):
    """The URLs that go to a host other than the server (data: and blob: stay in the page)."""
    own = urlsplit(server).netloc
    return [
        url for url in urls if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != own
    ]


@pytest.mark.parametrize(
    ("path", "rendered", "name"),
    [
        ("/api/docs/", "return !!document.querySelector('.swagger-ui .info .title')", "docs-swagger"),
        (
            "/api/redoc/",
            "return [...document.querySelectorAll('a')].some(a => a.textContent.includes('API docs by Redocly'))",
            "docs-redoc",
        ),
    ],
)
def test_docs_ask_no_other_host(db, live_server, browser, path, rendered, name):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live_server.url + path)
    WebDriverWait(browser, 30).until(lambda driver: driver.execute_script(rendered))
    # Let late requests (images after mount, fonts) start before reading the log.
    browser.execute_script("return document.fonts.ready.then(() => true)")
    WebDriverWait(browser, 5, poll_frequency=0.5).until(lambda driver: driver.execute_script("return true"))
    urls = requested_urls(browser)
    assert any(url.endswith("/api/schema/") for url in urls), urls
    assert foreign(urls, live_server.url) == []
    assert "Leads API" in browser.page_source
    if name == "docs-redoc":
        # Its fonts come from this server, and are the ones it asks for.
        assert browser.execute_script(
            "return document.fonts.check('16px Roboto') && document.fonts.check('16px Montserrat')"
        )
        assert any("/static/docs/fonts/" in url for url in urls)
    screenshot(browser, name)


def test_foreign_request_detection_works(live_server, browser):
    """The check above would notice: a page that loads an image from another host is caught."""
    browser.get("data:text/html,<img src='http://192.0.2.1/x.png'>")
    assert foreign(requested_urls(browser), live_server.url) == ["http://192.0.2.1/x.png"]


def test_lead_and_customer_lists_fit_1366_px(live_server, browser, organization):
    from selenium.webdriver.common.by import By

    staff = UserFactory(organization=organization, role=User.Role.ADMIN, is_staff=True, email="ops@fits.example")
    rep = UserFactory(organization=organization, name="Bartholomew Maximilian Featherstonehaugh-Worthington")
    long = "Internationale Handelsgesellschaft für Landmaschinen und Ersatzteile mbH & Co. KG"
    for n in range(5):
        LeadFactory(
            organization=organization,
            name=f"{long} {n}",
            company=long,
            email=f"extraordinarily.long.mailbox.name.{n}@subsidiary.{'verylongdomain' * 3}.example",
            source="partner-referral-programme-autumn-campaign",
            assigned_to=rep,
            score=77,
        )
        CustomerFactory(
            organization=organization, company_name=long, contact_email=f"accounts.payable.{n}@{long[:20]}.ex"
        )

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(staff.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    browser.find_element(By.ID, "pipeline-chart")
    for url, name in [
        (reverse("admin:leads_lead_changelist"), "admin-lead-list-1366"),
        (reverse("admin:customers_customer_changelist"), "admin-customer-list-1366"),
    ]:
        browser.set_window_size(1366, 900)
        browser.get(live_server.url + url)
        assert browser.find_element(By.ID, "result_list")
        overflow = horizontal_overflow(browser)
        screenshot(browser, name)
        assert overflow == 0, f"{url} scrolls sideways at 1366 px"
        # Cut text keeps its whole value on hover.
        cut = browser.find_elements(By.CSS_SELECTOR, "#result_list .truncate")
        assert cut and all(cell.get_attribute("title") for cell in cut)
