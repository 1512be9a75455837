"""The router against a real PostgreSQL streaming replica, started by the test itself.

A throwaway primary and a standby cloned from it with pg_basebackup run on free ports in a
temporary directory (trust authentication, fsync off) and are removed afterwards. The standby
refuses writes, so a write sent there would fail. Skipped without the PostgreSQL server binaries.
"""

import copy
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections
from django.test.utils import CaptureQueriesContext

from conftest import client_for
from leads.models import Lead
from leadsite.db_router import PRIMARY, REPLICA
from leadsite.tests.test_db_replica import replica_configured
from organizations.models import User
from organizations.tests.factories import OrganizationFactory, UserFactory

DATABASE = "leads_streaming"


def server_bindir():
    try:
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(bindir) if (Path(bindir) / "initdb").exists() else None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def clusters():
    """(primary port, standby port) of a fresh primary and its streaming standby."""
    bindir = server_bindir()
    if bindir is None:
        pytest.skip("needs the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)")
    # PostgreSQL refuses to run as root: run the servers as the postgres user then.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="leads-replica-"))
    if as_user:
        shutil.chown(base, "postgres")
    primary, standby = base / "primary", base / "standby"
    ports = free_port(), free_port()

    def run(*command):
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120, cwd=base)

    def configure(data_dir, port):
        with open(data_dir / "postgresql.conf", "a") as conf:  # later lines win
            conf.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\n")
            conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")

    started = []
    try:
        run(bindir / "initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "-N")
        configure(primary, ports[0])
        run(bindir / "pg_ctl", "-D", primary, "-l", base / "primary.log", "-w", "start")
        started.append(primary)
        run(
            bindir / "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(ports[0]), "-U", "postgres", "-D", standby),
            *("--write-recovery-conf", "--wal-method=stream", "--checkpoint=fast"),
        )
        configure(standby, ports[1])
        run(bindir / "pg_ctl", "-D", standby, "-l", base / "standby.log", "-w", "start")
        started.append(standby)
        yield ports
    finally:
        for data_dir in reversed(started):
            subprocess.run([*as_user, bindir / "pg_ctl", "-D", data_dir, "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(base, ignore_errors=True)


def settings_for(port):
    settings_dict = copy.deepcopy(connections[PRIMARY].settings_dict)
    settings_dict.update(HOST="127.0.0.1", PORT=port, USER="postgres", PASSWORD="", NAME=DATABASE)
    return settings_dict


@contextmanager
def primary_at(settings_dict):
    """Point the `default` alias at another server for a while."""
    saved = copy.deepcopy(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(settings_dict)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture(scope="module")
def streaming(clusters, django_db_setup, django_db_blocker):
    """The migrated database on the primary, replicated to the standby, as `replica`."""
    primary_port, standby_port = clusters
    with psycopg.connect(host="127.0.0.1", port=primary_port, user="postgres", dbname="postgres") as admin:
        admin.autocommit = True
        admin.execute(f"CREATE DATABASE {DATABASE}")
    standby = settings_for(standby_port)
    # A mirror to the test runner: it never flushes the (read-only) standby.
    standby["TEST"]["MIRROR"] = PRIMARY
    with django_db_blocker.unblock(), primary_at(settings_for(primary_port)):
        call_command("migrate", verbosity=0)
    with replica_configured(standby):
        yield settings_for(primary_port)


def wait_for_standby():
    """Until the standby has replayed everything the primary has written so far."""
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        [lsn] = cursor.fetchone()
    deadline = time.monotonic() + 30  # a wait for replication, not an assertion on speed
    while True:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            if cursor.fetchone()[0]:
                return
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=[PRIMARY, REPLICA])
def test_reads_go_to_the_streaming_replica_and_writes_to_the_primary(streaming):
    with primary_at(streaming):
        organization = OrganizationFactory()
        api = client_for(UserFactory(organization=organization, role=User.Role.ADMIN))
        wait_for_standby()

        with CaptureQueriesContext(connections[REPLICA]) as on_standby:
            created = api.post("/leads", {"name": "Ada", "company": "Analytical"}, format="json")
            updated = api.patch(f"/leads/{created.json()['id']}", {"score": 90}, format="json")
        assert (created.status_code, updated.status_code) == (201, 200)
        assert on_standby.captured_queries == []

        wait_for_standby()
        with (
            CaptureQueriesContext(connections[PRIMARY]) as on_primary,
            CaptureQueriesContext(connections[REPLICA]) as on_standby,
        ):
            listed = api.get("/leads")
            ready = api.get("/readyz")
        assert [(lead["name"], lead["score"]) for lead in listed.json()["data"]] == [("Ada", 90)]
        assert ready.status_code == 200
        assert any('"leads_lead"' in query["sql"] for query in on_standby.captured_queries)
        assert [query["sql"] for query in on_primary.captured_queries] == ["SELECT 1"]  # /readyz

        # It is a real standby: a write sent there fails.
        with pytest.raises(DatabaseError, match="read-only transaction"):
            Lead.objects.using(REPLICA).update(name="Changed on the standby")
