"""import_leads as a real process on PostgreSQL, stopped from outside: killed, or its connection terminated."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from leads.models import Lead

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BATCH = 100
BATCHES = 300
BAD_AT = 37  # the position of the one bad row in each batch


def bad_line(batch: int) -> int:
    return 2 + batch * BATCH + BAD_AT  # line 1 is the header


@pytest.fixture
def big_file(tmp_path):
    """BATCHES batches of BATCH rows, one of them bad (score 999) in each batch."""
    path = tmp_path / "leads.csv"
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["name", "email", "score"])
        for n in range(BATCH * BATCHES):
            writer.writerow([f"Lead {n}", f"lead{n}@x.test", 999 if n % BATCH == BAD_AT else n % 100])
    return path


def start_import(path, organization, errors):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "leadsite.settings.dev"}
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "import_leads", str(path)]
    command += ["--organization", organization.slug, "--batch-size", str(BATCH), "--errors", str(errors), "--quiet"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_leads(organization, process, at_least):
    deadline = time.monotonic() + 120
    while Lead.objects.for_organization(organization).count() < at_least:
        assert process.poll() is None, f"the import ended before it could be stopped: {process.communicate()}"
        assert time.monotonic() < deadline, "the import did not get going"
        time.sleep(0.02)


def reported_lines(errors) -> list[int]:
    with open(errors, newline="", encoding="utf-8") as stream:
        return [int(row["line"]) for row in csv.DictReader(stream)]


def committed_batches(organization) -> int:
    count = Lead.objects.for_organization(organization).count()
    assert count % (BATCH - 1) == 0, f"{count} leads: not whole batches"
    return count // (BATCH - 1)


def test_after_kill_9_the_errors_file_lists_the_bad_rows_of_every_committed_batch(tmp_path, organization, big_file):
    errors = tmp_path / "errors.csv"
    process = start_import(big_file, organization, errors)
    wait_for_leads(organization, process, 10 * (BATCH - 1))

    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)

    committed = committed_batches(organization)
    assert 10 <= committed < BATCHES
    lines = reported_lines(errors)
    assert lines[:committed] == [bad_line(batch) for batch in range(committed)]
    # Written before its batch commits: at most the batch that was being written when the process died.
    assert len(lines) <= committed + 1


def test_a_lost_connection_ends_in_one_line_with_the_rows_committed_and_the_rerun_command(
    tmp_path, organization, big_file
):
    errors = tmp_path / "errors.csv"
    process = start_import(big_file, organization, errors)
    wait_for_leads(organization, process, 10 * (BATCH - 1))

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        )
    out, err = process.communicate(timeout=60)

    assert process.returncode == 1, err
    assert "Traceback" not in err, err
    [line] = err.strip().splitlines()
    committed = committed_batches(organization)
    assert line.startswith("CommandError: Lost the database connection at line ")
    assert f"the first {committed * BATCH} rows ({committed * (BATCH - 1)} created, 0 updated)" in line
    assert f"run: manage.py import_leads {big_file} --organization {organization.slug}" in line
    assert "--upsert email" in line
    assert reported_lines(errors)[:committed] == [bad_line(batch) for batch in range(committed)]
