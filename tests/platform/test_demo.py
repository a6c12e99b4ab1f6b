"""The demo tenant: its bundle (tenants/demo/) fits the schema and applies to a fresh tenant,
and ``loandesk demo`` generates a consistent, deterministic history of 18 months."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import select

from loandesk.cli import cli
from tests.helpers import TenantFixture, csrf_from, tenant_session

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "tenants" / "demo"
PASSWORD = "Demo-Correct-horse-42"


def test_the_bundle_ships_in_the_package_and_the_checkout_links_to_it() -> None:
    """``loandesk demo`` reads the bundle from the package (a wheel installs it as package
    data); tenants/demo in a checkout is the same folder."""
    from importlib.resources import files

    from loandesk.demo import staff

    packaged = Path(str(files("loandesk.demo").joinpath("bundle")))
    assert packaged == staff.BUNDLE
    assert (packaged / "plugins.yaml").is_file()
    assert (packaged / "flows" / "application.yaml").is_file()
    assert BUNDLE.resolve() == packaged.resolve()


def test_the_wheel_carries_the_bundle() -> None:
    """The package data of pyproject.toml takes every file of the bundle (setuptools globs
    the patterns in the package's folder)."""
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["loandesk"]
    package = ROOT / "platform" / "loandesk"
    shipped = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    bundle = {p for p in (package / "demo" / "bundle").rglob("*") if p.is_file()}
    assert len(bundle) >= 12
    assert bundle - shipped == set()


def test_the_demo_bundle_fits_the_json_schema() -> None:
    schema = json.loads((ROOT / "tenants" / "bundle.schema.json").read_text(encoding="utf-8"))
    bundle = {
        str(p.relative_to(BUNDLE)): yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in BUNDLE.rglob("*.yaml")
    }
    assert {"roles.yaml", "org.yaml", "flows/application.yaml", "fields/application.yaml"} <= set(
        bundle
    )
    jsonschema.validate(bundle, schema)


def _tenant(app: Flask, slug: str) -> Any:
    from loandesk.tenancy import service
    from loandesk.tenancy.models import Tenant

    with tenant_session(app, slug) as session:
        return session.get(Tenant, service.get_by_slug(session, slug).id)


def test_the_demo_bundle_applies_to_a_fresh_tenant_and_again_changes_nothing(
    app: Flask, tenant_a: TenantFixture
) -> None:
    from loandesk.demo import staff
    from loandesk.flows.engine import published
    from loandesk.plugins import service as plugins
    from loandesk.rbac.models import OrgUnit
    from loandesk.tenancy.models import Tenant

    with tenant_session(app, tenant_a.slug) as session:  # staff, the SMS secret
        staff.prepare(session, session.scalars(select(Tenant)).one(), PASSWORD)
        # the bundle's plugins are not enabled yet: its SMS rule (the sms channel, the
        # customer's mobile) is checked against those the bundle enables, in one transaction
        assert not {"sms_http", "customers", "intake"} & plugins.enabled_names(session)
    with tenant_session(app, tenant_a.slug) as session:
        changes = staff.apply_bundle(session, session.scalars(select(Tenant)).one())
        staff.place(session)
    done = {str(c) for c in changes}
    assert any(c.startswith("flows/application.yaml") for c in done), done
    assert any(c.startswith("collections.yaml") for c in done), done
    with tenant_session(app, tenant_a.slug) as session:
        assert staff.apply_bundle(session, session.scalars(select(Tenant)).one()) == []
        units = set(session.scalars(select(OrgUnit.name)))
        assert {"华东分公司", "风控部", "电催一组"} <= units
        flow = published(session, "application")
        assert flow is not None
        credit = staff.unit_by_path(session, ("华东分公司", "上海营业部"))
        from loandesk.auth import users

        officer = users.find_by_email(session, "zhang.wei@demo.loandesk.local")
        assert officer is not None and officer.org_unit_id == credit.id


# --- the generated history (slow: one small demo per module) -------------------------------


def _run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def test_the_history_months_end_with_yesterdays_month() -> None:
    """The history runs up to yesterday: on the first of a month (CI on 1 December in
    Shanghai once found it) today's month has no day to fill and is left out."""
    from loandesk.demo.history import MONTHS, month_starts

    on_the_first = month_starts(dt.date(2026, 12, 1) - dt.timedelta(days=1))
    assert (on_the_first[0], on_the_first[-1]) == (dt.date(2025, 6, 1), dt.date(2026, 11, 1))
    on_the_second = month_starts(dt.date(2026, 12, 2) - dt.timedelta(days=1))
    assert (on_the_second[0], on_the_second[-1]) == (dt.date(2025, 7, 1), dt.date(2026, 12, 1))
    across_a_year = month_starts(dt.date(2027, 1, 1) - dt.timedelta(days=1))
    assert len(on_the_first) == len(on_the_second) == len(across_a_year) == MONTHS == 18
    assert across_a_year[-1] == dt.date(2026, 12, 1)


RUNS: dict[str, str] = {}  # the small demo's output, by instance folder


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = {"LOANDESK_INSTANCE_PATH": str(tmp_path_factory.mktemp("demo"))}
    done = _run(env, "demo", "--no-serve", "--size", "small")
    assert done.exit_code == 0, done.output
    assert "Generated (seed 20260101, small)" in done.output
    RUNS[env["LOANDESK_INSTANCE_PATH"]] = done.output
    yield env


@pytest.fixture(scope="module")
def demo_app(demo_env: dict[str, str]) -> Iterator[Flask]:
    from loandesk.app import create_app
    from loandesk.settings import Settings

    app = create_app(Settings.from_env(demo_env))
    yield app
    app.extensions["loandesk"].db.dispose()


def digest(app: Flask) -> str:
    """The key rows of the demo's history: loans (number, principal, periods, status, paid out
    on), payments (loan, amount, day) and applications (number, amount, status)."""
    from loandesk_intake.models import Application
    from loandesk_repayment.models import Loan, Payment

    with tenant_session(app, "demo") as session:
        loans = session.execute(
            select(
                Loan.number, Loan.principal, Loan.periods, Loan.status, Loan.disbursed_on
            ).order_by(Loan.number)
        ).all()
        numbers = dict(session.execute(select(Loan.id, Loan.number)).all())
        paid = sorted(
            (numbers[p.loan_id], str(p.amount), p.received_on.isoformat())
            for p in session.scalars(select(Payment))
        )
        applications = session.execute(
            select(Application.number, Application.amount, Application.status).order_by(
                Application.number
            )
        ).all()
    text = repr((loans, paid, applications))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.slow
def test_the_history_spreads_over_18_months_with_loans_in_every_status(demo_app: Flask) -> None:
    from loandesk_repayment.checks import local_today
    from loandesk_repayment.models import Loan

    with tenant_session(demo_app, "demo") as session:
        today = local_today()
        loans = list(session.scalars(select(Loan)))
    months = Counter(f"{loan.disbursed_on:%Y-%m}" for loan in loans if loan.disbursed_on)
    first = (today.replace(day=1) - dt.timedelta(days=17 * 31)).replace(day=1)
    assert min(months) >= f"{first:%Y-%m}" and max(months) <= f"{today:%Y-%m}"
    assert len(months) >= 17, months  # every month (the current one may have none yet)
    statuses = Counter(loan.status for loan in loans)
    assert {"pending", "active", "settled", "written_off"} <= set(statuses), statuses
    assert sum(1 for loan in loans if loan.days_past_due > 0) >= 3


@pytest.mark.slow
def test_overdue_loans_reach_the_collectors_and_every_ledger_balances(demo_app: Flask) -> None:
    from loandesk_collections.models import Action, Case
    from loandesk_repayment import ledger
    from loandesk_repayment.models import Loan

    from loandesk.auth import users

    with tenant_session(demo_app, "demo") as session:
        collectors = {
            getattr(users.find_by_email(session, f"{login}@demo.loandesk.local"), "id", None)
            for login in ("sun.hao", "zhou.lei", "wu.ting")
        }
        overdue = list(
            session.scalars(select(Loan).where(Loan.status == "active", Loan.days_past_due > 3))
        )
        cases = {c.loan_id: c for c in session.scalars(select(Case).where(Case.status == "open"))}
        assert overdue
        assert all(loan.id in cases for loan in overdue)
        assert {c.owner_id for c in cases.values()} & collectors
        assert session.scalars(select(Action)).first() is not None
        for loan in session.scalars(select(Loan).where(Loan.status != "pending")):
            assert ledger.ledger_problems(session, loan) == [], loan.number


@pytest.mark.slow
def test_the_last_months_loans_have_signed_contracts_and_paid_payout_orders(
    demo_app: Flask,
) -> None:
    from loandesk_contracts.models import Contract
    from loandesk_disbursement.models import Order
    from loandesk_intake.models import Application
    from loandesk_repayment.models import Loan

    with tenant_session(demo_app, "demo") as session:
        contracts = list(session.scalars(select(Contract)))
        orders = {o.loan_id: o for o in session.scalars(select(Order))}
        loans = {loan.id: loan for loan in session.scalars(select(Loan))}
        applications = {a.id: a.status for a in session.scalars(select(Application))}
        signed = [c for c in contracts if c.status == "signed"]
        assert signed and orders
        for contract in signed:
            loan = loans[contract.loan_id]
            assert contract.signed_pdf_sha256 and contract.signed_pdf_id is not None
            assert applications[loan.application_id] == "contracted"
            if loan.status != "pending":  # paid out through its order, on its payout day
                order = orders[loan.id]
                assert (order.status, order.paid_on) == ("paid", loan.disbursed_on)
                assert order.amount == loan.principal
                assert order.reviewed_by_id != order.requested_by_id
        # the older loans were signed on paper and paid out by the bank: no contract, no order
        paperless = {c.loan_id for c in contracts}
        assert set(orders) <= paperless
        older = [loan for loan in loans.values() if loan.id not in paperless]
        assert older and all(loan.status != "pending" for loan in older)
        assert len(older) > len(paperless)


@pytest.mark.slow
def test_the_audit_chain_verifies(demo_env: dict[str, str]) -> None:
    done = _run(demo_env, "audit", "verify", "--tenant", "demo")
    assert done.exit_code == 0, done.output
    assert "demo: ok" in done.output


@pytest.mark.slow
def test_a_second_run_keeps_the_data_and_prints_the_logins(
    demo_env: dict[str, str], demo_app: Flask
) -> None:
    before = digest(demo_app)
    again = _run(demo_env, "demo", "--no-serve", "--size", "small")
    assert again.exit_code == 0, again.output
    assert "kept as it is" in again.output
    RUNS[demo_env["LOANDESK_INSTANCE_PATH"]] = again.output  # the password now
    for login in ("admin", "zhang.wei", "chen.jing", "zhao.min", "sun.hao", "zheng.li"):
        assert f"{login}@demo.loandesk.local" in again.output
    assert digest(demo_app) == before


def _sign_in(app: Flask, email: str, password: str) -> Any:
    web = app.test_client()
    token = csrf_from(web, "/t/demo/login")
    answer = web.post(
        "/t/demo/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return web


@pytest.mark.slow
@pytest.mark.parametrize(
    ("login", "pages"),
    [
        ("admin", ["/dashboards", "/loans/", "/collections/", "/contracts/", "/disbursements/"]),
        ("zhang.wei", ["/dashboards", "/loans/", "/applications/"]),
        ("chen.jing", ["/dashboards", "/loans/", "/applications/"]),
        ("zhao.min", ["/dashboards", "/loans/", "/collections/"]),
        ("sun.hao", ["/collections/"]),
        ("zheng.li", ["/dashboards", "/loans/"]),
    ],
)
def test_key_pages_answer_each_role_with_data(
    demo_env: dict[str, str], demo_app: Flask, login: str, pages: list[str]
) -> None:
    output = RUNS[demo_env["LOANDESK_INSTANCE_PATH"]]
    password = output.split("Password")[1].split()[0]
    web = _sign_in(demo_app, f"{login}@demo.loandesk.local", password)
    for page in pages:
        answer = web.get(f"/t/demo{page}", follow_redirects=True)
        assert answer.status_code == 200, (page, answer.get_data(as_text=True)[:300])
        html = answer.get_data(as_text=True)
        if page in ("/loans/", "/applications/"):
            assert "DK" in html or "SQ" in html or "<tr" in html, page
        if page in ("/collections/", "/contracts/", "/disbursements/"):
            assert "<tr" in html, page


@pytest.mark.slow
def test_the_same_seed_gives_the_same_history_and_another_seed_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loandesk.app import create_app
    from loandesk.demo import history
    from loandesk.settings import Settings

    monkeypatch.setitem(history.SIZES, "small", history.Size(customers=40, loans=24))
    found = []
    for name, seed in (("one", "7"), ("two", "7"), ("three", "8")):
        env = {"LOANDESK_INSTANCE_PATH": str(tmp_path / name)}
        done = _run(env, "demo", "--no-serve", "--size", "small", "--seed", seed)
        assert done.exit_code == 0, done.output
        app = create_app(Settings.from_env(env))
        found.append(digest(app))
        app.extensions["loandesk"].db.dispose()
    assert found[0] == found[1]
    assert found[0] != found[2]
