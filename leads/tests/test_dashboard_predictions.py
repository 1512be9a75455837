"""The dashboard's predictions part (issue 20): expected conversions per source and rep, calibration, top leads."""

import json
import re

import pytest
from django.core.cache import cache
from django.db.models import Max
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import PASSWORD, horizontal_overflow, needs_chromium, screenshot
from leads.models import Lead
from leads.tests.factories import LeadFactory
from leads.tests.test_dashboard import DASHBOARD, figures
from organizations.models import Organization, User
from organizations.tests.factories import UserFactory
from scoring.models import ScoringModel

PREDICTIONS = reverse("admin:dashboard_predictions")
# The quality a trained model reports on its held-out leads: ten bins, some empty.
CALIBRATION = [
    {"meanPredicted": 0.05, "observedRate": 0.04, "count": 120},
    {"meanPredicted": 0.15, "observedRate": 0.17, "count": 300},
    {"meanPredicted": 0.25, "observedRate": 0.22, "count": 410},
    {"meanPredicted": 0.35, "observedRate": 0.36, "count": 380},
    {"meanPredicted": 0.45, "observedRate": 0.47, "count": 250},
    {"meanPredicted": 0.55, "observedRate": 0.52, "count": 190},
    {"meanPredicted": 0.65, "observedRate": 0.66, "count": 90},
    {"meanPredicted": 0.749, "observedRate": 0.8, "count": 25},
    {"meanPredicted": None, "observedRate": None, "count": 0},
    {"meanPredicted": None, "observedRate": None, "count": 0},
]
QUALITY = {"rocAuc": 0.8123, "brier": 0.1712, "baselineBrier": 0.2291, "calibration": CALIBRATION, "topFactors": []}


def ready_model(*, organization, quality, status="ready", counts=None):
    """A trained model of the organization (as scoring/ stores one); a ready one predicts its leads."""
    version = (ScoringModel.objects.filter(organization=organization).aggregate(v=Max("version"))["v"] or 0) + 1
    model = ScoringModel.objects.create(
        organization=organization,
        version=version,
        status=status,
        quality=quality if status == "ready" else {},
        counts=counts or {"leads": 2000, "converted": 800, "unqualified": 1200},
        trained_at=timezone.now() if status != "training" else None,
    )
    if status == "ready":
        Organization.objects.filter(pk=organization.pk).update(scoring_model_version=version)
    return model


@pytest.fixture
def staff(organization):
    return UserFactory(organization=organization, role=User.Role.ADMIN, is_staff=True, name="Olga Ops")


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def reps(organization):
    return (
        UserFactory(organization=organization, name="Raj Rep"),
        UserFactory(organization=organization, name="Mia Rep"),
    )


def lead(organization, predicted, **fields):
    made = LeadFactory(organization=organization, **fields)
    Lead.objects.filter(pk=made.pk).update(predicted_score=predicted)
    made.predicted_score = predicted
    return made


@pytest.fixture
def pipeline(organization, other_organization, reps):
    """Open leads with known predicted scores, and leads that must not count."""
    raj, mia = reps
    made = {
        "raj_web_90": lead(organization, 90, assigned_to=raj, source="web", name="Acme"),
        "raj_web_40": lead(organization, 40, assigned_to=raj, source="web", name="Bolt", status="contacted"),
        "raj_fair_70": lead(organization, 70, assigned_to=raj, source="fair", name="Cove", status="qualified"),
        "raj_unscored": lead(organization, None, assigned_to=raj, source="web", name="Dune"),
        "mia_fair_25": lead(organization, 25, assigned_to=mia, source="fair", name="Echo"),
        "unassigned_web_55": lead(organization, 55, source="web", name="Fern"),
        "no_source_10": lead(organization, 10, source=None, assigned_to=mia, name="Gale"),
        # Not open: resolved or inactive; and another organization's.
        "converted": lead(organization, None, status="converted", assigned_to=raj, source="web"),
        "unqualified": lead(organization, None, status="unqualified", assigned_to=raj, source="web"),
        "inactive": lead(organization, 99, is_active=False, assigned_to=raj, source="web"),
        "other": lead(other_organization, 99, source="web"),
    }
    return made


def predictions(client, **params):
    response = client.get(PREDICTIONS, params)
    assert response.status_code == 200
    return response


def test_without_a_ready_model_the_part_says_so_and_draws_nothing(staff_client, organization, pipeline):
    ready_model(organization=pipeline["other"].organization, quality=QUALITY)  # another organization's model
    response = predictions(staff_client)
    page = response.content.decode()
    assert 'id="no-model"' in page and "No ready scoring model" in page
    assert "calibration-chart" not in page and "expected-sources" not in page and "predictions-data" not in page


@pytest.mark.parametrize(
    ("status", "counts", "said"),
    [
        (None, None, "no model has been trained yet."),
        ("training", None, "a model is being trained"),
        (
            "insufficient_data",
            {
                "leads": 150,
                "converted": 12,
                "unqualified": 138,
                "needed": {"leads": 50, "converted": 8, "unqualified": 0},
            },
            "too few resolved leads to learn from (it needs 50 more resolved leads, 8 more converted).",
        ),
    ],
)
def test_without_a_ready_model_the_part_says_why(staff_client, organization, pipeline, status, counts, said):
    if status:
        ready_model(organization=organization, quality={}, status=status, counts=counts)
    page = predictions(staff_client).content.decode()
    assert said in page and "calibration-chart" not in page


def test_expected_conversions_per_source_and_rep_with_each_reps_top_leads(staff_client, organization, pipeline):
    ready_model(organization=organization, quality=QUALITY)
    response = predictions(staff_client)
    tables = figures(response)
    # Open: 7 leads (6 with a prediction): 90 + 40 + 70 + 25 + 55 + 10 = 290 -> 2.9 expected conversions.
    assert re.search(r'id="expected-total">2.9<', response.content.decode())
    assert tables["expected-sources"] == [
        ["Source", "Open", "With a prediction", "Expected conversions", "Mean probability"],
        ["web", "4", "3", "1.9", "61.7%"],
        ["fair", "2", "2", "1.0", "47.5%"],
        ["(no source)", "1", "1", "0.1", "10.0%"],
    ]
    assert tables["expected-reps"] == [
        ["Rep", "Open", "With a prediction", "Expected conversions", "Top open leads by predicted score"],
        ["Raj Rep", "4", "3", "2.0", "Acme 90%, Cove 70%, Bolt 40%"],
        ["Unassigned", "1", "1", "0.6", "Fern 55%"],
        ["Mia Rep", "2", "2", "0.4", "Echo 25%, Gale 10%"],
    ]
    # Each top lead links to its page; each open count to the list of those leads.
    page = response.content.decode()
    acme = pipeline["raj_web_90"]
    assert f'<a href="{reverse("admin:leads_lead_change", args=[acme.pk])}">Acme</a> 90%' in page
    for url, shown in re.findall(r'<a href="(/admin/leads/lead/\?[^"]*)">([\d,]+)</a>', page):
        listed = staff_client.get(url.replace("&amp;", "&"))
        assert listed.content.decode().count('name="_selected_action"') == int(shown), url


def test_top_leads_are_the_five_highest_of_a_rep_across_sources(staff_client, organization, reps):
    raj, _ = reps
    for index, score in enumerate([12, 95, 33, 95, 60, 71, 8]):
        lead(organization, score, assigned_to=raj, source=["web", "fair", "mail"][index % 3], name=f"L{index}")
    ready_model(organization=organization, quality=QUALITY)
    rows = {row[0]: row for row in figures(predictions(staff_client))["expected-reps"][1:]}
    first_95 = sorted(Lead.objects.filter(name__in=["L1", "L3"]), key=lambda lead: str(lead.pk))[0].name
    second_95 = {"L1": "L3", "L3": "L1"}[first_95]
    assert rows["Raj Rep"][4] == f"{first_95} 95%, {second_95} 95%, L5 71%, L4 60%, L2 33%"


def test_source_filter_narrows_the_part(staff_client, organization, pipeline):
    ready_model(organization=organization, quality=QUALITY)
    tables = figures(predictions(staff_client, source="fair"))
    assert tables["expected-sources"][1:] == [["fair", "2", "2", "1.0", "47.5%"]]
    assert tables["expected-reps"][1:] == [
        ["Raj Rep", "1", "1", "0.7", "Cove 70%"],
        ["Mia Rep", "1", "1", "0.3", "Echo 25%"],
    ]


def test_calibration_chart_and_its_table_show_the_models_held_out_bins(staff_client, organization, pipeline):
    ready_model(organization=organization, quality=QUALITY)
    response = predictions(staff_client)
    table = figures(response)["calibration"]
    assert table[0] == ["Predicted", "Mean predicted", "Observed rate", "Leads"]
    assert table[1:] == [
        ["0–10 %", "5.0%", "4.0%", "120"],
        ["10–20 %", "15.0%", "17.0%", "300"],
        ["20–30 %", "25.0%", "22.0%", "410"],
        ["30–40 %", "35.0%", "36.0%", "380"],
        ["40–50 %", "45.0%", "47.0%", "250"],
        ["50–60 %", "55.0%", "52.0%", "190"],
        ["60–70 %", "65.0%", "66.0%", "90"],
        ["70–80 %", "74.9%", "80.0%", "25"],
        ["80–90 %", "—", "—", "0"],
        ["90–100 %", "—", "—", "0"],
    ]
    page = response.content.decode()
    assert "ROC AUC 0.812" in page and "Brier score 0.171" in page and "conversion rate: 0.229" in page
    data = json.loads(re.search(r'id="predictions-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    # The chart draws the bins that hold leads, the same numbers as the table.
    assert data["calibration"] == [
        {"x": float(row[1][:-1]), "y": float(row[2][:-1]), "count": int(row[3])} for row in table[1:9]
    ]


def test_the_newest_ready_model_is_shown(staff_client, organization, pipeline):
    ready_model(organization=organization, quality=QUALITY)
    newer = {**QUALITY, "rocAuc": 0.9001}
    ready_model(organization=organization, quality=newer)
    page = predictions(staff_client).content.decode()
    assert "ROC AUC 0.900" in page


def test_the_page_loads_the_part_unless_it_is_cached(staff_client, organization, pipeline):
    ready_model(organization=organization, quality=QUALITY)
    page = staff_client.get(DASHBOARD).content.decode()
    # Not cached: a placeholder that dashboard.js replaces with the part from its URL.
    assert re.search(r'id="predictions" data-src="/admin/dashboard/predictions/\?source=" data-pending', page)
    assert "expected-sources" not in page
    predictions(staff_client)
    page = staff_client.get(DASHBOARD, {"source": "fair"}).content.decode()
    assert "data-pending" not in page
    assert figures_of(page)["expected-sources"][1:] == [["fair", "2", "2", "1.0", "47.5%"]]
    # Kept for a minute, like the other figures.
    lead(organization, 80, source="fair")
    assert figures(predictions(staff_client, source="fair"))["expected-sources"][1][1] == "2"
    cache.clear()
    assert figures(predictions(staff_client, source="fair"))["expected-sources"][1][1] == "3"


def figures_of(page):
    class Response:
        content = page.encode()

    return figures(Response)


def test_the_part_needs_staff_and_superusers_pick_the_organization(organization, other_organization, pipeline):
    ready_model(organization=other_organization, quality=QUALITY)
    anonymous = Client().get(PREDICTIONS)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    member = Client()
    member.force_login(UserFactory(organization=organization, is_staff=False))
    assert member.get(PREDICTIONS).status_code == 302

    root = User.objects.create_superuser(email="root@example.com", password=PASSWORD)
    client = Client()
    client.force_login(root)
    tables = figures(client.get(PREDICTIONS, {"organization": str(other_organization.pk)}))
    assert tables["expected-sources"][1:] == [["web", "1", "1", "1.0", "99.0%"]]
    # Its links name the organization, as a superuser's lead list spans all of them.
    page = client.get(PREDICTIONS, {"organization": str(other_organization.pk)}).content.decode()
    assert f"organization__id__exact={other_organization.pk}" in page


@needs_chromium
def test_predictions_in_a_real_browser(live_server, browser, organization, pipeline, staff):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ready_model(organization=organization, quality=QUALITY)
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(staff.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # The part arrives after the page and its calibration chart is drawn from the table's numbers.
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.ID, "calibration-chart"))
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script("return !!Chart.getChart(document.getElementById('calibration-chart'))")
    )
    points = browser.execute_script(
        "return Chart.getChart(document.getElementById('calibration-chart')).data.datasets[0].data"
    )
    assert [(point["x"], point["y"]) for point in points][:2] == [(5.0, 4.0), (15.0, 17.0)]
    assert browser.find_element(By.ID, "expected-total").text == "2.9"
    assert horizontal_overflow(browser) == 0
    screenshot(browser, "admin-dashboard-predictions")
