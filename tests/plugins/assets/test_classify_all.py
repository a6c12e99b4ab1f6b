"""Loans paid out before the firm enabled the assets plugin have no class (no position ever
reached it); "classify every active loan" takes them all in through the loan book's
``positions``, as a job queued from the API or the provisions page, and changes nothing when
run again."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import func, select

from tests.helpers import csrf_from
from tests.plugins.assets.conftest import admin, api
from tests.plugins.customers.conftest import add_staff, audit_events
from tests.plugins.repayment.conftest import Desk, signed_in_as
from tests.plugins.repayment.test_cob import _cob


def _run_job(desk: Desk) -> None:
    from loandesk_assets.classify import CLASSIFY_ALL_JOB

    from loandesk.jobs.runtime import execute

    execute(desk.app, "classify-all", CLASSIFY_ALL_JOB, uuid.UUID(desk.firm.tenant.id), (), 1,
            lambda done, total: None)  # fmt: skip


def _history_rows(desk: Desk) -> int:
    from loandesk_assets.models import ClassChange

    with desk.session() as session:
        return int(session.scalar(select(func.count()).select_from(ClassChange)) or 0)


def test_loans_paid_out_before_the_plugin_are_classified_once(desk: Desk) -> None:
    current = desk.book()
    behind = desk.book(principal="20000.00")  # nothing paid: 14 days past due on 2025-03-01
    assert desk.pay(current["id"], "1100.00", dt.date(2025, 2, 15)).status_code == 201
    _cob(desk, dt.date(2025, 3, 1))  # the plugin is not enabled: nobody classifies
    answer = admin(desk).put("/plugins/assets", json={"enabled": True})
    assert answer.status_code == 200, answer.get_json()
    desk.firm.staff["chief"] = add_staff(desk.app, desk.api.client, desk.firm.tenant, "chief",
                                         ["risk_manager"], desk.firm.units["company"])  # fmt: skip
    chief = api(desk, "chief")
    before = chief.get("/assets/provisions").get_json()
    assert sum(line["loans"] for line in before["lines"]) == 0

    assert api(desk, "collector").post("/assets/classify-all").status_code == 403
    queued = chief.post("/assets/classify-all")
    assert queued.status_code == 202, queued.get_json()
    assert queued.get_json()["job_id"]
    _run_job(desk)

    lines = {x["loan_class"]: x for x in chief.get("/assets/provisions").get_json()["lines"]}
    assert lines["normal"]["loans"] == 1 and lines["special_mention"]["loans"] == 1
    assert Decimal(lines["special_mention"]["principal_outstanding"]) == Decimal("20000.00")
    with desk.session() as session:
        from loandesk_assets.models import LoanClass

        row = session.get(LoanClass, (uuid.UUID(desk.firm.tenant.id), uuid.UUID(behind["id"])))
        assert row is not None
        assert (row.days_past_due, row.loan_class) == (14, "special_mention")
        assert row.business_date == dt.date(2025, 3, 1)  # the tenant's business date
    changes = _history_rows(desk)
    assert changes == 2
    (audited,) = audit_events(desk.app, desk.firm, "assets.classify_all")
    assert audited.diff == {"loans": 2, "changed": 2}

    _run_job(desk)  # again: nothing moves
    assert _history_rows(desk) == changes

    browser = signed_in_as(desk, "chief")
    page = f"/t/{desk.firm.tenant.slug}/assets/"
    token = csrf_from(browser, page)
    posted = browser.post(f"{page}classify-all", data={"csrf_token": token})
    assert posted.status_code == 302
    assert browser.post(f"{page}classify-all", data={}).status_code in (400, 403)  # no CSRF
    clerk = signed_in_as(desk, "collector")
    own = csrf_from(clerk, f"/t/{desk.firm.tenant.slug}/")
    assert clerk.post(f"{page}classify-all", data={"csrf_token": own}).status_code == 403
