"""Repayment schedules: ``finance.build_schedule`` (exact, Decimal) vs. numpy-financial's
vectorised ``pmt``/``ipmt`` (float) over the same loans, in the same run.

    .venv/bin/python bench/schedules.py --schedules 100000   # default; needs the bench extra

N loans of 36 monthly equal installments (等额本息): principal uniform ¥1,000-¥500,000 in
cents, annual rate 3 %-24 % in basis points, start dates over 2026, 30/360, no fees. **Ours**
builds each schedule in full: due dates, every installment's principal, interest and balance
rounded to the cent with the last installment absorbing the cents, the IRR-based annual rate
and the Appendix J APR. **numpy-financial** computes the installment of every loan
(``npf.pmt``) and the interest of every period of every loan (``npf.ipmt`` over an N x 36
array) in floats, unrounded: no dates, balances, rounding or rates. The script checks that the
installments agree to the cent (numpy's rounded half-up) before printing the timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import numpy_financial as npf
from results import Row, write_rows

from loandesk.finance import Frequency, Method, Terms, build_schedule


def loans(count: int, periods: int, seed: int) -> list[Terms]:
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    start = dt.date(2026, 1, 1)
    return [
        Terms(
            principal=Decimal(rng.randint(1_000_00, 500_000_00)) / 100,
            annual_rate=Decimal(rng.randint(300, 2400)) / 10_000,
            periods=periods,
            frequency=Frequency.MONTHLY,
            method=Method.EQUAL_INSTALLMENT,
            start_date=start + dt.timedelta(days=rng.randint(0, 364)),
        )
        for _ in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument("--periods", type=int, default=36)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--json", metavar="PATH", help="also write the result rows as JSON")
    args = parser.parse_args()
    terms = loans(args.schedules, args.periods, args.seed)

    started = time.perf_counter()
    installments, total_interest = [], Decimal(0)
    for t in terms:
        schedule = build_schedule(t)
        installments.append(schedule.installments[0].total)
        total_interest += schedule.total_interest
    ours = time.perf_counter() - started

    principal = np.array([float(t.principal) for t in terms])
    rate = np.array([float(t.annual_rate) for t in terms]) / 12
    started = time.perf_counter()
    payment = npf.pmt(rate, args.periods, -principal)
    per = np.arange(1, args.periods + 1)
    interest = npf.ipmt(rate[:, None], per[None, :], args.periods, -principal[:, None])
    theirs = time.perf_counter() - started

    cent = Decimal("0.01")
    differ = sum(
        mine != Decimal(repr(float(p))).quantize(cent, ROUND_HALF_UP)
        for mine, p in zip(installments, payment, strict=True)
    )
    float_interest = float(interest.sum())
    print(f"loans: {args.schedules:,} of {args.periods} monthly equal installments (等额本息)")
    print(
        f"installments equal to numpy's rounded to the cent: {args.schedules - differ:,}"
        f" of {args.schedules:,}"
    )
    print(
        f"total interest: ours {total_interest:,.2f} (cents), numpy {float_interest:,.2f} (float)"
    )
    for name, seconds in (
        ("build_schedule (exact, Decimal)", ours),
        ("numpy pmt+ipmt (float)", theirs),
    ):
        print(f"  {name + ':':36} {seconds:8.2f} s  {args.schedules / seconds:10,.0f} /s")
    print(f"ratio build_schedule / numpy: {ours / theirs:,.0f}x")
    if differ:
        raise SystemExit(f"{differ} installments differ from numpy's")
    write_rows(args.json, [
        Row("schedules", f"build_schedule, {args.schedules:,} loans", args.schedules / ours,
            "/s", "numpy pmt+ipmt", args.schedules / theirs, ours / theirs, "ours / numpy"),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
