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
