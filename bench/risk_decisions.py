"""Risk decisions per second: a rule set of 20 rules and a 10-variable scorecard run through
the risk plugin's evaluator, against a plain Python function hard-coding the same 20
comparisons and the same scorecard, in the same run (issue 9, ``bench/`` point).

The evaluator is the submission's code path without the database: the definition is checked
by ``policy.check``, compiled by ``service.compiled`` (once per version, as submission does
after the first decision) and ``Policy.decide`` runs over each application's values, building
the stored decision (inputs, hits, scores, grade, suggestion). A second measurement compiles
the rule set for every decision, which is what submission would cost without the cache.

The applications (not timed) are N random value sets over 13 fields (10 numbers, 3 selects),
Decimal throughout, drawn so that every rule holds for some; the script checks that the
evaluator and the hand-written function reach the same outcome, hits, total and grade on
every one of them before it prints the rates.

    .venv/bin/python bench/risk_decisions.py --applications 20000
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from decimal import Decimal
from typing import Any

from loandesk_risk import policy, service
from results import Row, write_rows

KINDS = {
    "age": "integer",
    "monthly_income": "money",
    "amount": "money",
    "term_months": "integer",
    "debt_ratio": "decimal",
    "overdue_count": "integer",
    "credit_inquiries": "integer",
    "years_employed": "decimal",
    "open_loans": "integer",
    "max_overdue_days": "integer",
    "loan_purpose": "select",
    "marital_status": "select",
    "province": "select",
}

# (key, expression, outcome): 20 comparisons, mirrored by ``hand_written`` below
RULES = [
    ("minor", "age < 18", "reject"),
    ("too_old", "age > 65", "reject"),
    ("no_income", "monthly_income < 2000", "reject"),
    ("huge", "amount > 200000", "reject"),
    ("long", "term_months > 36", "refer"),
    ("indebted", "debt_ratio > 0.7", "reject"),
    ("stretched", "debt_ratio > 0.5", "refer"),
    ("overdue_many", "overdue_count >= 3", "reject"),
    ("overdue_some", "overdue_count >= 1", "refer"),
    ("inquiries", "credit_inquiries > 8", "refer"),
    ("new_job", "years_employed < 0.5", "refer"),
    ("many_loans", "open_loans > 5", "reject"),
    ("some_loans", "open_loans > 3", "refer"),
    ("deep_overdue", "max_overdue_days > 90", "reject"),
    ("late", "max_overdue_days > 30", "refer"),
    ("gamble", 'loan_purpose == "other"', "refer"),
    ("big_for_income", "amount > monthly_income * 20", "refer"),
    ("young_big", "age < 22 and amount > 50000", "reject"),
    ("region", 'province == "XZ"', "refer"),
    ("single_long", 'marital_status == "single" and term_months > 24', "refer"),
]

NUMERIC = [k for k, kind in KINDS.items() if kind != "select"]


def _bins(edges: list[str], points: list[int]) -> list[dict[str, Any]]:
    lows: list[str | None] = [None, *edges]
    highs: list[str | None] = [*edges, None]
    return [
        {"min": lo, "max": hi, "points": p} for lo, hi, p in zip(lows, highs, points, strict=True)
    ]


BINS = {
    "age": (["22", "30", "45", "55"], [0, 10, 20, 15, 5]),
    "monthly_income": (["3000", "6000", "12000", "25000"], [0, 5, 12, 18, 22]),
    "amount": (["20000", "50000", "100000"], [15, 10, 5, 0]),
    "term_months": (["7", "13", "25"], [12, 10, 6, 2]),
    "debt_ratio": (["0.2", "0.4", "0.6"], [20, 12, 5, 0]),
    "overdue_count": (["1", "2", "4"], [20, 8, 2, 0]),
    "credit_inquiries": (["3", "6", "10"], [10, 6, 2, 0]),
    "years_employed": (["1", "3", "8"], [0, 6, 12, 16]),
    "open_loans": (["1", "3", "5"], [10, 8, 3, 0]),
    "max_overdue_days": (["1", "31", "91"], [15, 6, 1, 0]),
}
GRADES = [
    ("A", 120, "200000.00", "0.072000", "pass"),
    ("B", 90, "80000.00", "0.108000", "pass"),
    ("C", 60, "30000.00", "0.150000", "refer"),
    ("D", 0, "0.00", "0.240000", "reject"),
]


def definition() -> dict[str, Any]:
    return {
        "rules": [
            {
                "key": key,
                "name_zh": key,
                "name_en": key,
                "expression": text,
                "outcome": outcome,
                "reason_code": key.upper(),
                "reason_zh": key,
                "reason_en": key,
            }
            for key, text, outcome in RULES
        ],
        "scorecard": {
            "base": 0,
            "variables": [{"key": k, "missing_points": 0, "bins": _bins(*BINS[k])} for k in BINS],
            "grades": [
                {"grade": g, "min_score": s, "limit": lim, "rate": r, "outcome": o}
                for g, s, lim, r, o in GRADES
            ],
        },
    }


# ------------------------------------------------------------------ the hand-written baseline

D = Decimal


def _points(value: Decimal, edges: tuple[Decimal, ...], points: tuple[int, ...]) -> int:
    for edge, point in zip(edges, points, strict=False):
        if value < edge:
            return point
    return points[-1]


EDGES = {k: (tuple(D(e) for e in edges), tuple(points)) for k, (edges, points) in BINS.items()}


def hand_written(v: dict[str, Any]) -> tuple[str, list[str], int, str]:
    """The same 20 comparisons and scorecard, written out: outcome, hits, total, grade."""
    hits: list[tuple[str, str]] = []
    if v["age"] < 18:
        hits.append(("minor", "reject"))
    if v["age"] > 65:
        hits.append(("too_old", "reject"))
    if v["monthly_income"] < 2000:
        hits.append(("no_income", "reject"))
    if v["amount"] > 200000:
        hits.append(("huge", "reject"))
    if v["term_months"] > 36:
        hits.append(("long", "refer"))
    if v["debt_ratio"] > D("0.7"):
        hits.append(("indebted", "reject"))
    if v["debt_ratio"] > D("0.5"):
        hits.append(("stretched", "refer"))
    if v["overdue_count"] >= 3:
        hits.append(("overdue_many", "reject"))
    if v["overdue_count"] >= 1:
        hits.append(("overdue_some", "refer"))
    if v["credit_inquiries"] > 8:
        hits.append(("inquiries", "refer"))
    if v["years_employed"] < D("0.5"):
        hits.append(("new_job", "refer"))
    if v["open_loans"] > 5:
        hits.append(("many_loans", "reject"))
    if v["open_loans"] > 3:
        hits.append(("some_loans", "refer"))
    if v["max_overdue_days"] > 90:
        hits.append(("deep_overdue", "reject"))
    if v["max_overdue_days"] > 30:
        hits.append(("late", "refer"))
    if v["loan_purpose"] == "other":
        hits.append(("gamble", "refer"))
    if v["amount"] > v["monthly_income"] * 20:
        hits.append(("big_for_income", "refer"))
    if v["age"] < 22 and v["amount"] > 50000:
        hits.append(("young_big", "reject"))
    if v["province"] == "XZ":
        hits.append(("region", "refer"))
    if v["marital_status"] == "single" and v["term_months"] > 24:
        hits.append(("single_long", "refer"))
    total = sum(_points(D(v[k]), *EDGES[k]) for k in EDGES)
    grade, band = next((g, o) for g, s, _l, _r, o in GRADES if total >= s)
    outcomes = {o for _k, o in hits} | {band}
    decided = (
        "auto_reject"
        if "reject" in outcomes
        else "refer"
        if "refer" in outcomes
        else "auto_approve"
    )
    return decided, [k for k, _o in hits], total, grade


# ------------------------------------------------------------------ the run


def applications(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311  (test data, not secrets)
    found = []
    for _ in range(count):
        found.append(
            {
                "age": rng.randint(17, 70),
                "monthly_income": D(rng.randint(1500_00, 40000_00)) / 100,
                "amount": D(rng.randint(1000_00, 250000_00)) / 100,
                "term_months": rng.choice([3, 6, 12, 18, 24, 36, 48]),
                "debt_ratio": D(rng.randint(0, 90)) / 100,
                "overdue_count": rng.choice([0, 0, 0, 0, 1, 2, 3]),
                "credit_inquiries": rng.randint(0, 12),
                "years_employed": D(rng.randint(0, 200)) / 10,
                "open_loans": rng.randint(0, 7),
                "max_overdue_days": rng.choice([0, 0, 0, 10, 40, 100]),
                "loan_purpose": rng.choice(["car", "house", "consumption", "other"]),
                "marital_status": rng.choice(["single", "married", "divorced"]),
                "province": rng.choice(["SH", "JS", "ZJ", "GD", "XZ"]),
            }
        )
    return found


class Version:
    """A published version as ``service.compiled`` sees one (id and definition)."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.id = uuid.uuid4()
        self.definition = definition


def timed(run: Any, rounds: int) -> float:
    """The best of ``rounds`` timings of ``run()`` (seconds)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--json", metavar="PATH", help="also write the result rows as JSON")
    args = parser.parse_args()

    spec = definition()
    problems = policy.check(spec, KINDS)
    assert not problems, problems
    version = Version(spec)
    apps = applications(args.applications, args.seed)

    # the same answers, every application
    compiled = service.compiled(version, KINDS)  # type: ignore[arg-type]
    counts: dict[str, int] = {}
    for values in apps:
        outcome = compiled.decide(values)
        expected = hand_written(values)
        got = (outcome.decision, [h["key"] for h in outcome.hits], outcome.total, outcome.grade)
        assert got == expected, (values, got, expected)
        counts[outcome.decision] = counts.get(outcome.decision, 0) + 1

    def evaluator() -> None:
        for values in apps:
            service.compiled(version, KINDS).decide(values)  # type: ignore[arg-type]

    def baseline() -> None:
        for values in apps:
            hand_written(values)

    uncached_apps = apps[: max(1, len(apps) // 20)]

    def uncached() -> None:
        for values in uncached_apps:
            policy.compile_policy(spec, KINDS).decide(values)

    engine_s = timed(evaluator, args.rounds)
    plain_s = timed(baseline, args.rounds)
    uncached_s = timed(uncached, args.rounds)
    n = len(apps)
    engine_rate, plain_rate = n / engine_s, n / plain_s
    uncached_rate = len(uncached_apps) / uncached_s
    shares = ", ".join(f"{k} {v / n:.1%}" for k, v in sorted(counts.items()))
    print(f"applications: {n:,} ({shares}); 20 rules, 10-variable scorecard; best of {args.rounds}")
    print(f"  risk evaluator (compiled once per version): {engine_rate:>10,.0f} decisions/s")
    print(f"  hand-written Python (same comparisons):     {plain_rate:>10,.0f} decisions/s")
    print(f"  ratio hand-written / evaluator: {plain_rate / engine_rate:.1f}x")
    print(f"  evaluator compiling for every decision:     {uncached_rate:>10,.0f} decisions/s")
    write_rows(args.json, [
        Row("risk_decisions", f"evaluator, {n:,} applications", engine_rate, "/s",
            "hand-written Python", plain_rate, plain_rate / engine_rate, "Python / evaluator"),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
