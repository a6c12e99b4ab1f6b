"""Latency of one API read (a loan with its schedule) with 1 tenant in the database against
1,000 tenants, in the same run.

    .venv/bin/python bench/tenant_scale.py                              # 1,000 tenants
    .venv/bin/python bench/tenant_scale.py --tenants 100 --requests 300  # a quick run

Two fresh databases, each with its owner and app roles. In both, the measured firm is set up
through the API as ``api_throughput.py`` does (sign-up, API client, products, customers and
repayment enabled, a product, a customer, L loans with their schedules). In the second, N - 1
other firms are signed up through the tenancy service (``sign_up``, customers and repayment
enabled, a customer and an own funder each) and given M loans each with their 12 installments
(COPYed in as ``cob.py`` does: PostgreSQL refuses COPY under row-level security), then both
databases are ``ANALYZE``d. Each database gets its ``loandesk serve`` (gunicorn, production
mode, one sync worker, the app role under row-level security).

Timed: R requests ``GET /api/v1/loans/{id}`` to each server, one at a time over a keep-alive
connection (``http.client``, this process), alternating between the two servers request by
request (so that the machine's noise falls on both alike), after a warm-up. Prints the median
and the 95th percentile of each and the ratios N tenants / 1 tenant.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import time
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit

import psycopg
import results
from serving import Firm, keys, loandesk_serve, prepared, set_up_firm

BENCH = "tenant_scale"
MEDIAN_GOAL = results.Goal("proposed", "<=", 1.2)  # bench/README.md says why
P95_GOAL = results.Goal("proposed", "<=", 1.5)


def other_firms(app: Any, database: Any, count: int, loans: int) -> int:
    """``count`` more firms, each with ``loans`` loans and their installments."""
    import cob

    made = cob.setup_tenants(app, count)
    cob.load(database, made, loans)
    return len(made)


def analyze(database: Any) -> None:
    with psycopg.connect(database.superuser_url, autocommit=True) as connection:
        connection.execute("ANALYZE")


def counts(database: Any) -> tuple[int, int, int]:
    with psycopg.connect(database.superuser_url) as connection:
        row = connection.execute(
            "select (select count(*) from tenants), (select count(*) from repayment_loans), "
            "(select count(*) from repayment_installments)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


class Client:
    """One keep-alive connection to a server, reading the firm's loans in turn."""

    def __init__(self, base: str, firm: Firm) -> None:
        self.connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
        self.firm, self.turn = firm, 0
        self.headers = {"Authorization": f"Bearer {firm.token}"}

    def get(self) -> float:
        loan = self.firm.loans[self.turn % len(self.firm.loans)]
        self.turn += 1
        started = time.perf_counter()
        self.connection.request("GET", f"/api/v1/loans/{loan}", headers=self.headers)
        answer = self.connection.getresponse()
        body = answer.read()
        took = time.perf_counter() - started
        if answer.status != 200:
            raise SystemExit(f"GET answered {answer.status}: {body[:300]!r}")
        return took


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1_000, help="firms in the larger database")
    parser.add_argument("--loans", type=int, default=20, help="loans of each other firm")
    parser.add_argument("--measured-loans", type=int, default=8, help="loans of the measured firm")
    parser.add_argument("--requests", type=int, default=1_000, help="timed requests per server")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--json", metavar="PATH", help="also write the result rows as JSON")
    args = parser.parse_args()
    secret = keys()
    with ExitStack() as stack:
        one_db, one_app, one_folder = stack.enter_context(prepared(args.postgres, secret))
        many_db, many_app, many_folder = stack.enter_context(prepared(args.postgres, secret))
        print("setting up the measured firm in both databases …", flush=True)
        one = set_up_firm(one_app, "bench", args.measured_loans)
        many = set_up_firm(many_app, "bench", args.measured_loans)
        started = time.perf_counter()
        print(f"signing up {args.tenants - 1:,} more firms with {args.loans} loans each …",
              flush=True)  # fmt: skip
        other_firms(many_app, many_db, args.tenants - 1, args.loans)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
        for database, app in ((one_db, one_app), (many_db, many_app)):
            app.extensions["loandesk"].db.dispose()
            analyze(database)
        sizes = counts(one_db), counts(many_db)
        one_base = stack.enter_context(loandesk_serve(one_db, secret, one_folder, 1, args.redis))
        many_base = stack.enter_context(loandesk_serve(many_db, secret, many_folder, 1, args.redis))
        clients = Client(one_base, one), Client(many_base, many)
        for _ in range(max(20, args.requests // 10)):  # warm-up
            for client in clients:
                client.get()
        times: tuple[list[float], list[float]] = ([], [])
        for n in range(args.requests):
            order = (0, 1) if n % 2 == 0 else (1, 0)
            for side in order:
                times[side].append(clients[side].get())
    medians = [statistics.median(t) * 1000 for t in times]
    tails = [p95(t) * 1000 for t in times]
    for label, (tenants, loans, installments) in zip(("small", "large"), sizes, strict=True):
        print(f"{label} database: {tenants:,} tenants, {loans:,} loans, "
              f"{installments:,} installments")  # fmt: skip
    print(f"GET /api/v1/loans/{{id}} (with its 12 installments), {args.requests:,} requests "
          "each, alternating, one gunicorn worker each")  # fmt: skip
    for label, median, tail in zip(
        ("1 tenant", f"{sizes[1][0]:,} tenants"), medians, tails, strict=True
    ):
        print(f"  {label + ':':15} median {median:7.2f} ms   p95 {tail:7.2f} ms")
    print(f"ratio {sizes[1][0]:,} / 1 tenant: median {medians[1] / medians[0]:.2f}, "
          f"p95 {tails[1] / tails[0]:.2f}")  # fmt: skip
    many_label = f"{sizes[1][0]:,} tenants"
    results.write_rows(args.json, [
        results.Row(BENCH, f"median GET, {many_label}", medians[1], "ms", "1 tenant",
                    medians[0], medians[1] / medians[0], "many / 1", MEDIAN_GOAL),
        results.Row(BENCH, f"p95 GET, {many_label}", tails[1], "ms", "1 tenant", tails[0],
                    tails[1] / tails[0], "many / 1", P95_GOAL),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
