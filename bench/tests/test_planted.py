"""bench/load.py's leads carry the planted truth of bench/planted.py, recoverable from the rows alone."""

import random
import uuid

from bench import planted
from bench.load import COLUMNS, lead_rows


def generate(count, open_share=0.75, seed=7):
    customers = []
    rows = lead_rows(
        uuid.uuid4(), [uuid.uuid4() for _ in range(5)], count, random.Random(seed), 0, customers, open_share=open_share
    )
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
    return rows, customers


def rate(rows):
    return sum(row["status"] == "converted" for row in rows) / len(rows)


def test_outcomes_follow_the_truth_and_the_features_are_correlated():
    rows, customers = generate(40_000)
    resolved = [row for row in rows if row["status"] in ("converted", "unqualified")]
    assert 0.22 < len(resolved) / len(rows) < 0.28  # the default open share, 75 %
    assert len(customers) == sum(row["status"] == "converted" for row in rows)

    # Observed conversion rates agree with the truth recovered from each row's own fields.
    expected = sum(planted.true_probability(**row) for row in resolved) / len(resolved)
    assert abs(expected - rate(resolved)) < 0.015
    high = [row for row in resolved if planted.true_probability(**row) > 0.6]
    low = [row for row in resolved if planted.true_probability(**row) < 0.2]
    assert rate(high) > 0.6 and rate(low) < 0.2

    # Each planted feature matters on its own.
    by = lambda keep: rate([row for row in resolved if keep(row)])  # noqa: E731
    assert by(lambda row: row["source"] == "referral") > 2 * by(lambda row: row["source"] == "cold_call")
    kind = lambda row: planted.email_kind(row["email"])  # noqa: E731
    assert by(lambda row: kind(row) == "company") > 1.5 * by(lambda row: kind(row) == "free")
    assert by(lambda row: row["phone"]) > by(lambda row: not row["phone"])
    assert by(lambda row: '"saas"' in row["custom_fields"]) > by(lambda row: '"education"' in row["custom_fields"])

    # Company presence follows the email kind, not the outcome.
    company_share = lambda rows: sum(bool(row["company"]) for row in rows) / len(rows)  # noqa: E731
    assert company_share([row for row in rows if kind(row) == "company"]) > 0.9
    assert company_share([row for row in rows if kind(row) == "free"]) < 0.25


def test_open_share_and_seed():
    rows, _ = generate(5_000, seed=3)
    again, _ = generate(5_000, seed=3)
    assert [row["email"] for row in rows] == [row["email"] for row in again]

    customers = []
    rows = lead_rows(uuid.uuid4(), [uuid.uuid4()], 2_000, random.Random(1), 0, customers, open_share=0.0)
    statuses = {row[COLUMNS.index("status")] for row in rows}
    assert statuses == {"converted", "unqualified"}


def test_expected_auc_is_the_mean_over_outcomes_drawn_from_the_truth():
    from itertools import product

    from bench.truth_eval import calibration, expected_auc

    # Three leads (truth, predicted score, 1 lead each): average the AUC over every outcome, by its probability.
    leads = [(0.9, 80, 1), (0.3, 80, 1), (0.5, 20, 1)]
    total = weight = 0.0
    for outcomes in product([0, 1], repeat=3):
        chance = 1.0
        for (truth, _, _), converted in zip(leads, outcomes, strict=True):
            chance *= truth if converted else 1 - truth
        positives = [s for (_, s, _), y in zip(leads, outcomes, strict=True) if y]
        negatives = [s for (_, s, _), y in zip(leads, outcomes, strict=True) if not y]
        pairs = [(p > n) + 0.5 * (p == n) for p in positives for n in negatives]
        # The expectation is a ratio of expected counts: weight each draw by its number of pairs.
        total += chance * sum(pairs)
        weight += chance * len(pairs)
    assert abs(expected_auc(leads, lambda lead: lead[1]) - total / weight) < 1e-12

    bins = calibration([(0.25, 22, 10), (0.35, 28, 30), (0.9, 95, 5)])
    assert bins[2] == {"bin": "20–29", "leads": 40, "predicted": 26.5, "true": 32.5}
    assert bins[9]["leads"] == 5 and bins[0]["leads"] == 0
