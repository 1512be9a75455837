import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory

FIELDS = [
    "name",
    "email",
    "phone",
    "company",
    "source",
    "status",
    "score",
    "assigned_to_id",
    "last_contacted_at",
    "notes",
    "custom_fields",
    "is_active",
]


def export(organization, *args):
    out = io.StringIO()
    call_command("export_leads", "--organization", organization.slug, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def import_file(path, organization, *args):
    out = io.StringIO()
    call_command("import_leads", str(path), "--organization", organization.slug, *args, stdout=out, stderr=out)
    return out.getvalue()


def lead_data(organization):
    return [
        {name: row[name] for name in FIELDS}
        for row in Lead.objects.for_organization(organization).order_by("email", "name").values()
    ]


@pytest.fixture
def varied_leads(organization, user):
    return [
        LeadFactory(
            organization=organization,
            name='Acme, "the" company',
            email="a@acme.test",
            status="qualified",
            score=75,
            assigned_to=user,
            last_contacted_at=datetime(2025, 5, 11, 14, 0, 0, 123456, tzinfo=UTC),
            notes="line one\nline two; ünïcode",
            custom_fields={"industry": "Tech", "sizes": [1, 2], "nested": {"x": None}},
        ),
        LeadFactory(
            organization=organization,
            name="Globex",
            email="g@globex.test",
            phone=None,
            company=None,
            source=None,
            score=None,
            is_active=False,
            status="converted",
        ),
        LeadFactory(organization=organization, name="Initech", email="i@initech.test", source="referral", score=10),
    ]


@pytest.mark.django_db
class TestExport:
    def test_csv_has_the_api_fields_and_values(self, organization, varied_leads):
        rows = list(csv.DictReader(io.StringIO(export(organization))))

        acme = next(row for row in rows if row["name"].startswith("Acme"))
        assert acme["id"] == str(varied_leads[0].pk)
        assert acme["organizationId"] == str(organization.pk)
        assert json.loads(acme["customFields"]) == {"industry": "Tech", "sizes": [1, 2], "nested": {"x": None}}
        assert acme["isActive"] == "true" and acme["score"] == "75"
        assert acme["lastContactedAt"] == "2025-05-11T14:00:00.123456Z"
        assert acme["notes"] == "line one\nline two; ünïcode"
        globex = next(row for row in rows if row["name"] == "Globex")
        assert (globex["phone"], globex["score"], globex["isActive"]) == ("", "", "false")

    def test_jsonl_to_a_file_is_the_api_representation(self, organization, varied_leads, api, tmp_path):
        path = tmp_path / "leads.jsonl"
        export(organization, "--output", str(path))

        exported = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        listed = api.get("/leads", {"limit": 100, "sortField": "createdAt", "sortOrder": "asc"}).json()["data"]
        for lead in listed:
            lead["lastContactedAt"] = lead["lastContactedAt"] and lead["lastContactedAt"].replace(".123Z", ".123456Z")
        assert sorted(exported, key=lambda lead: lead["id"]) == sorted(listed, key=lambda lead: lead["id"])

    @pytest.mark.parametrize(
        "args, params",
        [
            (["--status", "qualified,converted"], {"status": "qualified,converted"}),
            (["--source", "referral"], {"source": "referral"}),
            (["--q", "GLOBEX"], {"q": "GLOBEX"}),
            (["--score-min", "20", "--is-active", "true"], {"scoreMin": "20", "isActive": "true"}),
        ],
    )
    def test_filters_are_those_of_the_list_endpoint(self, organization, varied_leads, api, args, params):
        exported = [row["id"] for row in csv.DictReader(io.StringIO(export(organization, *args)))]

        listed = [lead["id"] for lead in api.get("/leads", {**params, "limit": 100}).json()["data"]]
        assert exported and sorted(exported) == sorted(listed)

    def test_a_bad_filter_is_an_error(self, organization):
        with pytest.raises(CommandError, match="status: Unknown status 'won'"):
            export(organization, "--status", "won")

    def test_only_the_organizations_leads(self, organization, other_organization):
        LeadFactory(organization=other_organization)

        assert export(organization, "--format", "jsonl") == ""
        assert export(organization).strip().startswith("id,organizationId,name")


@pytest.mark.django_db
class TestRoundTrip:
    @pytest.mark.parametrize("format", ["csv", "jsonl"])
    def test_export_then_import_with_upsert_into_the_same_organization_changes_nothing(
        self, organization, varied_leads, tmp_path, format
    ):
        path = tmp_path / f"leads.{format}"
        export(organization, "--output", str(path))
        before = list(Lead.objects.for_organization(organization).order_by("id").values())

        out = import_file(path, organization, "--upsert", "email")

        assert "0 created, 0 updated, 3 unchanged, 0 skipped" in out
        assert list(Lead.objects.for_organization(organization).order_by("id").values()) == before
        assert not LeadHistory.objects.exists()

    @pytest.mark.parametrize("format", ["csv", "jsonl"])
    def test_export_then_import_into_an_empty_organization_gives_the_same_data(
        self, organization, varied_leads, tmp_path, format
    ):
        path = tmp_path / f"leads.{format}"
        export(organization, "--output", str(path), "--status", "new,qualified")
        before = lead_data(organization)
        Lead.objects.all().delete()

        out = import_file(path, organization, "--upsert", "email")

        assert "2 created, 0 updated, 0 unchanged, 0 skipped" in out
        assert lead_data(organization) == [row for row in before if row["status"] != "converted"]

    def test_an_edited_export_updates_only_what_changed(self, organization, varied_leads, tmp_path):
        path = tmp_path / "leads.csv"
        export(organization, "--output", str(path))
        path.write_text(path.read_text(encoding="utf-8").replace("Initech", "Initrode"), encoding="utf-8")

        out = import_file(path, organization, "--upsert", "email")

        assert "0 created, 1 updated, 2 unchanged, 0 skipped" in out
        entry = LeadHistory.objects.get()
        assert entry.changes == {
            "name": {"old": "Initech", "new": "Initrode"},
            "company": {"old": "Initech", "new": "Initrode"},
        }
