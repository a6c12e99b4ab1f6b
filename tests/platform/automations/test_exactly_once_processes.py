# ruff: noqa: F811  (fixtures imported from tests.platform.job_fixtures are used by name)
"""Exactly-once across real processes: two ``loandesk scheduler`` processes and a
``loandesk worker`` run the reminder rule over 120 installments due in three days — a to-do
for the post-loan admin and an SMS to the borrower through the HTTP SMS gateway connector (the
test gateway on 127.0.0.1 records every request) — the worker is killed while it works through
them and a scheduler is killed too, then both are started again: every installment has
exactly one reminder to-do and its borrower exactly one SMS. On the database job backend
(embedded mode) and, in the PostgreSQL + Redis run, on rq.

Where the kill lands differs from run to run (while the timed-rules job records firings, or
while the firings run); whichever it is, the counts must come out the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from loandesk.settings import Settings
from tests.helpers import ApiClient, TenantFixture, make_tenant
from tests.platform.flows.api_helpers import client_for, ok
from tests.platform.job_fixtures import job_app, job_settings  # noqa: F401  (fixtures)
from tests.plugins.sms_http.gateway_server import FakeGateway, running

pytestmark = [pytest.mark.usefixtures("testloans_distribution"), pytest.mark.slow]
LOANDESK = str(Path(sys.executable).parent / "loandesk")
INSTALLMENTS = 120
RULE = {
    "name": "还款日前三天提醒贷后",
    "record_type": "test_installment",
    "trigger": {"kind": "relative", "field": "due_date", "days": -3, "at": "00:00"},
    "condition": 'status == "due"',
    "actions": [
        {
            "type": "create_todo",
            "title": "{{ loan_number }} 第 {{ period }} 期将于 {{ due_date }} 到期",
            "assignee": {"kind": "role", "role": "post_loan_admin"},
        },
        {
            "type": "notify",
            "to": {"kind": "borrower", "channel": "sms", "field": "mobile"},
            "texts": {"zh_CN": {"body": "您的借款第 {{ period }} 期将于 {{ due_date }} 到期"}},
        },
    ],
}


@pytest.fixture
def env(job_settings: Settings, testloans_distribution: Path) -> dict[str, str]:
    path = [str(testloans_distribution), os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        "LOANDESK_DATABASE_URL": job_settings.database_url,
        "LOANDESK_MIGRATION_DATABASE_URL": job_settings.migration_database_url,
        "LOANDESK_REDIS_URL": job_settings.redis_url,
        "LOANDESK_INSTANCE_PATH": str(job_settings.instance_path),
        "PYTHONPATH": os.pathsep.join(path),
    }


class Processes:
    """The worker and scheduler processes a test starts; all killed at the end."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *command: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [LOANDESK, *command],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """As a crash or an OOM kill would: no clean shut-down."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.started:
            self.kill(process)


@pytest.fixture
def processes(env: dict[str, str]) -> Iterator[Processes]:
    running = Processes(env)
    yield running
    running.stop_all()


class Firm:
    def __init__(self, app: Flask, tenant: TenantFixture) -> None:
        self.app, self.tenant = app, tenant
        self.db = app.extensions["loandesk"].db

    def session(self) -> Any:
        """A transaction as the tenant (committed at the end of the ``with`` block)."""
        from contextlib import contextmanager

        from loandesk.tenancy import service, use

        @contextmanager
        def scoped() -> Iterator[Any]:
            with self.app.app_context():
                with self.db.transaction() as session:
                    ref = service.get_by_slug(session, self.tenant.slug).ref()
                with use(ref), self.db.transaction() as session:
                    yield session

        return scoped()

    def count(self, model: Any, *where: Any) -> int:
        with self.session() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    with running(FakeGateway(account="ld-test", secret="gw-secret-7f3a9c2e51")) as server:
        yield server


def _firm(app: Flask, gateway: FakeGateway) -> Firm:
    tenant = make_tenant(app, f"once-{uuid.uuid4().hex[:6]}")
    admin = ApiClient(app.test_client(), tenant.token)
    ok(admin.put("/plugins/testloans", json={"enabled": True}))
    sms = {"gateway_url": gateway.url, "account_id": gateway.account, "secret_key": gateway.secret,
           "signature": "【某某小贷】", "id_field": "data.msgid"}  # fmt: skip
    ok(admin.put("/plugins/sms_http", json={"enabled": True, "settings": sms}))
    # no quiet hours: the SMS go whatever the hour the test runs at
    ok(admin.put("/notifications/quiet-hours", json={"start": "00:00", "end": "00:00"}))
    manager = client_for(
        app, tenant, tenant.admin_user_id, ("automations:read", "automations:write")
    )
    ok(manager.post("/automations", json=RULE), 201)
    return Firm(app, tenant)


def _installments(firm: Firm) -> None:
    """``INSTALLMENTS`` installments due three days from today (tenant time), a tenth paid."""
    from loandesk_testloans.models import TestInstallment

    from loandesk import pii
    from loandesk.db import utcnow
    from loandesk.tenancy import current

    with firm.session() as session:
        today = utcnow().astimezone(ZoneInfo(current().timezone)).date()
        owner = uuid.UUID(firm.tenant.admin_user_id)
        keys = pii.for_current_tenant()
        for n in range(INSTALLMENTS):
            row = TestInstallment(
                loan_number=f"JJ{n // 6:05d}",
                period=n % 6 + 1,
                due_date=today + timedelta(days=3),
                amount=Decimal("1000.00"),
                status="paid" if n % 10 == 0 else "due",
                owner_id=owner,
            )
            row.set_personal("mobile", f"1380013{n:04d}", keys=keys)
            session.add(row)


def _due_now(firm: Firm, schedule: str) -> None:
    """Say ``schedule`` last fired an hour ago, so a starting scheduler fires it at once (a
    schedule seen for the first time waits for its next period)."""
    from loandesk.db import utcnow
    from loandesk.jobs.schedules import ScheduleState

    with firm.app.app_context(), firm.db.transaction() as session:
        session.add(
            ScheduleState(
                schedule=schedule,
                tenant_key=firm.tenant.id,
                last_due_at=utcnow() - timedelta(hours=1),
            )
        )


def _wait(condition: Callable[[], bool], firm: Firm, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {_states(firm)}"
        time.sleep(0.2)


def _states(firm: Firm) -> dict[str, Any]:
    """How far the firings and the messages got (shown when a wait times out)."""
    from loandesk.automations.models import RuleFiring
    from loandesk.notifications.models import Message

    with firm.session() as session:
        return {
            "firings": session.execute(
                select(RuleFiring.state, func.count()).group_by(RuleFiring.state)
            ).all(),
            "errors": session.scalars(select(RuleFiring.last_error).distinct()).all()[:3],
            "results": [f.results for f in session.scalars(select(RuleFiring).limit(2))],
            "messages": session.execute(
                select(Message.state, func.count()).group_by(Message.state)
            ).all(),
            "message_errors": session.scalars(select(Message.last_error).distinct()).all()[:3],
        }


def _enqueue(firm: Firm, name: str) -> None:
    """What the scheduler does when ``name``'s period comes."""
    from loandesk.jobs.runtime import jobs

    with firm.app.app_context():
        jobs().enqueue(name, uuid.UUID(firm.tenant.id))


def test_restarts_and_two_schedulers_give_one_reminder_each(
    job_app: Flask, processes: Processes, gateway: FakeGateway
) -> None:
    from loandesk.automations.models import RuleFiring
    from loandesk.db import utcnow
    from loandesk.notifications.models import Message
    from loandesk.todos.models import Todo

    firm = _firm(job_app, gateway)
    _installments(firm)
    _due_now(firm, "core.timed_rules")
    wanted = INSTALLMENTS - INSTALLMENTS // 10

    schedulers = [processes.start("scheduler"), processes.start("scheduler")]
    worker = processes.start("worker")
    _wait(lambda: firm.count(Todo) > 0, firm)  # the firings are running
    processes.kill(worker)
    processes.kill(schedulers[0])
    done_before = firm.count(Todo)

    # a dead runner's claim runs out after ten minutes: let that time pass for the firings
    with firm.session() as session:
        session.execute(
            update(RuleFiring).where(RuleFiring.state == "pending").values(claimed_until=None)
        )
    schedulers.append(processes.start("scheduler"))
    processes.start("worker")
    _enqueue(firm, "core.timed_rules")  # the next five-minute period, twice over
    _enqueue(firm, "core.timed_rules")
    _enqueue(firm, "core.run_firings")  # the next one-minute period
    _wait(lambda: firm.count(RuleFiring, RuleFiring.state == "done") == wanted, firm)
    with firm.session() as session:  # a send the killed worker had claimed: its claim runs out
        session.execute(
            update(Message).where(Message.state == "pending").values(send_after=utcnow())
        )
    _enqueue(firm, "core.send_messages")
    _wait(lambda: firm.count(Message, Message.state == "sent") == wanted, firm)

    assert done_before <= wanted
    assert firm.count(RuleFiring) == wanted
    assert firm.count(Todo) == wanted
    with firm.session() as session:
        records = session.scalars(select(Todo.record_id)).all()
    assert len(set(records)) == wanted  # one each, none twice
    assert firm.count(Message) == wanted
    # the provider took one message per installment: a request repeated after a kill carries
    # the same idempotency key (the provider's documented way to send once)
    assert len(gateway.accepted) == wanted and len(set(gateway.requests)) == wanted
    assert len({m["mobile"] for m in gateway.accepted}) == wanted
