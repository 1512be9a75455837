"""Load run: gunicorn (gunicorn.conf.py, workers = cores) on 127.0.0.1:8200 driven by wrk, against the bench database.

    .venv/bin/python bench/loadrun.py [--duration 30] [--connections 16]   (needs `apt-get install wrk`)

Three runs, each bounded by --duration: the mixed read/write workload of bench/wrk/mixed.lua,
GET /leads?limit=20 alone, and /bench/bare-leads?limit=20 (a plain Django view returning the
same JSON from one hand-written query, bench/urls.py). Prints requests/s, p50 and p99 and the
share of non-2xx answers; stops gunicorn when done, also on errors.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("ACCESS_TOKEN_MINUTES", "600")
from common import admin  # noqa: E402 (sets Django up)
from wrk_output import parse_wrk  # noqa: E402

from leads.models import Lead  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8200"))
BASE = f"http://127.0.0.1:{PORT}"


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
        "--config=gunicorn.conf.py",  # the production settings (sync workers, timeouts, recycling)
        f"--workers={workers}",
        f"--bind=127.0.0.1:{PORT}",
        "--access-logfile=/dev/null",
        "--log-level=warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    for _ in range(60):
        try:
            urllib.request.urlopen(f"{BASE}/bench/bare-leads?limit=1", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit("gunicorn did not answer within 30 s")


def wrk(url, duration, connections, script=None, script_args=(), token=None):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if token and not script:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", script]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    env = {**os.environ, "BENCH_TOKEN": token or ""}
    output = subprocess.run(command, capture_output=True, text=True, env=env, timeout=duration + 60).stdout
    return {**parse_wrk(output), "raw": output}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds per run (default 30)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--verbose", action="store_true", help="print wrk's own output too")
    parser.add_argument("--only", default="mixed,list,bare", help="runs: mixed,list,bare (default all three)")
    args = parser.parse_args()

    user = admin()
    token = token_for(user)
    ids = Lead.objects.for_organization(user.organization).exclude(status="converted").values_list("pk", flat=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as ids_file:
        ids_file.write("\n".join(str(pk) for pk in ids[:5000]))
    workers = os.cpu_count()
    server = start_gunicorn(workers)
    try:
        mixed = str(ROOT / "bench/wrk/mixed.lua")
        runs = {
            "mixed": ("mixed read/write (bench/wrk/mixed.lua)", "/", mixed, [ids_file.name]),
            "list": ("GET /leads?limit=20", "/leads?limit=20", None, []),
            "bare": ("bare Django view, same JSON: /bench/bare-leads?limit=20", "/bench/bare-leads?limit=20", None, []),
        }
        runs = [runs[name] for name in args.only.split(",")]
        print(f"gunicorn {workers} workers, wrk -t2 -c{args.connections} -d{args.duration}s\n")
        print("| run | requests/s | p50 | p99 | non-2xx |")
        print("|---|---|---|---|---|")
        for title, path, script, script_args in runs:
            result = wrk(BASE + path, args.duration, args.connections, script, script_args, token)
            figures = f"{result['rps']:.0f} | {result['p50']} | {result['p99']} | {result['errors']}"
            print(f"| {title} | {figures} |", flush=True)
            if args.verbose:
                print(result["raw"])
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.unlink(ids_file.name)


if __name__ == "__main__":
    main()
