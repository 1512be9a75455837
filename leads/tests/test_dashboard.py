"""The sales-ops dashboard in the admin: figures, filters, links into the lead list, scoping, query count."""

import html
import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import PASSWORD, client_for, horizontal_overflow, needs_chromium, screenshot
from leads.models import Lead, LeadStatus
from leads.tests.factories import LeadFactory
from organizations.models import User
from organizations.tests.factories import OrganizationFactory, UserFactory

DASHBOARD = reverse("admin:dashboard")
CHANGELIST = reverse("admin:leads_lead_changelist")


@pytest.fixture
def staff(organization):
    return UserFactory(organization=organization, role=User.Role.ADMIN, is_staff=True, name="Olga Ops")


@pytest.fixture
def rep(organization):
    return UserFactory(organization=organization, name="Raj Rep")


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def days_ago(days):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def leads(organization, rep):
    """Seven leads of the organization with known statuses, scores, sources, contacts and ages."""
    make = LeadFactory
    made = {
        "fresh": make(organization=organization, status="new", score=10, source="web", assigned_to=rep),
        "stale": make(organization=organization, status="contacted", score=50, source="web", assigned_to=rep),
        "never_contacted_old": make(organization=organization, status="new", score=None, source="fair"),
        "qualified": make(organization=organization, status="qualified", score=90, source="fair", assigned_to=rep),
        "converted": make(organization=organization, status="converted", score=70, source="web", assigned_to=rep),
        "inactive": make(organization=organization, status="new", score=40, source="web", is_active=False),
        "unqualified": make(organization=organization, status="unqualified", score=20, source="web", assigned_to=rep),
    }
    contacted = {"fresh": days_ago(2), "stale": days_ago(45), "qualified": days_ago(10), "converted": days_ago(40)}
    created = {"stale": days_ago(60), "never_contacted_old": days_ago(100), "inactive": days_ago(200)}
    for name, lead in made.items():
        Lead.objects.filter(pk=lead.pk).update(
            last_contacted_at=contacted.get(name), created_at=created.get(name, days_ago(3))
        )
    return made


def figures(response):
    """The page's tables as {section id: [[cell text, ...], ...]}."""
    html = response.content.decode()
    sections = {}
    for section_id, body in re.findall(r'<section[^>]*id="([\w-]+)"[^>]*>(.*?)</section>', html, re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        sections[section_id] = [
            [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in rows
        ]
    return sections


def links(response):
    """[(url, text)] of the page's links into the lead list."""
    found = re.findall(r'<a href="(/admin/leads/lead/\?[^"]*)"[^>]*>([^<]+)</a>', response.content.decode())
    return [(html.unescape(url), text) for url, text in found]


def test_dashboard_shows_pipeline_bands_reps_and_stale_leads(staff_client, leads):
    response = staff_client.get(DASHBOARD)
    assert response.status_code == 200
    tables = figures(response)
    assert tables["pipeline"][1:] == [
        ["New", "3"],
        ["Contacted", "1"],
        ["Qualified", "1"],
        ["Unqualified", "1"],
        ["Converted", "1"],
    ]
    assert tables["score-bands"][1:] == [
        ["Low (0–33)", "2"],
        ["Medium (34–66)", "2"],
        ["High (67–100)", "2"],
        ["Unscored", "1"],
    ]
    # Stale: open, not contacted for 30+ days: "stale" (contacted 45 days ago) and the never-contacted one of 100 days.
    assert re.search(r'id="stale-link">2<', response.content.decode())
    reps = {row[0]: row[1:] for row in tables["reps"][1:]}
    # Open: fresh, stale, qualified; contacted in 30 days: fresh, qualified; 1 of 5 converted; average score 48.
    assert reps["Raj Rep"] == ["3", "2", "1", "1", "20.0%", "48.0"]
    assert reps["Unassigned"] == ["1", "0", "0", "0", "0.0%", "40.0"]
    assert reps["Olga Ops"] == ["0", "0", "0", "0", "—", "—"]


def test_each_figure_links_to_the_lead_list_filtered_to_it(staff_client, leads, rep):
    response = staff_client.get(DASHBOARD)
    checked = 0
    for url, shown in links(response):
        if not shown.strip().isdigit():
            continue
        listed = staff_client.get(url)
        assert listed.status_code == 200, url
        rows = listed.content.decode().count('name="_selected_action"')
        assert rows == int(shown), f"{url} lists {rows} leads, the dashboard says {shown}"
        checked += 1
    assert checked >= 20


def test_weekly_figures_count_leads_created_in_the_period_per_source(staff_client, leads):
    response = staff_client.get(DASHBOARD, {"period": 30})
    weekly = figures(response)["weekly-leads"]
    assert weekly[0] == ["Week of", "fair", "web", "All"]
    # Created in the last 30 days: fresh, qualified, converted, unqualified (3 web, 1 fair).
    totals = [sum(int(cell) for cell in row[1:3]) for row in weekly[1:]]
    assert sum(totals) == 4
    conversion = figures(response)["conversion"][1:]
    this_week = next(row for row in conversion if row[1] != "0")
    assert this_week[1:] == ["4", "1", "25.0%"]

    year = figures(staff_client.get(DASHBOARD, {"period": 365}))["weekly-leads"]
    assert sum(int(row[-1]) for row in year[1:]) == 7


def test_source_filter_narrows_every_figure(staff_client, leads):
    tables = figures(staff_client.get(DASHBOARD, {"source": "fair"}))
    assert [row[1] for row in tables["pipeline"][1:]] == ["1", "0", "1", "0", "0"]
    reps = {row[0]: row[1:] for row in tables["reps"][1:]}
    assert reps["Raj Rep"][:4] == ["1", "1", "1", "0"]
    # Its links keep the source.
    assert all("source=fair" in url for url, _ in links(staff_client.get(DASHBOARD, {"source": "fair"})))


def test_bad_filters_fall_back_to_defaults(staff_client, leads):
    response = staff_client.get(DASHBOARD, {"period": "abc", "source": "nope", "organization": "x"})
    assert response.status_code == 200
    assert response.context["period"] == 30
    assert [row[1] for row in figures(response)["pipeline"][1:]] == ["0"] * 5


def test_figures_are_cached_for_a_minute_and_the_page_says_as_of(staff_client, leads, organization):
    first = staff_client.get(DASHBOARD)
    assert b"Figures as of" in first.content
    LeadFactory(organization=organization, status="new")
    assert figures(staff_client.get(DASHBOARD))["pipeline"][1] == ["New", "3"]
    cache.clear()
    assert figures(staff_client.get(DASHBOARD))["pipeline"][1] == ["New", "4"]


def test_dashboard_queries_are_few_and_fixed(staff_client, leads, organization, django_assert_num_queries):
    cache.clear()
    # Session, user, organization, the user's and groups' permissions (the admin's sidebar), the three aggregates
    # (the two tallies and the leads of the last 30 days), this week's routing, the members: at most 10, the
    # issue's limit.
    with django_assert_num_queries(10):
        assert staff_client.get(DASHBOARD).status_code == 200
    LeadFactory.create_batch(20, organization=organization, assigned_to=UserFactory(organization=organization))
    cache.clear()
    with django_assert_num_queries(10):
        assert staff_client.get(DASHBOARD, {"period": 365, "source": "web"}).status_code == 200
    # Cached: no aggregate (the members are still read: their names and who is active).
    with django_assert_num_queries(6):
        assert staff_client.get(DASHBOARD, {"period": 365, "source": "fair"}).status_code == 200


def test_staff_land_on_the_dashboard_after_logging_in(organization):
    staff = UserFactory(organization=organization, is_staff=True, email="ops@example.com")
    client = Client()
    login = client.get(reverse("admin:login"))
    assert login.context[REDIRECT_FIELD_NAME] == DASHBOARD
    response = client.post(
        reverse("admin:login"), {"username": staff.email, "password": PASSWORD, REDIRECT_FIELD_NAME: DASHBOARD}
    )
    assert response.status_code == 302 and response["Location"] == DASHBOARD
    index = client.get(reverse("admin:index"))
    assert f'href="{DASHBOARD}"'.encode() in index.content


def test_dashboard_needs_staff_of_an_active_organization(organization, leads):
    anonymous = Client().get(DASHBOARD)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    member = Client()
    member.force_login(UserFactory(organization=organization, is_staff=False))
    assert member.get(DASHBOARD).status_code == 302
    inactive = OrganizationFactory(is_active=False)
    locked_out = Client()
    locked_out.force_login(UserFactory(organization=inactive, is_staff=True))
    assert locked_out.get(DASHBOARD).status_code == 403


def test_superusers_pick_the_organization(leads, organization, other_organization):
    LeadFactory(organization=other_organization, status="qualified", source="other-src")
    root = User.objects.create_superuser(email="root@example.com", password=PASSWORD)
    client = Client()
    client.force_login(root)
    response = client.get(DASHBOARD, {"organization": str(other_organization.pk)})
    assert [row[1] for row in figures(response)["pipeline"][1:]] == ["0", "0", "1", "0", "0"]
    assert response.context["sources"] == ["other-src"]
    # Their links name the organization, as their lead list spans all of them.
    url = links(response)[0][0]
    assert ("organization__id__exact", str(other_organization.pk)) in parse_qsl(urlsplit(url).query)
    response = client.get(DASHBOARD, {"organization": str(organization.pk)})
    assert figures(response)["pipeline"][1] == ["New", "3"]


@needs_chromium
def test_dashboard_in_a_real_browser_matches_the_api(live_server, browser, organization, leads, staff):
    from selenium.webdriver.common.by import By

    api = client_for(staff)
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(staff.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # Logging in lands on the dashboard, with its four charts drawn by Chart.js.
    assert browser.find_element(By.ID, "pipeline-chart")
    assert browser.current_url.endswith(DASHBOARD)
    charts = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('canvas')].map("
        "c => [c.id, Chart.getChart(c).data.datasets.map(d => d.data)]))"
    )
    assert set(charts) == {"pipeline-chart", "bands-chart", "weekly-chart", "conversion-chart"}

    by_status = [api.get("/leads", {"status": status, "limit": 1}).json()["total"] for status in LeadStatus.values]
    assert charts["pipeline-chart"] == [by_status]
    stats = api.get("/leads/stats/scoring").json()["scoreDistribution"]
    unscored = api.get("/leads", {"limit": 1}).json()["total"] - sum(stats.values())
    assert charts["bands-chart"] == [[stats["low"], stats["medium"], stats["high"], unscored]]
    # The weekly chart stacks the sources of the same leads as its table.
    assert sum(sum(series) for series in charts["weekly-chart"]) == 4
    # The same numbers are on the page as tables.
    pipeline = browser.find_elements(By.CSS_SELECTOR, "#pipeline tbody td.num")
    assert [int(cell.text) for cell in pipeline] == by_status
    assert horizontal_overflow(browser) == 0
    screenshot(browser, "admin-dashboard")
