"""Lead scoring's cost and quality on bench/load.py's leads (planted truth: bench/planted.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench_scoring .venv/bin/python bench/load.py \\
        --leads 1500000 --open-share 0.16
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench_scoring .venv/bin/python bench/scoring_bench.py

For each bench organization (bench-small, bench-mid, bench-big: 5 %, 15 % and 80 % of the leads),
in a child process of its own: the training (reading the resolved leads, the two held-out fits
with and without the assignee, the refit on everything) with its wall time and the child's peak
memory (ru_maxrss, and the RSS before training: Django, numpy and scikit-learn loaded), then the
set-based re-score of every open lead. Then, on bench-big's open leads, the predictions against
the truth: AUC against the AUC of the true probabilities (outcomes drawn from the truth), and the
calibration by decile of predictedScore. Then the write path: services.lead_create with and without
the model (rolled back), the scoring step alone, and import_leads of a file with and without the model.
Load average (`uptime`) is printed with the figures. The database name must contain "bench".
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsite.settings.dev")
os.environ.setdefault("DEBUG", "0")

SLUGS = ["bench-small", "bench-mid", "bench-big"]


def load():
    return open("/proc/loadavg").read().split()[:3]


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def setup():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("Set DATABASE_URL to a PostgreSQL database whose name contains 'bench' (bench/load.py fills it).")
    import django

    django.setup()


def child_train(slug):
    """In a fresh process: train the organization's model; print one JSON line of figures."""
    setup()
    import numpy  # noqa: F401  (loaded before the baseline, as the worker has them)
    import sklearn.linear_model  # noqa: F401

    from organizations.models import Organization
    from scoring import services

    organization = Organization.objects.get(slug=slug)
    before = rss_mb()
    started = time.monotonic()
    row = services.train_now(organization=organization)
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    quality = row.quality or {}
    print(
        json.dumps(
            {
                "slug": slug,
                "status": row.status,
                "resolved": row.counts.get("leads"),
                "seconds": round(seconds, 2),
                "rescore_seconds": quality.get("rescoreSeconds"),
                "rss_before_mb": round(before, 1),
                "peak_rss_mb": round(peak, 1),
                "auc": quality.get("rocAuc"),
                "brier": quality.get("brier"),
                "baseline_brier": quality.get("baselineBrier"),
                "assignee_gain": quality.get("assigneeAucGain"),
                "features": row.features,
            }
        )
    )


def train_all():
    results = []
    for slug in SLUGS:
        out = subprocess.run(
            [sys.executable, __file__, "--child-train", slug], capture_output=True, text=True, check=True
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        results.append(result)
        print(
            f"train {slug}: {result['resolved']:,} resolved leads in {result['seconds']} s (re-score of the open leads "
            f"{result['rescore_seconds']} s); peak RSS {result['peak_rss_mb']} MB, {result['rss_before_mb']} MB "
            f"before training; held-out AUC {result['auc']}, Brier {result['brier']} (baseline "
            f"{result['baseline_brier']}), assignee AUC gain {result['assignee_gain']}; load {' '.join(load())}",
            flush=True,
        )
    return results


def against_truth(slug="bench-big"):
    from sklearn.metrics import roc_auc_score

    from bench.planted import true_probability
    from leads.models import Lead
    from organizations.models import Organization

    organization = Organization.objects.get(slug=slug)
    rows = (
        Lead.objects.for_organization(organization)
        .filter(status__in=["new", "contacted", "qualified"])
        .values_list("predicted_score", "source", "email", "phone", "custom_fields")
        .iterator(chunk_size=20_000)
    )
    scores, truths = [], []
    for score, source, email, phone, custom_fields in rows:
        scores.append(score)
        truths.append(true_probability(source=source, email=email, phone=phone, custom_fields=custom_fields))
    rng = random.Random(5)
    outcomes = [rng.random() < p for p in truths]
    auc, true_auc = roc_auc_score(outcomes, scores), roc_auc_score(outcomes, truths)
    print(
        f"{slug}'s {len(scores):,} open leads: AUC {auc:.4f} against the truth's {true_auc:.4f} "
        f"(ratio {auc / true_auc:.3f}); outcomes drawn from the truth",
        flush=True,
    )
    bins = {}
    for score, truth in zip(scores, truths, strict=True):
        bins.setdefault(min(score // 10, 9), []).append((score / 100, truth))
    worst = 0.0
    for decile in sorted(bins):
        members = bins[decile]
        predicted = sum(p for p, _ in members) / len(members)
        truth = sum(t for _, t in members) / len(members)
        worst = max(worst, abs(predicted - truth)) if len(members) >= 100 else worst
        print(f"  predictedScore {decile * 10}-{decile * 10 + 9}: {len(members):>8,} leads, mean predicted "
              f"{predicted:.3f}, true rate {truth:.3f}")  # fmt: skip
    print(f"  largest gap in a bin of 100+ leads: {worst * 100:.1f} points", flush=True)


def create_latency(slug="bench-big", count=400, rounds=5):
    """services.lead_create with the model and without (the same organization, version set to null), rolled back."""
    from django.db import transaction

    from leads import services
    from organizations.models import Organization, User
    from scoring.predictor import forget_models, model_for

    organization = Organization.objects.get(slug=slug)
    user = User.objects.filter(organization=organization, role="admin").first()
    version = organization.scoring_model_version
    timings = {}
    for label, with_model in [("without", False), ("with", True)] * rounds:
        organization.scoring_model_version = version if with_model else None
        forget_models()
        if with_model:
            model_for(organization)  # in the process, as after the first request
        rng = random.Random(3)
        with transaction.atomic():
            started = time.perf_counter()
            for n in range(count):
                data = {
                    "name": f"Latency {n}",
                    "email": f"lat{n}-{rng.random()}@{rng.choice(['gmail.com', 'acme.io'])}",
                    "phone": "555" if n % 2 else None,
                    "source": rng.choice(["referral", "website", "cold_call"]),
                    "custom_fields": {"industry": rng.choice(["saas", "retail"])},
                }
                services.lead_create(organization=organization, user=user, data=data, allow_duplicate=True)
            elapsed = (time.perf_counter() - started) / count * 1000
            transaction.set_rollback(True)
        timings.setdefault(label, []).append(elapsed)
    without, with_ = statistics.median(timings["without"]), statistics.median(timings["with"])
    model = model_for(organization)
    attrs = {"source": "referral", "email": "a@acme.io", "phone": "5", "company": "Acme", "score": 40}
    attrs |= {"custom_fields": {"industry": "saas", "country": "US"}, "assigned_to_id": None, "status": "new"}
    started = time.perf_counter()
    for _ in range(20_000):
        model.score(attrs)
    alone = (time.perf_counter() - started) / 20_000 * 1000
    print(
        f"create (services.lead_create, {count} leads, median of {rounds} alternating rounds): {without:.3f} ms "
        f"without the model, {with_:.3f} ms "
        f"with it (+{with_ - without:.3f} ms); the scoring step alone {alone * 1000:.1f} us; load {' '.join(load())}",
        flush=True,
    )


def import_speed(slug="bench-big", rows=50_000):
    """import_leads of the same file into a fresh organization, with bench-big's model copied to it and without."""
    import tempfile

    from django.core.management import call_command

    from leads.models import Lead
    from organizations.models import Organization
    from scoring.models import ScoringModel
    from scoring.predictor import forget_models

    source = Organization.objects.get(slug=slug)
    model = ScoringModel.objects.get(organization=source, version=source.scoring_model_version)
    target, _ = Organization.objects.get_or_create(slug="scoring-import-bench", defaults={"name": "Import bench"})
    ScoringModel.objects.filter(organization=target).delete()
    model.pk, model.organization, model.version = None, target, 1
    model.save()
    rng = random.Random(9)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as out:
        out.write("name,email,phone,company,source,score,customFields\n")
        for n in range(rows):
            domain = rng.choice(["gmail.com", "yahoo.com", "acme.io", "globex.com"])
            industry = rng.choice(["saas", "finance", "retail", "education"])
            out.write(
                f"Import {n},imp{n}@{domain},{'555' if n % 2 else ''},{'Acme' if n % 3 else ''},"
                f"{rng.choice(['referral', 'website', 'cold_call'])},{rng.randint(0, 100)},"
                f'"{{""industry"": ""{industry}""}}"\n'
            )
        path = out.name
    timings = {}
    for label, version in [("without", None), ("with", 1), ("without", None), ("with", 1)]:
        Lead.objects.filter(organization=target).delete()
        Organization.objects.filter(pk=target.pk).update(scoring_model_version=version)
        forget_models()
        started = time.perf_counter()
        call_command("import_leads", path, "--organization", target.slug, "--no-routing", stdout=open(os.devnull, "w"))
        timings.setdefault(label, []).append(rows / (time.perf_counter() - started))
        if version:
            assert Lead.objects.filter(organization=target, predicted_score__isnull=False).count() == rows
    Lead.objects.filter(organization=target).delete()
    without, with_ = max(timings["without"]), max(timings["with"])
    print(
        f"import_leads of {rows:,} rows (best of 2): {without:,.0f} rows/s without the model, {with_:,.0f} rows/s "
        f"with it ({(with_ / without - 1) * 100:+.1f} %); load {' '.join(load())}",
        flush=True,
    )
    os.unlink(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child-train", metavar="SLUG", help=argparse.SUPPRESS)
    parser.add_argument("--skip-training", action="store_true", help="use the models the organizations have")
    parser.add_argument("--import-rows", type=int, default=50_000)
    parser.add_argument("--only", choices=["truth", "create", "import"], help="just this part (no training)")
    args = parser.parse_args()
    if args.child_train:
        child_train(args.child_train)
        return
    setup()
    print(f"load average {' '.join(load())}", flush=True)
    if args.only:
        {"truth": against_truth, "create": create_latency, "import": lambda: import_speed(rows=args.import_rows)}[
            args.only
        ]()
        return
    if not args.skip_training:
        train_all()
    against_truth()
    create_latency()
    import_speed(rows=args.import_rows)


if __name__ == "__main__":
    main()
