"""API throughput on PostgreSQL under gunicorn: a loan with its schedule read
(``GET /api/v1/loans/{id}``) and a payment posted (``POST /api/v1/loans/{id}/payments``),
against a bare Flask endpoint reading the same rows under the same gunicorn settings, in the
same run.

    .venv/bin/python bench/api_throughput.py                       # 3 rounds of 15 s each
    .venv/bin/python bench/api_throughput.py --rounds 1 --seconds 4  # a quick run

Set-up (not timed): a fresh database with its owner and app roles; a firm signed up through
the API with customers, products and repayment enabled, a product (等额本息, 12 %), a customer
and L loans of 12,000.00 over 12 months paid out on 2025-01-15 (schedules built), an API
client acting for the admin and its token. Then ``loandesk serve`` (gunicorn, production
mode, W sync workers, the app role under row-level security, Redis) and ``bare_app.py`` (the
same gunicorn settings; psycopg as the superuser: no token, tenant, RLS, ORM or schema).

The load generator is **wrk** (Debian's ``wrk``; ``apt-get install -y wrk``) in its own
process: T threads, C keep-alive connections, each request to the next of the L loans (a Lua
script), so that payments to one loan (which lock it) seldom wait for each other. Timed, in
each round and in this order: the bare read, LoanDesk's read, LoanDesk's payment of 1.00
(received 2026-02-01, every installment due; a fresh ``Idempotency-Key`` each), each for S
seconds after a warm-up of 3 s each (a worker's first requests are slow). The medians of the
rounds are printed; the ratio is LoanDesk's requests per second over the bare read's. Any
answer other than 2xx, or a socket error (wrk's timeout is 30 s: the machine may be busy),
fails the run; afterwards the payments in the database must match the 2xx answers (each
posted one: no key is sent twice), give or take a request per connection under way when a
run ended.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import statistics
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import psycopg
import results
from serving import RECEIVED_ON, Firm, bare_serve, keys, loandesk_serve, prepared, set_up_firm

BENCH = "api_throughput"
READ_GOAL = results.Goal("proposed", ">=", 0.25)  # bench/README.md says why
WRITE_GOAL = results.Goal("proposed", ">=", 0.10)


@dataclass
class Load:
    requests: int
    seconds: float
    rate: float
    latency: str


def lua(method: str, paths: list[str], headers: dict[str, str], body: str | None) -> str:
    """A wrk script sending ``method`` to each path in turn (per thread), with ``headers``;
    a payment gets a fresh ``Idempotency-Key`` each time."""
    prefix = secrets.token_hex(6)
    keyed = body is not None
    return f"""
paths = {{{", ".join(json.dumps(p) for p in paths)}}}
headers = {{{", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())}}}
body = {json.dumps(body) if body is not None else "nil"}
counter = 0
tid = 0
threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function request()
  counter = counter + 1
  {'headers["Idempotency-Key"] = "' + prefix + '-" .. tid .. "-" .. counter' if keyed else ""}
  return wrk.format({json.dumps(method)}, paths[((counter + tid * 7) % #paths) + 1], headers, body)
end
"""


def wrk(base: str, script: str, seconds: float, threads: int, connections: int) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as file:
        file.write(script)
        file.flush()
        command = [
            "wrk", "--latency", "--timeout", "30s", "-t", str(threads), "-c", str(connections),
            "-d", f"{max(1, round(seconds))}s", "-s", file.name, base,
        ]  # fmt: skip
        done = subprocess.run(  # noqa: S603 (wrk, our own arguments)
            command, capture_output=True, text=True, check=False
        )
    out = done.stdout
    failure = None
    if done.returncode != 0:
        failure = f"wrk failed ({done.returncode}): {done.stderr.strip()}"
    elif m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        failure = f"{m.group(1)} answers were not 2xx"
    elif m := re.search(r"Socket errors: (.*)", out):
        failure = f"socket errors ({m.group(1)})"
    if failure:  # wrk's output first, the reason last (bench/run shows the last line)
        print(out, flush=True)
        raise SystemExit(f"{base}: {failure}")
    counted = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"\s50%\s+(\S+)", out)
    if not (counted and rate):
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    took = float(counted.group(2)) / (1000 if counted.group(3) == "ms" else 1)
    return Load(int(counted.group(1)), took, float(rate.group(1)), p50.group(1) if p50 else "?")


def check_answers(base: str, bare: str, firm: Firm) -> int:
    """Both endpoints answer the same loan with its 12 installments (before timing)."""
    loan = firm.loans[0]
    asked = urllib.request.Request(  # noqa: S310 (local URL)
        f"{base}/api/v1/loans/{loan}", headers={"Authorization": f"Bearer {firm.token}"}
    )
    with urllib.request.urlopen(asked, timeout=120) as answer:  # noqa: S310
        ours = json.load(answer)
    with urllib.request.urlopen(f"{bare}/loans/{loan}", timeout=120) as answer:  # noqa: S310
        theirs = json.load(answer)
    assert ours["id"] == theirs["id"] == loan, (ours.get("id"), theirs.get("id"))
    assert len(ours["installments"]) == len(theirs["installments"]) == 12
    return len(ours["installments"])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15, help="each timed load")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (each server)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--loans", type=int, default=32)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--json", metavar="PATH", help="also write the result rows as JSON")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk: apt-get install -y wrk")
    secret = keys()
    print(f"setting up a firm with {args.loans} loans …", flush=True)
    with prepared(args.postgres, secret) as (database, app, folder):
        firm = set_up_firm(app, "bench", args.loans)
        app.extensions["loandesk"].db.dispose()
        with (
            loandesk_serve(database, secret, folder, args.workers, args.redis) as base,
            bare_serve(database, folder, args.workers) as bare,
        ):
            check_answers(base, bare, firm)
            auth = {"Authorization": f"Bearer {firm.token}"}
            payment = json.dumps({"amount": "1.00", "received_on": RECEIVED_ON,
                                  "reference": "bench"})  # fmt: skip
            # a script per wrk run: each has its own prefix of idempotency keys
            scripts: dict[str, tuple[str, Callable[[], str]]] = {
                "bare": (bare, partial(lua, "GET", [f"/loans/{i}" for i in firm.loans], {}, None)),
                "read": (base, partial(lua, "GET", [f"/api/v1/loans/{i}" for i in firm.loans],
                                       auth, None)),
                "write": (base, partial(lua, "POST", [f"/api/v1/loans/{i}/payments"
                                                      for i in firm.loans],
                                        {**auth, "Content-Type": "application/json"}, payment)),
            }  # fmt: skip
            loads: dict[str, list[Load]] = {k: [] for k in scripts}
            warm = [  # connections, caches, plans
                wrk(server, script(), 3, args.threads, args.connections)
                for server, script in scripts.values()
            ]
            for _ in range(args.rounds):
                for kind, (server, script) in scripts.items():
                    load = wrk(server, script(), args.seconds, args.threads, args.connections)
                    loads[kind].append(load)
                    print(f"  {kind:5}  {load.rate:8,.1f} req/s  (median latency "
                          f"{load.latency})", flush=True)  # fmt: skip
        with psycopg.connect(database.superuser_url) as connection:
            row = connection.execute(
                "select count(*) from repayment_payments where source = 'api'"
            ).fetchone()
        posted = row[0] if row else 0
    # every 2xx answer posted a payment (no key was sent twice, so none was replayed); a run
    # may end with a request of each connection under way, posted but not counted by wrk
    answered = sum(x.requests for x in loads["write"]) + warm[2].requests
    most = answered + args.connections * (args.rounds + 1)
    assert answered <= posted <= most, f"{posted} payments posted for {answered} 2xx answers"
    rate = {k: statistics.median(x.rate for x in v) for k, v in loads.items()}
    print(f"gunicorn: {args.workers} sync workers each; wrk: {args.threads} threads, "
          f"{args.connections} keep-alive connections; {args.loans} loans; median of "
          f"{args.rounds} round(s) of {args.seconds:g} s")  # fmt: skip
    print(f"payments posted: {posted:,} (every answer 2xx)")
    print(f"bare Flask GET (psycopg, same rows):       {rate['bare']:9,.1f} req/s")
    print(f"GET /api/v1/loans/{{id}} (with schedule):    {rate['read']:9,.1f} req/s")
    print(f"POST /api/v1/loans/{{id}}/payments:          {rate['write']:9,.1f} req/s")
    print(f"ratio read / bare: {rate['read'] / rate['bare']:.2f}; "
          f"payment / bare read: {rate['write'] / rate['bare']:.2f}")  # fmt: skip
    baseline = "bare Flask GET"
    results.write_rows(args.json, [
        results.Row(BENCH, "GET loan + schedule", rate["read"], "req/s", baseline, rate["bare"],
                    rate["read"] / rate["bare"], "LoanDesk / bare", READ_GOAL),
        results.Row(BENCH, "POST payment", rate["write"], "req/s", baseline, rate["bare"],
                    rate["write"] / rate["bare"], "LoanDesk / bare read", WRITE_GOAL),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
