"""Training an organization's model: L2 logistic regression on one-hot features, fitted on counts.

The resolved leads are streamed once, oldest first. Each is reduced to its features' values and
counted by (values, outcome, slice): leads with the same values are one row of the fit with a
sample weight, so a million leads are a few thousand rows and train in seconds in little memory.

Quality is measured on a later slice: fitted on the oldest 80 % (by creation), measured on the
newest 20 %. The stored model is then refitted on all resolved leads. docs/scoring.md explains why.
"""

import json
import uuid
from array import array
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from leads import selectors
from scoring import features as F

MIN_RESOLVED = 200
MIN_EACH_OUTCOME = 20
HOLDOUT_SHARE = 0.2
# L2 strength: the inverse of the penalty on the coefficients, against the sum of the (weighted) log-losses.
C = 1.0
# The assignee becomes a feature only if it raises the held-out AUC by at least this much.
ASSIGNEE_MIN_AUC_GAIN = 0.01
CALIBRATION_BINS = 10
TOP_FACTORS = 10


def needed(counts: dict) -> dict | None:
    """How many more resolved leads and of each outcome the minimum asks for, or None when it is met."""
    converted, unqualified = counts["converted"], counts["unqualified"]
    missing = {
        "leads": max(0, MIN_RESOLVED - converted - unqualified),
        "converted": max(0, MIN_EACH_OUTCOME - converted),
        "unqualified": max(0, MIN_EACH_OUTCOME - unqualified),
    }
    return missing if any(missing.values()) else None


@dataclass
class Tally:
    """The resolved leads counted by raw values: {(base values, custom items, assignee): [train converted, train
    unqualified, held-out converted, held-out unqualified]}."""

    combos: dict = field(default_factory=dict)
    custom_values: dict = field(default_factory=dict)  # key -> distinct string values (until too many)
    custom_leads: Counter = field(default_factory=Counter)  # key -> leads with a value
    too_varied: set = field(default_factory=set)


def read_resolved(*, organization, total: int) -> Tally:
    """One pass over the resolved leads, oldest first; the newest HOLDOUT_SHARE are marked held out.

    Each lead is reduced to its values as scoring/features.py computes them (the email's kind and TLD cached
    per domain, the score band per score, the assignee's text per id), and counted.
    """
    tally = Tally()
    cut = int(total * (1 - HOLDOUT_SHARE))
    other, none, yes, no = F.OTHER, F.NONE, F.YES, F.NO
    too_varied, custom_values, custom_leads = tally.too_varied, tally.custom_values, tally.custom_leads
    combos = tally.combos
    email_of_domain = {None: ("none", none), "": ("none", none)}
    band_of = {None: "none", **{score: F.score_band(score) for score in range(0, 101)}}
    assignees = {None: none}
    shared = {}
    loads = json.loads
    rows = selectors.resolved_leads_oldest_first(organization=organization)
    for index, (status, source, domain, phone, company, score, custom_text, assignee) in enumerate(rows):
        email = email_of_domain.get(domain)
        if email is None:
            email = email_of_domain[domain] = (F.email_kind("x@" + domain), F.email_tld("x@" + domain))
        band = band_of.get(score)
        if band is None:
            band = F.score_band(score)
        base = (source or none, *email, yes if phone else no, yes if company else no, band)
        base = shared.setdefault(base, base)  # one object per distinct tuple: memory grows with them, not leads
        items = ()
        if custom_text and custom_text != "{}":
            custom_fields = loads(custom_text) if isinstance(custom_text, str) else custom_text
            found = []
            for key in sorted(custom_fields):
                if key in too_varied:
                    continue
                value = custom_fields[key]
                if value is None:
                    continue
                custom_leads[key] += 1
                if not isinstance(value, str):
                    value = other
                else:
                    seen = custom_values.get(key)
                    if seen is None:
                        seen = custom_values[key] = set()
                    seen.add(value)
                    if len(seen) > F.CUSTOM_FIELD_MAX_VALUES:
                        too_varied.add(key)
                        continue
                found.append((key, value))
            items = tuple(found)
            items = shared.setdefault(items, items)
        name = assignees.get(assignee)
        if name is None:
            name = assignees[assignee] = str(uuid.UUID(assignee))
        key = (base, items, name)
        counts = combos.get(key)
        if counts is None:
            counts = combos[key] = [0, 0, 0, 0]
        counts[(2 if index >= cut else 0) + (0 if status == "converted" else 1)] += 1
    return tally


@dataclass
class Dataset:
    """The rows of the fit as one-hot column indices, with their counts per outcome and slice."""

    features: list
    columns: list  # [(feature, value)]
    indices: np.ndarray  # rows x len(features): the column of each feature's value, flat (int32)
    counts: np.ndarray  # rows x 4: (train converted, train unqualified, test converted, test unqualified)
    value_counts: dict  # feature -> Counter of values (after rare values became (other))

    @property
    def rows(self) -> int:
        return len(self.counts)


def build_dataset(tally: Tally, *, with_assignee: bool = True) -> Dataset:
    """The rows of the fit: each combination's values, rare ones as (other), as column indices with its counts.

    Without the assignee, combinations that become identical are merged (a million leads are a few thousand
    rows); with it nearly every combination stays distinct, so they are written straight into compact arrays.
    """
    keys = [
        key for key, n in tally.custom_leads.items() if key not in tally.too_varied and n >= F.CUSTOM_FIELD_MIN_LEADS
    ]
    keys = sorted(sorted(keys, key=lambda key: (-tally.custom_leads[key], key))[: F.CUSTOM_FIELD_MAX_KEYS])
    features = [*F.BASE_FEATURES, *(F.CUSTOM_PREFIX + key for key in keys)]
    if with_assignee:
        features.append(F.ASSIGNEE)
    none, other = F.NONE, F.OTHER

    def values_of(base, items, assignee):
        custom = dict(items) if items else {}
        extra = [custom.get(key, none) for key in keys]
        return (*base, *extra, assignee) if with_assignee else (*base, *extra)

    totals = [Counter() for _ in features]
    for (base, items, assignee), counts in tally.combos.items():
        n = sum(counts)
        for position, value in enumerate(values_of(base, items, assignee)):
            totals[position][value] += n
    value_counts = {}
    for feature, counter in zip(features, totals, strict=True):
        kept = Counter({value: n for value, n in counter.items() if n >= F.MIN_VALUE_COUNT})
        rare = sum(n for value, n in counter.items() if n < F.MIN_VALUE_COUNT)
        if rare:
            kept[other] += rare
        value_counts[feature] = kept
    columns = [(feature, value) for feature in features for value in sorted(value_counts[feature])]
    column_of = [{value: columns.index((feature, value)) for value in value_counts[feature]} for feature in features]
    width = len(features)
    if not with_assignee:
        grouped = {}
        for (base, items, assignee), counts in tally.combos.items():
            row = tuple(
                column_of[i].get(value, column_of[i].get(other))
                for i, value in enumerate(values_of(base, items, assignee))
            )
            kept = grouped.get(row)
            if kept is None:
                grouped[row] = list(counts)
            else:
                for i in range(4):
                    kept[i] += counts[i]
        indices = np.array(list(grouped), dtype=np.int32).reshape(len(grouped), width)
        counts = np.array(list(grouped.values()), dtype=np.float64).reshape(len(grouped), 4)
        return Dataset(features, columns, indices.ravel(), counts, value_counts)
    flat, flat_counts = array("i"), array("d")
    for (base, items, assignee), counts in tally.combos.items():
        flat.extend(
            column_of[i].get(value, column_of[i].get(other)) for i, value in enumerate(values_of(base, items, assignee))
        )
        flat_counts.extend(counts)
    indices = np.frombuffer(flat, dtype=np.int32)
    counts = np.frombuffer(flat_counts, dtype=np.float64).reshape(len(flat_counts) // 4, 4)
    return Dataset(features, columns, indices, counts, value_counts)


def one_hot(dataset: Dataset) -> sparse.csr_matrix:
    """The rows as a sparse 0/1 matrix, one column per (feature, value)."""
    width = len(dataset.features)
    indptr = np.arange(0, dataset.rows * width + 1, width, dtype=np.int64)
    data = np.ones(len(dataset.indices))
    return sparse.csr_matrix((data, dataset.indices, indptr), shape=(dataset.rows, len(dataset.columns)))


def _fit(X, positives, negatives):
    """Fit on rows weighted by their counts of each outcome; rows with neither are left out."""
    keep_pos, keep_neg = positives > 0, negatives > 0
    design = sparse.vstack([X[keep_pos], X[keep_neg]]).tocsr()
    y = np.concatenate([np.ones(keep_pos.sum()), np.zeros(keep_neg.sum())])
    weights = np.concatenate([positives[keep_pos], negatives[keep_neg]])
    model = LogisticRegression(C=C, solver="lbfgs", max_iter=2000)
    model.fit(design, y, sample_weight=weights)
    return model


def _predict(model, X) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


def held_out_quality(dataset: Dataset, X) -> dict:
    """Fit on the older slice, measure on the newer: AUC, Brier, baseline Brier, calibration (weighted by count)."""
    train_pos, train_neg, test_pos, test_neg = dataset.counts.T
    model = _fit(X, train_pos, train_neg)
    p = _predict(model, X)
    keep = (test_pos + test_neg) > 0
    p, test_pos, test_neg = p[keep], test_pos[keep], test_neg[keep]
    probabilities = np.concatenate([p, p])
    outcomes = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
    weights = np.concatenate([test_pos, test_neg])
    present = weights > 0
    probabilities, outcomes, weights = probabilities[present], outcomes[present], weights[present]
    train_rate = train_pos.sum() / max(1.0, train_pos.sum() + train_neg.sum())
    total = weights.sum()
    quality = {"heldOutLeads": int(total), "trainedOnLeads": int(train_pos.sum() + train_neg.sum())}
    if total == 0:
        return {**quality, "rocAuc": None, "brier": None, "baselineBrier": None, "calibration": []}
    both = outcomes[weights > 0].min() == 0 and outcomes[weights > 0].max() == 1
    quality["rocAuc"] = round(float(roc_auc_score(outcomes, probabilities, sample_weight=weights)), 4) if both else None
    quality["brier"] = round(float(brier_score_loss(outcomes, probabilities, sample_weight=weights)), 4)
    baseline = np.full(len(outcomes), train_rate)
    quality["baselineBrier"] = round(float(brier_score_loss(outcomes, baseline, sample_weight=weights)), 4)
    quality["calibration"] = calibration(probabilities, outcomes, weights)
    return quality


def calibration(probabilities, outcomes, weights) -> list[dict]:
    """10 bins of predicted probability (0-10 %, ..., 90-100 %): mean predicted, observed rate, count."""
    bins = np.minimum((probabilities * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    table = []
    for b in range(CALIBRATION_BINS):
        inside = bins == b
        count = weights[inside].sum()
        table.append(
            {
                "bin": f"{b * 10}-{(b + 1) * 10}%",
                "meanPredicted": round(float((probabilities[inside] * weights[inside]).sum() / count), 4)
                if count
                else None,
                "observedRate": round(float((outcomes[inside] * weights[inside]).sum() / count), 4) if count else None,
                "count": int(count),
            }
        )
    return table


@dataclass
class Trained:
    features: list
    intercept: float
    coefficients: dict  # {feature: {value: log-odds}}
    quality: dict


def train(*, organization, counts: dict) -> Trained:
    """Read, measure (with and without the assignee), refit on everything; counts: resolved_lead_counts."""
    total = counts["converted"] + counts["unqualified"]
    tally = read_resolved(organization=organization, total=total)

    # One dataset at a time (memory): without the assignee, then with it; the one kept is refitted below.
    dataset = build_dataset(tally, with_assignee=False)
    X = one_hot(dataset)
    quality = held_out_quality(dataset, X)
    with_assignee = build_dataset(tally, with_assignee=True)
    X_with = one_hot(with_assignee)
    quality_with = held_out_quality(with_assignee, X_with)
    del tally
    gain = None
    if quality_with["rocAuc"] is not None and quality["rocAuc"] is not None:
        gain = round(quality_with["rocAuc"] - quality["rocAuc"], 4)
    use_assignee = gain is not None and gain >= ASSIGNEE_MIN_AUC_GAIN
    if use_assignee:
        dataset, X, quality = with_assignee, X_with, quality_with
    del with_assignee, X_with

    positives = dataset.counts[:, 0] + dataset.counts[:, 2]
    negatives = dataset.counts[:, 1] + dataset.counts[:, 3]
    model = _fit(X, positives, negatives)
    coefficients = {}
    for (feature, value), coefficient in zip(dataset.columns, model.coef_[0], strict=True):
        coefficients.setdefault(feature, {})[value] = float(coefficient)
    quality = {
        **quality,
        "assigneeAucGain": gain,
        "assigneeUsed": use_assignee,
        "topFactors": top_factors(coefficients, dataset.value_counts),
    }
    return Trained(
        features=dataset.features, intercept=float(model.intercept_[0]), coefficients=coefficients, quality=quality
    )


def top_factors(coefficients: dict, value_counts: dict) -> list[dict]:
    """The organization-wide strongest values: largest |log-odds| first, with how many resolved leads had them."""
    factors = [
        {"feature": feature, "value": value, "effect": round(effect, 4), "leads": value_counts[feature][value]}
        for feature, values in coefficients.items()
        for value, effect in values.items()
    ]
    factors.sort(key=lambda factor: (-abs(factor["effect"]), factor["feature"], factor["value"]))
    return factors[:TOP_FACTORS]
