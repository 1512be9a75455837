import threading
from pathlib import Path

import pytest
from django.core.cache import cache, caches
from django.db import connection
from rest_framework.test import APIClient

from organizations.models import User
from organizations.tests.factories import OrganizationFactory, UserFactory
from organizations.tokens import refresh_token_for

PASSWORD = "correct-horse-battery"


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` run only when the database is PostgreSQL."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Throttle counters live in the caches: every test starts with none.

    The `throttle` cache is a database table: a test's transaction takes its rows away, but a
    transactional test's rows stay (flush only empties the models' tables), so those are cleared.
    """
    cache.clear()
    yield
    cache.clear()
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        caches["throttle"].clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing is slow by design; tests only need passwords to round-trip."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_at_once(calls):
    """Call each function in its own thread, all released together; return their results in order.

    Each thread gets its own database connection (Django's are per thread) and closes it, so
    this needs `django_db(transaction=True)`.
    """
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh_token_for(user).access_token}")
    return client


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def user(organization):
    """The organization's admin: may do everything in its organization."""
    return UserFactory(organization=organization, role=User.Role.ADMIN)


@pytest.fixture
def api(user):
    """An API client authenticated with a real access token of `user`."""
    return client_for(user)


@pytest.fixture
def other_organization(db):
    return OrganizationFactory()


@pytest.fixture
def other_user(other_organization):
    return UserFactory(organization=other_organization, role=User.Role.ADMIN)


@pytest.fixture
def other_api(other_user):
    return client_for(other_user)


@pytest.fixture
def anonymous():
    return APIClient()


# -- Headless Chromium for the browser tests ------------------------------------------------------

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1366,900",  # the narrowest laptop screen the admin must fit without sideways scrolling
]
# Screenshots of the browser tests go here (not committed).
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="browser test: needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def browser():
    """Headless Chromium through selenium; `browser.get_log("performance")` holds its network events."""
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def screenshot(browser, name):
    """Save the whole page (as tall as its content, 1366 px wide) as artifacts/<name>.png; return the path."""
    ARTIFACTS.mkdir(exist_ok=True)
    for _ in range(2):  # a new width can change the height
        height = browser.execute_script(
            "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight"
        )
        browser.set_window_size(1366, min(max(height, 900), 4000))
    path = ARTIFACTS / f"{name}.png"
    assert browser.save_screenshot(str(path))
    return path


def horizontal_overflow(browser):
    """How many pixels the page, or a box of it that scrolls (the admin's result list), is wider than it shows."""
    return browser.execute_script(
        "return Math.max(...[document.documentElement, ...document.querySelectorAll('.results')]"
        ".map(box => box.scrollWidth - box.clientWidth))"
    )
