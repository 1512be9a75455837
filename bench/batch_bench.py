"""Leads per second: POST /leads/batch/create of 100 against 100 single POST /leads, through the same server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_batch_bench .venv/bin/python bench/batch_bench.py \\
        [--rounds 5] [--batches 5] [--workers 2]

Starts gunicorn (gunicorn.conf.py, the bench settings as bench/loadrun.py runs it) on 127.0.0.1:8201
against DATABASE_URL, and sends from one client over one kept-alive HTTP connection, one request at a
time (what an integration syncing leads does). Each round sends 100 single creates, then `--batches`
batches of 100 creates; rounds alternate so a change of the machine's load hits both alike. Every
lead is new (a fresh email), assigned to a member, with custom fields, so each write does the whole
job: validation, the duplicate check, the insert, history and events. Prints leads/s of each per
round, the medians, their ratio and the load average before and after.

The leads, history and events tables are emptied first: the database name must contain "bench".
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from bench.scratch_db import prepare  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8201"))
SLUG = "batch-bench"


def members(organization):
    from organizations.models import User

    admin, _ = User.objects.get_or_create(
        email=f"admin@{SLUG}.example", defaults={"organization": organization, "role": User.Role.ADMIN}
    )
    reps = []
    for number in range(3):
        rep, _ = User.objects.get_or_create(
            email=f"rep{number}@{SLUG}.example", defaults={"organization": organization, "role": User.Role.SALES_REP}
        )
        reps.append(rep)
    return admin, reps


def token_for(user):
    from rest_framework_simplejwt.tokens import AccessToken

    return str(AccessToken.for_user(user))


def start_gunicorn(workers):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "THROTTLE_RATE_USER": "100000000/second",
        "CONN_MAX_AGE": "600",
        "DEBUG": "false",
    }
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "--config=gunicorn.conf.py",
        f"--workers={workers}",
        f"--bind=127.0.0.1:{PORT}",
        "--access-logfile=/dev/null",
        "--log-level=warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    for _ in range(60):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit("gunicorn did not answer within 30 s")


class Client:
    def __init__(self, token):
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path, body, expected):
        self.connection.request("POST", path, json.dumps(body), self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != expected:
            sys.exit(f"POST {path}: {response.status} {data[:500]!r}")
        return data


def new_lead(reps, number):
    tag = uuid.uuid4().hex[:12]
    return {
        "name": f"Lead {tag}",
        "email": f"{tag}@batch-bench.example",
        "company": f"Company {number % 97}",
        "source": "website",
        "score": number % 101,
        "assignedTo": str(reps[number % len(reps)].pk),
        "customFields": {"industry": "Technology", "seats": number % 500},
    }


def singles(client, reps, count):
    started = time.perf_counter()
    for number in range(count):
        client.post("/leads", new_lead(reps, number), 201)
    return count / (time.perf_counter() - started)


def batches(client, reps, count, size=100):
    started = time.perf_counter()
    for _ in range(count):
        client.post("/leads/batch/create", {"inputs": [new_lead(reps, n) for n in range(size)]}, 201)
    return count * size / (time.perf_counter() - started)


def load_average():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=5, help="batches of 100 per round (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    args = parser.parse_args()

    organization = prepare(SLUG, "Batch bench")
    admin, reps = members(organization)
    client_token = token_for(admin)
    from django.db import connection

    connection.close()
    print(f"load average before: {load_average()}")
    server = start_gunicorn(args.workers)
    try:
        client = Client(client_token)
        client.post("/leads", new_lead(reps, 0), 201)  # warm-up: imports, connection
        client.post("/leads/batch/create", {"inputs": [new_lead(reps, 0)]}, 201)
        single_rates, batch_rates = [], []
        print("| round | 100 single POST /leads: leads/s | batch/create of 100: leads/s | ratio |")
        print("|---|---|---|---|")
        for round_number in range(1, args.rounds + 1):
            single = singles(client, reps, 100)
            batch = batches(client, reps, args.batches)
            single_rates.append(single)
            batch_rates.append(batch)
            print(f"| {round_number} | {single:.0f} | {batch:.0f} | {batch / single:.1f}x |", flush=True)
        single, batch = statistics.median(single_rates), statistics.median(batch_rates)
        print(f"| median | {single:.0f} | {batch:.0f} | {batch / single:.1f}x |")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
