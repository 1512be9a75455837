import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import importing
from leads.models import Lead, LeadHistory
from leads.tests.factories import LeadFactory
from organizations.tests.factories import UserFactory

HEADER = "name,email,company,score,status,assignedTo\n"


def run_import(path, organization, *args):
    """Run import_leads; returns (exit code, stdout)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_leads", str(path), "--organization", organization.slug, *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def error_rows(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def leads_of(organization):
    return Lead.objects.for_organization(organization).order_by("name")


@pytest.mark.django_db
class TestFormats:
    def test_csv_creates_leads_with_every_field(self, tmp_path, organization, user):
        path = write(
            tmp_path,
            "leads.csv",
            "name,email,phone,company,source,status,score,assignedTo,lastContactedAt,notes,customFields,isActive\n"
            f'Acme,a@acme.test,555,Acme Inc,website,qualified,75,{user.pk},2025-05-11T14:00:00.000Z,"Hi, there",'
            '"{""industry"": ""Tech""}",false\n'
            "Globex,,,,,,,,,,,\n",
        )

        code, out = run_import(path, organization)

        assert code == 0, out
        assert "2 created, 0 updated, 0 unchanged, 0 skipped" in out
        acme, globex = leads_of(organization)
        assert (acme.email, acme.phone, acme.company, acme.source) == ("a@acme.test", "555", "Acme Inc", "website")
        assert (acme.status, acme.score, acme.assigned_to, acme.notes) == ("qualified", 75, user, "Hi, there")
        assert acme.last_contacted_at == datetime(2025, 5, 11, 14, tzinfo=UTC)
        assert acme.custom_fields == {"industry": "Tech"} and acme.is_active is False
        assert (globex.email, globex.score, globex.status, globex.custom_fields, globex.is_active) == (
            None,
            None,
            "new",
            {},
            True,
        )

    def test_each_lead_gets_one_created_history_entry_via_import(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", HEADER + "Acme,a@acme.test,,,,\nGlobex,g@globex.test,,,,\n")

        run_import(path, organization)

        entries = LeadHistory.objects.for_organization(organization)
        assert sorted(entry.lead_id for entry in entries) == sorted(leads_of(organization).values_list("id", flat=True))
        assert {(entry.action, entry.via) for entry in entries} == {("created", "import")}
        assert entries.get(lead_id=leads_of(organization)[0].pk).changes["name"] == {"old": None, "new": "Acme"}

    def test_csv_with_bom_and_semicolons_is_detected(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", b"\xef\xbb\xbfname;email;company\nJos\xc3\xa9;j@x.test;A\n")

        code, out = run_import(path, organization)

        assert code == 0, out
        assert leads_of(organization).get().name == "José"

    def test_a_windows_cp1252_file_is_detected(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", "name,email\nJosé Müller,j@x.test\n", encoding="cp1252")

        code, out = run_import(path, organization)

        assert code == 0, out
        assert leads_of(organization).get().name == "José Müller"

    def test_encoding_and_delimiter_can_be_given(self, tmp_path, organization):
        path = write(tmp_path, "leads.txt", "name|email\nJosé|j@x.test\n", encoding="latin-1")

        code, out = run_import(path, organization, "--encoding", "latin-1", "--delimiter", "|", "--format", "csv")

        assert code == 0, out
        assert leads_of(organization).get().name == "José"

    def test_json_array(self, tmp_path, organization, user):
        rows = [
            {"name": "Acme", "email": "a@acme.test", "score": 75, "customFields": {"size": "100-500"}},
            {"name": "Globex", "assignedTo": user.email.upper(), "isActive": False},
        ]
        path = write(tmp_path, "leads.json", json.dumps(rows, indent=2))

        code, out = run_import(path, organization)

        assert code == 0, out
        acme, globex = leads_of(organization)
        assert (acme.score, acme.custom_fields) == (75, {"size": "100-500"})
        assert (globex.assigned_to, globex.is_active) == (user, False)

    def test_json_lines(self, tmp_path, organization):
        path = write(tmp_path, "leads.jsonl", '{"name": "Acme", "score": 10}\n\n{"name": "Globex", "status": "new"}\n')

        code, out = run_import(path, organization)

        assert code == 0, out
        assert [lead.name for lead in leads_of(organization)] == ["Acme", "Globex"]

    @pytest.mark.parametrize(
        "content",
        ['[{"name": "Acme"}, {"name": "Globex"}]', '{"name": "Acme"}\n{"name": "Globex"}\n', "name\nAcme\nGlobex\n"],
    )
    def test_standard_input_with_the_format_detected(self, tmp_path, organization, monkeypatch, content):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(content.encode())))

        code, out = run_import("-", organization)

        assert code == 0, out
        assert [lead.name for lead in leads_of(organization)] == ["Acme", "Globex"]

    def test_a_json_array_bigger_than_one_read_is_streamed(self, tmp_path, organization, monkeypatch):
        monkeypatch.setattr(importing, "JSON_CHUNK", 64)
        rows = [{"name": f"Lead {n}", "notes": "x" * 50} for n in range(30)]
        path = write(tmp_path, "leads.json", json.dumps(rows, indent=1))

        code, out = run_import(path, organization, "--batch-size", "7")

        assert code == 0, out
        assert leads_of(organization).count() == 30


@pytest.mark.django_db
class TestColumns:
    def test_headers_in_camel_or_snake_case_and_mapped_headers(self, tmp_path, organization):
        path = write(
            tmp_path,
            "leads.csv",
            "Company Name,E-Mail,is_active,custom_fields,Last Contacted At\n"
            'Acme,a@acme.test,false,"{""a"": 1}",2025-01-02T03:04:05Z\n',
        )

        code, out = run_import(path, organization, "--map", "Company Name=name", "--map", "E-Mail=email")

        assert code == 0, out
        lead = leads_of(organization).get()
        assert (lead.name, lead.email, lead.is_active, lead.custom_fields) == ("Acme", "a@acme.test", False, {"a": 1})
        assert lead.last_contacted_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    def test_unknown_columns_are_reported_and_ignored(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", "name,Booth,Badge\nAcme,B12,\n")

        code, out = run_import(path, organization)

        assert code == 0
        assert "Ignored unknown columns 'Booth', 'Badge'" in out
        assert leads_of(organization).get().custom_fields == {}

    def test_unknown_columns_go_to_custom_fields_when_asked(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", 'name,Booth,Badge,customFields\nAcme,B12,,"{""a"": 1}"\n')

        code, out = run_import(path, organization, "--extra-to-custom-fields")

        assert code == 0, out
        assert leads_of(organization).get().custom_fields == {"a": 1, "Booth": "B12"}

    def test_a_map_to_an_unknown_field_is_refused(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", "Company\nAcme\n")

        code, out = run_import(path, organization, "--map", "Company=nonsense")

        assert code == 1 and "'nonsense' is not a lead field" in out

    def test_a_file_without_a_name_column_is_refused(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", "Company\nAcme\n")

        code, out = run_import(path, organization)

        assert code == 1 and "No column maps to name" in out
        assert not leads_of(organization).exists()

    def test_the_organization_can_be_given_by_id(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", "name\nAcme\n")

        call_command("import_leads", str(path), organization=str(organization.pk), stdout=io.StringIO())

        assert leads_of(organization).count() == 1

    def test_an_unknown_organization_is_an_error(self, tmp_path):
        path = write(tmp_path, "leads.csv", "name\nAcme\n")

        with pytest.raises(CommandError, match="No organization with slug or id 'nope'"):
            call_command("import_leads", str(path), organization="nope", stdout=io.StringIO())


@pytest.mark.django_db
class TestBadRows:
    @pytest.mark.parametrize(
        "row, field, message",
        [
            (",a@x.test,,,,", "name", "This field may not be blank."),
            ("Acme,not-an-email,,,,", "email", "Enter a valid email address."),
            ("Acme,,,150,,", "score", "Must be from 0 to 100."),
            ("Acme,,,high,,", "score", "Must be a whole number."),  # the API's wording (was "A valid integer ...")
            ("Acme,,,,converted,", "status", "A lead becomes 'converted' only by converting it"),
            (
                "Acme,,,,won,",
                "status",
                '"won" is not a valid status; use one of new, contacted, qualified, unqualified.',
            ),
            ("Acme,,,,,3f2504e0-4f89-11d3-9a0c-0305e82c3301", "assignedTo", "No active user with id"),
            ("Acme,,,,,nobody@x.test", "assignedTo", "No active user with email 'nobody@x.test'"),
            ("Acme,,,,,not-a-uuid", "assignedTo", "Must be a valid UUID."),
        ],
    )
    def test_bad_csv_rows_are_reported_with_line_and_message(self, tmp_path, organization, row, field, message):
        path = write(tmp_path, "leads.csv", HEADER + "Good,good@x.test,,,,\n" + row + "\n")
        errors = tmp_path / "errors.csv"

        code, out = run_import(path, organization, "--errors", str(errors))

        assert code == 1 and "1 rows skipped" in out
        assert "1 created, 0 updated, 0 unchanged, 1 skipped" in out
        [report] = error_rows(errors)
        assert report["line"] == "3"
        assert report["errors"].startswith(f"{field}: {message}")
        assert ",".join(report[column] for column in HEADER.strip().split(",")) == row
        assert [lead.name for lead in leads_of(organization)] == ["Good"]

    def test_another_organizations_user_is_not_an_assignee(self, tmp_path, organization, other_user):
        path = write(tmp_path, "leads.csv", HEADER + f"Acme,,,,,{other_user.pk}\nGlobex,,,,,{other_user.email}\n")
        errors = tmp_path / "errors.csv"

        code, _ = run_import(path, organization, "--errors", str(errors))

        assert code == 1
        assert [row["errors"] for row in error_rows(errors)] == [
            f"assignedTo: No active user with id '{other_user.pk}' in your organization.",
            f"assignedTo: No active user with email '{other_user.email}' in your organization.",
        ]
        assert not leads_of(organization).exists()

    def test_an_inactive_user_is_not_an_assignee(self, tmp_path, organization):
        inactive = UserFactory(organization=organization, is_active=False)
        path = write(tmp_path, "leads.csv", HEADER + f"Acme,,,,,{inactive.pk}\n")

        code, out = run_import(path, organization)

        assert code == 1 and "No active user with id" in out

    def test_several_messages_for_one_row(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", HEADER + ",bad,,-1,,\n")
        errors = tmp_path / "errors.csv"

        run_import(path, organization, "--errors", str(errors))

        [report] = error_rows(errors)
        messages = report["errors"].split(" | ")
        assert [message.split(":")[0] for message in messages] == ["name", "email", "score"]

    def test_a_bad_json_line_and_a_line_that_is_not_an_object(self, tmp_path, organization):
        path = write(tmp_path, "leads.jsonl", '{"name": "Acme"}\n{"name": "Globex",}\n["x"]\n{"score": 5}\n')
        errors = tmp_path / "errors.csv"

        code, _ = run_import(path, organization, "--errors", str(errors))

        assert code == 1
        report = error_rows(errors)
        assert [row["line"] for row in report] == ["2", "3", "4"]
        assert report[0]["errors"].startswith("Invalid JSON: Expecting property name enclosed in double quotes")
        assert report[1]["errors"] == "Must be a JSON object ({...})."
        assert report[2]["errors"] == "name: This field is required."
        assert report[0]["row"] == '{"name": "Globex",}'
        assert [lead.name for lead in leads_of(organization)] == ["Acme"]

    def test_a_json_array_reports_bad_elements_with_their_line(self, tmp_path, organization):
        content = '[\n  {"name": "Acme"},\n  {"name": "Globex", "score": 150},\n  7\n]\n'
        path = write(tmp_path, "leads.json", content)
        errors = tmp_path / "errors.csv"

        run_import(path, organization, "--errors", str(errors))

        assert [(row["line"], row["errors"]) for row in error_rows(errors)] == [
            ("3", "score: Must be from 0 to 100."),
            ("4", "Must be a JSON object ({...})."),
        ]

    def test_broken_json_array_stops_at_the_line_of_the_error(self, tmp_path, organization):
        path = write(tmp_path, "leads.json", '[\n{"name": "Acme"},\n{"name": "Globex"\n"score": 1}\n]')
        errors = tmp_path / "errors.csv"

        code, _ = run_import(path, organization, "--errors", str(errors))

        assert code == 1
        [report] = error_rows(errors)
        assert report["line"] == "4" and report["errors"].startswith("Invalid JSON: Expecting ',' delimiter")
        assert [lead.name for lead in leads_of(organization)] == ["Acme"]

    def test_a_line_in_the_wrong_encoding(self, tmp_path, organization):
        content = "name,email\nJosé,j@x.test\n".encode() + "Müller,m@x.test\n".encode("latin-1") + b"Ann,a@x.test\n"
        path = write(tmp_path, "leads.csv", content)
        errors = tmp_path / "errors.csv"

        code, _ = run_import(path, organization, "--errors", str(errors))

        assert code == 1
        [report] = error_rows(errors)
        assert report["line"] == "3"
        assert report["errors"].startswith("Not valid utf-8: byte 0xfc at position 2.")
        assert [lead.name for lead in leads_of(organization)] == ["Ann", "José"]

    def test_a_row_with_too_many_values(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", "name,email\nAcme,a@x.test,extra\n")
        errors = tmp_path / "errors.csv"

        run_import(path, organization, "--errors", str(errors))

        assert error_rows(errors)[0]["errors"] == "Has 3 values but the header has 2 columns."

    def test_line_numbers_count_newlines_inside_quoted_cells(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", 'name,notes\nAcme,"two\nlines"\n,\n\nGlobex,x\n,blank name\n')
        errors = tmp_path / "errors.csv"

        run_import(path, organization, "--errors", str(errors))

        assert [row["line"] for row in error_rows(errors)] == ["7"]

    def test_allow_errors_exits_zero(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", HEADER + ",a@x.test,,,,\nAcme,,,,,\n")

        code, out = run_import(path, organization, "--allow-errors")

        assert code == 0
        assert "1 created, 0 updated, 0 unchanged, 1 skipped" in out
        assert "1  name: This field may not be blank." in out


@pytest.mark.django_db
class TestDuplicatesAndUpsert:
    def test_without_upsert_an_existing_email_is_a_duplicate(self, tmp_path, organization):
        LeadFactory(organization=organization, name="Old", email="Dup@X.test")
        path = write(tmp_path, "leads.csv", HEADER + "New,dup@x.test,,,,\n")
        errors = tmp_path / "errors.csv"

        code, out = run_import(path, organization, "--errors", str(errors))

        assert code == 1
        assert error_rows(errors)[0]["errors"] == "email: A lead with this email already exists."
        assert [lead.name for lead in leads_of(organization)] == ["Old"]

    def test_an_email_of_another_organization_is_no_duplicate(self, tmp_path, organization, other_organization):
        LeadFactory(organization=other_organization, email="dup@x.test")
        path = write(tmp_path, "leads.csv", HEADER + "New,dup@x.test,,,,\n")

        assert run_import(path, organization)[0] == 0

    @pytest.mark.parametrize("batch_size", ["1000", "1"])
    def test_without_upsert_an_email_earlier_in_the_file_is_a_duplicate(self, tmp_path, organization, batch_size):
        path = write(tmp_path, "leads.csv", HEADER + "A,a@x.test,,,,\nB,b@x.test,,,,\nC,A@X.test,,,,\n")
        errors = tmp_path / "errors.csv"

        code, out = run_import(path, organization, "--errors", str(errors), "--batch-size", batch_size)

        assert code == 1
        [report] = error_rows(errors)
        assert report["line"] == "4" and report["errors"].startswith("email: ")
        assert [lead.name for lead in leads_of(organization)] == ["A", "B"]

    def test_upsert_updates_the_lead_with_the_same_email(self, tmp_path, organization):
        lead = LeadFactory(organization=organization, name="Old", email="Acme@X.test", score=10, phone="1")
        path = write(tmp_path, "leads.csv", "name,email,score\nAcme,acme@x.test,90\n")

        code, out = run_import(path, organization, "--upsert", "email")

        assert code == 0, out
        assert "0 created, 1 updated, 0 unchanged, 0 skipped" in out
        lead.refresh_from_db()
        assert (lead.name, lead.email, lead.score, lead.phone) == ("Acme", "acme@x.test", 90, "1")
        entry = LeadHistory.objects.for_organization(organization).get(lead_id=lead.pk)
        assert (entry.action, entry.via) == ("updated", "import")
        assert entry.changes == {
            "name": {"old": "Old", "new": "Acme"},
            "email": {"old": "Acme@X.test", "new": "acme@x.test"},
            "score": {"old": 10, "new": 90},
        }

    def test_upsert_may_not_set_converted_as_put_may_not(self, tmp_path, organization):
        lead = LeadFactory(organization=organization, email="a@x.test", status="qualified")
        path = write(tmp_path, "leads.csv", "name,email,status\nAcme,a@x.test,converted\nNew,n@x.test,converted\n")
        errors = tmp_path / "errors.csv"

        code, out = run_import(path, organization, "--upsert", "email", "--errors", str(errors))

        assert "0 created, 0 updated, 0 unchanged, 2 skipped" in out
        assert "use POST /leads/{id}/convert-to-customer" in errors.read_text()
        lead.refresh_from_db()
        assert lead.status == "qualified" and lead.converted_customer_id is None

    def test_upsert_keeps_a_converted_lead_converted_and_refuses_changing_its_status(self, tmp_path, organization):
        lead = LeadFactory(organization=organization, email="a@x.test", status="converted", score=1)
        other = LeadFactory(organization=organization, email="b@x.test", status="converted")
        path = write(tmp_path, "leads.csv", "name,email,status,score\nAcme,a@x.test,converted,9\nBeta,b@x.test,new,5\n")
        errors = tmp_path / "errors.csv"

        code, out = run_import(path, organization, "--upsert", "email", "--errors", str(errors))

        assert "0 created, 1 updated, 0 unchanged, 1 skipped" in out
        assert f"POST /leads/{other.id}/unconvert" in errors.read_text()
        lead.refresh_from_db()
        other.refresh_from_db()
        assert (lead.status, lead.score, lead.converted_customer_id is not None) == ("converted", 9, True)
        assert (other.status, other.score) == ("converted", 50)

    def test_upsert_twice_changes_nothing_the_second_time(self, tmp_path, organization, user, monkeypatch):
        path = write(
            tmp_path,
            "leads.csv",
            "name,email,score,assignedTo,customFields,lastContactedAt\n"
            f'Acme,a@x.test,5,{user.email},"{{""k"": [1, 2]}}",2025-05-11T14:00:00.123Z\n'
            "Globex,g@x.test,,,,\n"
            "Initech,i@x.test,7,,,\n",
        )
        assert run_import(path, organization, "--upsert", "email", "--batch-size", "2")[0] == 0
        before = list(leads_of(organization).values())
        history = LeadHistory.objects.count()
        validated = []
        real_validation = importing.ImportLeadSerializer.run_validation
        monkeypatch.setattr(
            importing.ImportLeadSerializer,
            "run_validation",
            lambda self, data: validated.append(data) or real_validation(self, data),
        )

        code, out = run_import(path, organization, "--upsert", "email", "--batch-size", "2")

        assert code == 0, out
        assert "0 created, 0 updated, 3 unchanged, 0 skipped" in out
        assert validated == []  # every row was the lead's own: nothing to validate
        assert list(leads_of(organization).values()) == before
        assert LeadHistory.objects.count() == history
        assert [(lead["name"], lead["score"]) for lead in before] == [("Acme", 5), ("Globex", None), ("Initech", 7)]

    def test_upsert_compares_json_values_by_type_not_by_python_equality(self, tmp_path, organization):
        lead = LeadFactory(organization=organization, email="a@x.test", score=1, custom_fields={"vip": True})
        rows = [
            {"name": lead.name, "email": "a@x.test", "score": 1, "customFields": {"vip": 1}},  # 1 == True in Python
            {"name": lead.name, "email": "a@x.test", "score": True},  # true is not a score
        ]
        path = write(tmp_path, "leads.jsonl", "".join(json.dumps(row) + "\n" for row in rows))

        code, out = run_import(path, organization, "--upsert", "email", "--batch-size", "1")

        assert "0 created, 1 updated, 0 unchanged, 1 skipped" in out, out
        lead.refresh_from_db()
        assert (lead.custom_fields, lead.score) == ({"vip": 1}, 1)

    def test_an_unchanged_row_is_not_validated_again(self, tmp_path, organization, user):
        """An export re-imports as unchanged even where today's rules would refuse a value it already holds."""
        lead = LeadFactory(organization=organization, email="a@x.test", assigned_to=user)
        user.is_active = False
        user.save(update_fields=["is_active"])
        path = tmp_path / "export.csv"
        call_command("export_leads", "--organization", organization.slug, "-o", str(path))

        code, out = run_import(path, organization, "--upsert", "id")

        assert code == 0, out
        assert "0 created, 0 updated, 1 unchanged, 0 skipped" in out
        edited = path.read_text().replace(str(user.pk), str(user.pk).upper())
        code, out = run_import(write(tmp_path, "edited.csv", edited), organization, "--upsert", "id")
        assert "1 skipped" in out and "No active user" in out  # a value written otherwise is validated
        lead.refresh_from_db()
        assert lead.assigned_to_id == user.pk

    def test_upsert_applies_rows_with_the_same_email_in_order(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", "name,email,score\nGlobex,g@x.test,\nGlobex Again,G@X.test,7\n")
        assert run_import(path, organization, "--upsert", "email")[0] == 0
        lead = leads_of(organization).get()
        assert (lead.name, lead.email, lead.score) == ("Globex Again", "G@X.test", 7)
        history = LeadHistory.objects.count()

        code, out = run_import(path, organization, "--upsert", "email")

        assert code == 0, out
        assert LeadHistory.objects.count() == history
        assert leads_of(organization).get().updated_at == lead.updated_at

    def test_upsert_needs_an_email_and_a_single_match(self, tmp_path, organization):
        LeadFactory.create_batch(2, organization=organization, email="twin@x.test")
        path = write(tmp_path, "leads.csv", "name,email\nNo Email,\nTwin,TWIN@x.test\n")
        errors = tmp_path / "errors.csv"

        code, _ = run_import(path, organization, "--upsert", "email", "--errors", str(errors))

        assert code == 1
        assert [row["errors"] for row in error_rows(errors)] == [
            "email: Required with --upsert email: it is how the lead is found.",
            "email: 2 leads of the organization have this email; merge them first.",
        ]


@pytest.mark.django_db
class TestUpsertById:
    def test_rows_update_the_lead_with_their_id_even_without_email_or_with_a_shared_one(self, tmp_path, organization):
        no_email = LeadFactory(organization=organization, name="No Email", email=None, score=1)
        twins = LeadFactory.create_batch(2, organization=organization, email="twin@x.test", score=2)
        path = write(
            tmp_path,
            "leads.csv",
            "id,name,email,score\n"
            f"{no_email.pk},No Email,,10\n"
            f"{twins[0].pk},Twin One,twin@x.test,20\n"
            f"{twins[1].pk},Twin Two,TWIN@x.test,30\n",
        )

        code, out = run_import(path, organization, "--upsert", "id")

        assert code == 0, out
        assert "0 created, 3 updated, 0 unchanged, 0 skipped" in out
        stored = {lead.pk: (lead.name, lead.email, lead.score) for lead in leads_of(organization)}
        assert stored == {
            no_email.pk: ("No Email", None, 10),
            twins[0].pk: ("Twin One", "twin@x.test", 20),
            twins[1].pk: ("Twin Two", "TWIN@x.test", 30),
        }
        entries = LeadHistory.objects.for_organization(organization).filter(action="updated", via="import")
        assert entries.count() == 3

    def test_an_unknown_id_or_another_organizations_id_is_that_rows_error(
        self, tmp_path, organization, other_organization
    ):
        theirs = LeadFactory(organization=other_organization, name="Theirs", score=5)
        mine = LeadFactory(organization=organization, name="Mine", score=5)
        path = write(
            tmp_path,
            "leads.csv",
            "id,name,score\n"
            f"{theirs.pk},Hijacked,99\n"
            "0190b6b0-0000-7000-8000-000000000000,Nobody,99\n"
            "not-a-uuid,Broken,99\n"
            f"{mine.pk},Mine,50\n"
            ",Brand New,7\n",
        )
        errors = tmp_path / "errors.csv"

        code, out = run_import(path, organization, "--upsert", "id", "--errors", str(errors))

        assert code == 1
        assert "1 created, 1 updated, 0 unchanged, 3 skipped" in out
        assert [(row["line"], row["errors"]) for row in error_rows(errors)] == [
            ("2", "id: No lead with this id in the organization."),
            ("3", "id: No lead with this id in the organization."),
            ("4", "id: Must be a lead id (UUID) or empty for a new lead."),
        ]
        theirs.refresh_from_db()
        assert (theirs.name, theirs.score) == ("Theirs", 5)
        assert sorted((lead.name, lead.score) for lead in leads_of(organization)) == [("Brand New", 7), ("Mine", 50)]

    def test_a_file_without_an_id_column_is_refused(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", "name,email\nA,a@x.test\n")

        code, out = run_import(path, organization, "--upsert", "id")

        assert code == 1 and "--upsert id needs an id column" in out

    def test_json_lines_with_ids(self, tmp_path, organization):
        lead = LeadFactory(organization=organization, name="Old")
        path = write(tmp_path, "leads.jsonl", json.dumps({"id": str(lead.pk), "name": "New"}) + "\n")

        code, out = run_import(path, organization, "--upsert", "id")

        assert code == 0, out
        lead.refresh_from_db()
        assert lead.name == "New"


@pytest.mark.django_db
def test_a_default_assignee_for_new_leads_whose_row_names_none(tmp_path, organization, user, other_user):
    other = UserFactory(organization=organization)
    existing = LeadFactory(organization=organization, email="old@x.test", assigned_to=None)
    path = write(
        tmp_path,
        "leads.csv",
        f"name,email,assignedTo\nNobody,n@x.test,\nSomeone,s@x.test,{other.email}\nOld,old@x.test,\n",
    )

    code, out = run_import(path, organization, "--upsert", "email", "--default-assignee", user.email)

    assert code == 0, out
    assigned = {lead.name: lead.assigned_to for lead in leads_of(organization)}
    assert assigned == {"Nobody": user, "Someone": other, "Old": None}
    existing.refresh_from_db()
    assert existing.assigned_to is None
    path = write(tmp_path, "more.csv", "name\nNew\n")
    code, out = run_import(path, organization, "--default-assignee", other_user.email)
    assert code == 1 and f"No active user with email '{other_user.email}' in your organization." in out


@pytest.mark.django_db
class TestUnstorableText:
    def test_nul_in_a_csv_cell_or_custom_fields_is_that_rows_error_and_the_good_rows_are_imported(
        self, tmp_path, organization
    ):
        path = write(
            tmp_path,
            "leads.csv",
            "name,email,customFields\n"
            "Good One,g1@x.test,\n"
            'Bad Custom,b1@x.test,"{""a"": ""a\\u0000b""}"\n'
            "Bad\x00Name,b2@x.test,\n"
            "Good Two,g2@x.test,\n",
        )
        errors = tmp_path / "errors.csv"

        code, out = run_import(path, organization, "--errors", str(errors), "--batch-size", "10")

        assert code == 1
        assert "2 created, 0 updated, 0 unchanged, 2 skipped" in out
        message = "contains a character that cannot be stored (NUL or an unpaired surrogate)."
        assert [(row["line"], row["errors"]) for row in error_rows(errors)] == [
            ("3", f"customFields: {message}"),
            ("4", f"name: {message}"),
        ]
        assert [lead.name for lead in leads_of(organization)] == ["Good One", "Good Two"]

    def test_a_lone_surrogate_in_json_lines_is_that_rows_error(self, tmp_path, organization):
        path = write(
            tmp_path,
            "leads.jsonl",
            '{"name": "Good"}\n{"name": "Bad", "customFields": {"k": "\\udc80"}}\n{"name": "Bad \\ud800 name"}\n',
        )
        errors = tmp_path / "errors.csv"

        code, out = run_import(path, organization, "--errors", str(errors))

        assert code == 1
        assert [row["line"] for row in error_rows(errors)] == ["2", "3"]
        assert [lead.name for lead in leads_of(organization)] == ["Good"]


@pytest.mark.django_db
class TestDryRun:
    def test_dry_run_validates_everything_and_writes_nothing(self, tmp_path, organization):
        LeadFactory(organization=organization, email="old@x.test", score=1)
        path = write(
            tmp_path, "leads.csv", HEADER + "A,a@x.test,,,,\nB,old@x.test,,2,,\n,c@x.test,,,,\nD,A@x.test,,,,\n"
        )
        errors = tmp_path / "errors.csv"
        before = list(Lead.objects.values())

        code, out = run_import(path, organization, "--dry-run", "--errors", str(errors), "--batch-size", "1")

        assert code == 1
        assert "Dry run, nothing written. Would have: 4 rows read" in out
        assert "1 created, 0 updated, 0 unchanged, 3 skipped" in out
        assert [row["line"] for row in error_rows(errors)] == ["3", "4", "5"]
        assert list(Lead.objects.values()) == before
        assert not LeadHistory.objects.exists()

    def test_dry_run_with_upsert_counts_updates(self, tmp_path, organization):
        LeadFactory(organization=organization, email="old@x.test", name="B", score=1)
        path = write(tmp_path, "leads.csv", "name,email,score\nB,old@x.test,2\nA,a@x.test,3\nA,a@x.test,4\n")

        code, out = run_import(path, organization, "--dry-run", "--upsert", "email", "--batch-size", "2")

        assert code == 0, out
        assert "1 created, 2 updated, 0 unchanged, 0 skipped" in out
        assert Lead.objects.get().score == 1


def numbered_rows(count):
    return HEADER + "".join(f"Lead {n:02},lead{n}@x.test,,,,\n" for n in range(count))


def fail_on_batch(monkeypatch, number, exception):
    """Make the history write of the `number`th batch fail, after its leads were inserted."""
    calls = []
    real = importing.write_history

    def write_history(entries, **kwargs):
        calls.append(1)
        real(entries, **kwargs)
        if len(calls) == number:
            raise exception

    monkeypatch.setattr(importing, "write_history", write_history)


@pytest.mark.django_db
class TestBatches:
    def test_an_error_in_batch_3_of_5_keeps_batches_1_and_2_and_nothing_of_3(self, tmp_path, organization, monkeypatch):
        path = write(tmp_path, "leads.csv", numbered_rows(10))
        fail_on_batch(monkeypatch, 3, RuntimeError("disk full"))

        with pytest.raises(RuntimeError, match="disk full"):
            run_import(path, organization, "--batch-size", "2")

        assert [lead.name for lead in leads_of(organization)] == ["Lead 00", "Lead 01", "Lead 02", "Lead 03"]
        assert LeadHistory.objects.count() == 4

    def test_ctrl_c_keeps_whole_batches_and_a_rerun_with_upsert_completes_the_file(
        self, tmp_path, organization, monkeypatch
    ):
        path = write(tmp_path, "leads.csv", numbered_rows(10))
        fail_on_batch(monkeypatch, 3, KeyboardInterrupt())

        code, out = run_import(path, organization, "--batch-size", "2")

        assert code == 130
        assert "Interrupted at line 7. Kept whole batches only: the first 4 rows (4 created, 0 updated)" in out
        assert leads_of(organization).count() == 4

        monkeypatch.undo()
        code, out = run_import(path, organization, "--batch-size", "2", "--upsert", "email")
        assert code == 0, out
        assert "6 created, 0 updated, 4 unchanged, 0 skipped" in out
        assert leads_of(organization).count() == 10
        assert LeadHistory.objects.count() == 10

    def test_atomic_leaves_nothing_when_a_batch_fails(self, tmp_path, organization, monkeypatch):
        path = write(tmp_path, "leads.csv", numbered_rows(10))
        fail_on_batch(monkeypatch, 3, RuntimeError("disk full"))

        with pytest.raises(RuntimeError):
            run_import(path, organization, "--batch-size", "2", "--atomic")

        assert not Lead.objects.exists() and not LeadHistory.objects.exists()

    def test_atomic_ctrl_c_leaves_nothing(self, tmp_path, organization, monkeypatch):
        path = write(tmp_path, "leads.csv", numbered_rows(10))
        fail_on_batch(monkeypatch, 4, KeyboardInterrupt())

        code, out = run_import(path, organization, "--batch-size", "2", "--atomic")

        assert code == 130 and "nothing was written" in out
        assert not Lead.objects.exists()

    def test_atomic_writes_nothing_if_a_row_is_bad(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", numbered_rows(10) + ",bad@x.test,,,,\n")
        errors = tmp_path / "errors.csv"

        code, out = run_import(path, organization, "--batch-size", "3", "--atomic", "--errors", str(errors))

        assert code == 1
        assert "Nothing written (--atomic and rows failed" in out and "10 created" in out
        assert "1 rows failed, nothing written" in out
        assert [row["line"] for row in error_rows(errors)] == ["12"]
        assert not Lead.objects.exists() and not LeadHistory.objects.exists()

    def test_atomic_with_allow_errors_writes_the_good_rows(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", numbered_rows(10) + ",bad@x.test,,,,\n")

        code, out = run_import(path, organization, "--batch-size", "3", "--atomic", "--allow-errors")

        assert code == 0 and "10 created, 0 updated, 0 unchanged, 1 skipped" in out
        assert leads_of(organization).count() == 10

    def test_atomic_import_of_a_good_file(self, tmp_path, organization):
        path = write(tmp_path, "leads.csv", numbered_rows(10))

        assert run_import(path, organization, "--batch-size", "3", "--atomic")[0] == 0
        assert leads_of(organization).count() == 10

    def test_the_number_of_queries_does_not_grow_with_the_rows(self, tmp_path, organization, user):
        def rows(count):
            return "name,email,assignedTo\n" + "".join(f"L{n},l{n}@x.test,{user.email}\n" for n in range(count))

        # 45, not more: SQLite takes at most 999 parameters per statement, so Django's bulk_create splits more
        # leads of 21 columns (47 rows) into two INSERTs. The batch size, not the rows, sets that count.
        small, big = write(tmp_path, "small.csv", rows(5)), write(tmp_path, "big.csv", rows(45))
        with CaptureQueriesContext(connection) as small_queries:
            run_import(small, organization)
        Lead.objects.all().delete()
        with CaptureQueriesContext(connection) as big_queries:
            run_import(big, organization)

        assert len(big_queries) == len(small_queries)
        assert leads_of(organization).count() == 45


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_copy_writes_every_column(tmp_path, organization, user):
    path = write(
        tmp_path,
        "leads.csv",
        "name,email,score,assignedTo,customFields,lastContactedAt,isActive,notes\n"
        f'Acme,a@x.test,5,{user.pk},"{{""k"": [1, ""é""]}}",2025-05-11T14:00:00.123Z,false,"tab\there\\back"\n'
        'Globex,,,,,,,"a\nb"\n',
    )

    code, out = run_import(path, organization, "--batch-size", "1")

    assert code == 0, out
    acme, globex = leads_of(organization)
    assert (acme.score, acme.assigned_to_id, acme.custom_fields) == (5, user.pk, {"k": [1, "é"]})
    assert acme.last_contacted_at == datetime(2025, 5, 11, 14, 0, 0, 123000, tzinfo=UTC)
    assert (acme.is_active, acme.notes) == (False, "tab\there\\back")
    assert (globex.email, globex.score, globex.custom_fields, globex.notes) == (None, None, {}, "a\nb")
    assert acme.created_at is not None and acme.updated_at == acme.created_at
    entry = LeadHistory.objects.get(lead_id=acme.pk)
    assert (entry.action, entry.via, entry.created_at) == ("created", "import", acme.created_at)
    assert entry.changes["customFields"] == {"old": None, "new": {"k": [1, "é"]}}
    assert entry.changes["lastContactedAt"] == {"old": None, "new": "2025-05-11T14:00:00.123Z"}
    assert LeadHistory.objects.filter(organization=organization).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_a_failed_batch_leaves_whole_batches(tmp_path, organization, monkeypatch):
    path = write(tmp_path, "leads.csv", numbered_rows(10))
    fail_on_batch(monkeypatch, 3, RuntimeError("disk full"))

    with pytest.raises(RuntimeError):
        run_import(path, organization, "--batch-size", "2")

    assert leads_of(organization).count() == 4
    monkeypatch.undo()
    assert run_import(path, organization, "--batch-size", "2", "--upsert", "email")[0] == 0
    assert leads_of(organization).count() == 10


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.django_db
@pytest.mark.parametrize("args, shown", [([], True), (["--quiet"], False)])
def test_a_progress_bar_on_a_terminal_unless_quiet(tmp_path, organization, args, shown):
    path = write(tmp_path, "leads.csv", numbered_rows(10))
    terminal = FakeTerminal()

    call_command(
        "import_leads", str(path), "--organization", organization.slug, *args, stdout=io.StringIO(), stderr=terminal
    )

    if shown:
        last = terminal.getvalue().rstrip("\n").split("\r")[-1]
        assert last.startswith("100%|") and "| 10 rows " in last and " rows/s  ETA 00:00" in last
        assert "\x1b" not in terminal.getvalue()  # neutral colours: no escape codes (the command's stderr is red)
    else:
        assert terminal.getvalue() == ""


def test_the_progress_shows_rows_per_second_and_an_eta_only_once_a_batch_is_written():
    terminal = FakeTerminal()
    progress = importing.Progress(terminal, total_bytes=1_000_000, interval=0)

    progress.update(4000, 200_000, committed=0, force=True)
    before_first_batch = terminal.getvalue().split("\r")[-1]
    progress.update(6000, 300_000, committed=5000, force=True)
    after_first_batch = terminal.getvalue().split("\r")[-1]

    assert before_first_batch.startswith(" 20%|") and "4,000 rows" in before_first_batch
    assert "rows/s" in before_first_batch and "ETA" not in before_first_batch
    assert after_first_batch.startswith(" 30%|") and "6,000 rows" in after_first_batch
    assert "ETA 00:" in after_first_batch


@pytest.mark.django_db
def test_the_progress_counts_what_the_rows_took_not_what_the_buffer_read_ahead(tmp_path, organization):
    """A 20,000-row file fits the read-ahead buffer: the bar must not show 100% from the first row on."""
    path = write(tmp_path, "leads.csv", "name\n" + "".join(f"Lead {n}\n" for n in range(20000)))
    seen = []

    class Recorder:
        def update(self, rows, position, committed=0):
            if rows in (1, 10000):
                seen.append(position / path.stat().st_size)

        def finish(self, rows, position):
            seen.append(position / path.stat().st_size)

    with open(path, "rb") as stream:
        source = importing.open_input(stream, name=path.name, size=path.stat().st_size)
        importing.Importer(organization, importing.ImportOptions(dry_run=True), progress=Recorder()).run(source)

    assert seen[0] < 0.01 and 0.45 < seen[1] < 0.55 and seen[2] == 1.0


@pytest.mark.django_db
def test_no_progress_bar_when_not_on_a_terminal(tmp_path, organization):
    path = write(tmp_path, "leads.csv", numbered_rows(10))
    err = io.StringIO()

    call_command("import_leads", str(path), "--organization", organization.slug, stdout=io.StringIO(), stderr=err)

    assert err.getvalue() == ""
