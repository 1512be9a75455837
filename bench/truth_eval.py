"""How good the open leads' predicted scores are against bench/planted.py's truth, without drawing outcomes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leads_bench_NAME .venv/bin/python bench/truth_eval.py \
        [--organization bench-big]

Open leads have no outcome, but each has its true probability p (a function of its own fields). Counting
a lead as a conversion with weight p and as a non-conversion with weight 1 - p gives the AUC and the
per-bin rates that drawn outcomes would show on average, with no sampling noise: the predicted scores'
AUC beside the true probabilities' own (issue 20 asks >= 0.95 of it), each bin of predicted score's mean
prediction beside its mean true probability (issue 20: within 5 points in bins of 100+ leads), the RMSE
of the predictions against the truth and the expected conversions both ways. The database grouping the
open leads by what the truth and the prediction depend on keeps it to one query of a few thousand rows.
bench/scoring_bench.py trains the models first.
"""

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import planted  # noqa: E402

# Open leads grouped by what the truth and the prediction depend on: a few thousand groups, not a row per lead.
GROUPED_SQL = """
SELECT source,
       CASE WHEN email IS NULL OR email = '' THEN 'none'
            WHEN lower(split_part(email, '@', 2)) = ANY(%(free)s) THEN 'free' ELSE 'company' END AS kind,
       coalesce(phone, '') <> '' AS has_phone,
       custom_fields ->> 'industry' AS industry,
       predicted_score,
       count(*)
FROM leads_lead
WHERE organization_id = %(organization)s AND status IN ('new', 'contacted', 'qualified') AND is_active
GROUP BY 1, 2, 3, 4, 5
"""


def open_lead_groups(cursor, organization_id):
    """[(true probability, predicted score or None, leads)] of the organization's open active leads."""
    cursor.execute(GROUPED_SQL, {"free": list(planted.FREE_MAIL), "organization": organization_id})
    groups = []
    for source, kind, has_phone, industry, predicted, count in cursor.fetchall():
        email = {"none": None, "free": "x@gmail.com", "company": "x@example.com"}[kind]
        truth = planted.true_probability(source, email, "1" if has_phone else None, {"industry": industry})
        groups.append((truth, predicted, count))
    return groups


def expected_auc(groups, score_of):
    """AUC of `score_of(group)` when a lead of a group converts with the group's true probability.

    groups: [(truth, predicted, count)]. Ties count one half; pairs of a lead with itself are left out.
    """
    by_score = defaultdict(lambda: [0.0, 0.0, 0.0])  # score -> [positive weight, negative weight, self pairs]
    for group in groups:
        truth, _, count = group
        entry = by_score[score_of(group)]
        entry[0] += truth * count
        entry[1] += (1 - truth) * count
        entry[2] += truth * (1 - truth) * count
    concordant, negatives_below = 0.0, 0.0
    for score in sorted(by_score):
        positive, negative, itself = by_score[score]
        concordant += positive * negatives_below + 0.5 * (positive * negative - itself)
        negatives_below += negative
    positives = sum(entry[0] for entry in by_score.values())
    pairs = positives * negatives_below - sum(entry[2] for entry in by_score.values())
    return concordant / pairs if pairs else None


def calibration(groups, bins=10):
    """Per bin of predicted score (0–9, 10–19, …, 90–100): leads, mean predicted and mean true probability (%)."""
    table = [[0, 0.0, 0.0] for _ in range(bins)]
    for truth, predicted, count in groups:
        if predicted is None:
            continue
        row = table[min(predicted * bins // 100, bins - 1)]
        row[0] += count
        row[1] += predicted * count
        row[2] += 100 * truth * count
    return [
        {
            "bin": f"{100 * index // bins}–{100 * (index + 1) // bins - (index < bins - 1)}",
            "leads": leads,
            "predicted": predicted / leads if leads else None,
            "true": true / leads if leads else None,
        }
        for index, (leads, predicted, true) in enumerate(table)
    ]


def report(groups):
    """Lines of text: coverage, AUC against the truth's own, calibration per bin, RMSE against the truth."""
    scored = [group for group in groups if group[1] is not None]
    total, with_score = sum(g[2] for g in groups), sum(g[2] for g in scored)
    lines = [f"open leads: {total:,}, with a predicted score: {with_score:,}"]
    if not scored:
        return lines
    auc_model = expected_auc(scored, lambda group: group[1])
    auc_truth = expected_auc(scored, lambda group: group[0])
    lines.append(
        f"expected AUC of the predicted scores: {auc_model:.4f}; of the true probabilities: {auc_truth:.4f}; "
        f"ratio {auc_model / auc_truth:.4f} (issue 20: >= 0.95)"
    )
    squared = sum((g[1] - 100 * g[0]) ** 2 * g[2] for g in scored) / with_score
    expected_sum = sum(g[1] * g[2] for g in scored) / 100
    true_sum = sum(100 * g[0] * g[2] for g in scored) / 100
    lines.append(
        f"RMSE of predicted score against 100 x true probability: {squared**0.5:.2f} points; "
        f"expected conversions: predicted {expected_sum:,.0f}, true {true_sum:,.0f}"
    )
    lines.append("calibration on open leads (bin of predicted score: leads, mean predicted %, mean true %, gap):")
    worst = 0.0
    for row in calibration(scored):
        if not row["leads"]:
            lines.append(f"  {row['bin']:>7}: 0")
            continue
        gap = row["predicted"] - row["true"]
        if row["leads"] >= 100:
            worst = max(worst, abs(gap))
        lines.append(f"  {row['bin']:>7}: {row['leads']:>9,}  {row['predicted']:6.2f}  {row['true']:6.2f}  {gap:+6.2f}")
    lines.append(f"largest gap in a bin of 100+ leads: {worst:.2f} points (issue 20: <= 5)")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--organization", default="bench-big")
    options = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("Set DATABASE_URL to a PostgreSQL database bench/load.py filled (its name contains 'bench').")
    import psycopg

    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM organizations_organization WHERE slug = %s", [options.organization])
        (organization_id,) = cursor.fetchone()
        print(f"{options.organization}, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        for line in report(open_lead_groups(cursor, organization_id)):
            print(line)


if __name__ == "__main__":
    main()
