import csv
import io
import json
import os
import shlex
import uuid
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
        with pytest.raises(CommandError, match='status: "won" is not a valid status; use one of new, '):
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


FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\tcell",
    "\rcell",
    "'=already quoted",
    "'plain quote",
]


@pytest.mark.django_db
class TestFormulaInjection:
    @pytest.fixture
    def formula_leads(self, organization):
        return [
            LeadFactory(organization=organization, name=text, company=text, email=None, phone=None) for text in FORMULAS
        ]

    def test_csv_cells_that_a_spreadsheet_would_run_start_with_a_quote(self, organization, formula_leads):
        rows = list(csv.DictReader(io.StringIO(export(organization))))

        assert sorted(row["company"] for row in rows) == sorted(
            [
                '\'=HYPERLINK("http://evil.example","x")',
                "'+1+cmd|' /C calc'!A0",
                "'-2+3",
                "'@SUM(1+1)",
                "'\tcell",
                "'\rcell",
                "''=already quoted",
                "'plain quote",
            ]
        )

    def test_the_admin_csv_action_writes_the_same_cells(self, organization, formula_leads, client):
        from organizations.tests.factories import UserFactory

        staff = UserFactory(organization=organization, is_staff=True, role="admin")
        client.force_login(staff)
        ids = [str(lead.pk) for lead in formula_leads]
        response = client.post("/admin/leads/lead/", {"action": "export_csv", "_selected_action": ids})

        admin_rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        command_rows = list(csv.DictReader(io.StringIO(export(organization))))
        assert sorted(row["name"] for row in admin_rows) == sorted(row["name"] for row in command_rows)
        assert all(not row["name"].startswith(tuple("=+-@\t\r")) for row in admin_rows)

    def test_json_lines_keep_the_text_as_it_is(self, organization, formula_leads):
        names = [json.loads(line)["name"] for line in export(organization, "--format", "jsonl").splitlines()]

        assert sorted(names) == sorted(FORMULAS)

    def test_csv_export_then_import_gives_back_the_exact_text(self, organization, formula_leads, tmp_path):
        path = tmp_path / "leads.csv"
        export(organization, "--output", str(path))
        Lead.objects.all().delete()

        out = import_file(path, organization)

        assert f"{len(FORMULAS)} created" in out
        stored = Lead.objects.for_organization(organization).values_list("name", "company")
        # As through the API, leading and trailing whitespace (the tab, the CR) is trimmed.
        assert sorted(stored) == sorted((text.strip(), text.strip()) for text in FORMULAS)


def test_export_into_a_closed_pipe_ends_quietly(tmp_path):
    """`export_leads | head -4` on a real process: no BrokenPipeError, no "closed database"."""
    import subprocess
    import sys

    from django.conf import settings

    db = tmp_path / "pipe.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "DJANGO_SETTINGS_MODULE": "leadsite.settings.dev"}
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    script = (
        "from organizations.models import Organization; from leads.models import Lead; "
        "o = Organization.objects.create(name='Pipe', slug='pipe'); "
        "Lead.objects.bulk_create([Lead(organization=o, name=f'L{n}') for n in range(20000)])"
    )
    subprocess.run([*manage, "shell", "-v0", "-c", script], env=env, check=True)

    pipeline = f"{shlex.join([*manage, 'export_leads', '--organization', 'pipe'])} | head -4"
    done = subprocess.run(["bash", "-c", pipeline], env=env, capture_output=True, text=True, timeout=120)

    assert len(done.stdout.splitlines()) == 4
    assert done.stderr == ""


@pytest.mark.django_db
class TestRoundTripById:
    @pytest.fixture
    def awkward_leads(self, organization, user):
        from leads import services

        converted = LeadFactory(organization=organization, name="Converted", email="c@x.test", status="qualified")
        services.lead_convert_to_customer(lead=converted, user=user)
        return [
            LeadFactory(organization=organization, name="No Email", email=None, score=1),
            LeadFactory(organization=organization, name="Twin A", email="twin@x.test", score=2),
            LeadFactory(organization=organization, name="Twin B", email="twin@x.test", score=3),
            LeadFactory(organization=organization, name="=Formula", email="f@x.test", score=4),
            converted,
        ]

    @pytest.mark.parametrize("format", ["csv", "jsonl"])
    def test_an_unedited_export_imports_back_unchanged(self, organization, awkward_leads, tmp_path, format):
        path = tmp_path / f"leads.{format}"
        export(organization, "--output", str(path))
        before = list(Lead.objects.for_organization(organization).order_by("id").values())
        history = LeadHistory.objects.count()

        dry = import_file(path, organization, "--upsert", "id", "--dry-run")
        out = import_file(path, organization, "--upsert", "id")

        assert "0 created, 0 updated, 5 unchanged, 0 skipped" in dry
        assert "0 created, 0 updated, 5 unchanged, 0 skipped" in out
        assert list(Lead.objects.for_organization(organization).order_by("id").values()) == before
        assert LeadHistory.objects.count() == history

    def test_edits_in_a_spreadsheet_are_applied_exactly(self, organization, awkward_leads, tmp_path):
        no_email, twin_a, twin_b, formula, converted = awkward_leads
        path = tmp_path / "leads.csv"
        export(organization, "--output", str(path))
        with open(path, newline="", encoding="utf-8") as stream:
            rows = list(csv.DictReader(stream))
        edits = {no_email.pk: {"score": "11"}, twin_b.pk: {"name": "Twin B2"}, converted.pk: {"notes": "kept"}}
        for row in rows:
            row.update(edits.get(uuid.UUID(row["id"]), {}))
        with open(path, "w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        before = {lead.pk: lead for lead in Lead.objects.for_organization(organization)}

        out = import_file(path, organization, "--upsert", "id")

        assert "0 created, 3 updated, 2 unchanged, 0 skipped" in out
        after = {lead.pk: lead for lead in Lead.objects.for_organization(organization)}
        assert (after[no_email.pk].score, after[twin_b.pk].name, after[converted.pk].notes) == (11, "Twin B2", "kept")
        assert after[formula.pk].name == "=Formula"
        assert after[converted.pk].status == "converted"
        assert after[converted.pk].converted_customer_id == before[converted.pk].converted_customer_id
        changes = sorted(LeadHistory.objects.filter(action="updated").values_list("changes", flat=True), key=str)
        assert changes == sorted(
            [
                {"score": {"old": 1, "new": 11}},
                {"name": {"old": "Twin B", "new": "Twin B2"}},
                {"notes": {"old": before[converted.pk].notes, "new": "kept"}},
            ],
            key=str,
        )
