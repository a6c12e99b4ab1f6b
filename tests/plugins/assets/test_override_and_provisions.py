"""A risk manager's override of a loan's class (with a reason, audited, an event; refused
without a reason, a known class, the permission or an active loan), provisions per class at
the tenant's rates (settings, exported with the tenant bundle), and the class-migration
report over the class history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from decimal import Decimal

from sqlalchemy import select

from tests.platform.reports.conftest import reports_client
from tests.plugins.assets.conftest import admin, api
from tests.plugins.customers.conftest import audit_events
from tests.plugins.repayment.conftest import Desk
from tests.plugins.repayment.test_cob import _cob


def test_an_override_needs_a_reason_and_the_permission_and_is_audited(assets_desk: Desk) -> None:
    desk = assets_desk
    loan = desk.book()
    path = f"/assets/loans/{loan['id']}/class/override"
    chief = api(desk, "chief")
    assert chief.get(f"/assets/loans/{loan['id']}/class").get_json()["loan_class"] == "normal"
    no_reason = chief.put(path, json={"loan_class": "doubtful", "reason": "  "})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    unknown = chief.put(path, json={"loan_class": "bad", "reason": "x"})
    assert unknown.status_code == 422 and "loan_class" in unknown.get_json()["errors"]
    assert (
        api(desk, "finance").put(path, json={"loan_class": "loss", "reason": "x"}).status_code
        == 403
    )
    assert chief.put(f"/assets/loans/{uuid.uuid4()}/class/override",
                     json={"loan_class": "loss", "reason": "x"}).status_code == 404  # fmt: skip
    done = chief.put(path, json={"loan_class": "doubtful", "reason": "借款人已失联"})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert (body["loan_class"], body["dpd_class"], body["override_class"]) == (
        "doubtful", "normal", "doubtful")  # fmt: skip
    newest = body["history"][0]
    assert (newest["from_class"], newest["to_class"], newest["cause"]) == (
        "normal", "doubtful", "override")  # fmt: skip
    (audit,) = audit_events(desk.app, desk.firm, "assets.class.override")
    assert audit.diff["reason"] == "借款人已失联" and audit.diff["loan_class"] == [
        "normal",
        "doubtful",
    ]
    # close of business does not move an overridden class
    _cob(desk, dt.date(2025, 3, 1))
    assert chief.get(f"/assets/loans/{loan['id']}/class").get_json()["loan_class"] == "doubtful"
    cleared = chief.post(f"{path}/clear", json={"reason": "已联系上"})
    assert cleared.status_code == 200 and cleared.get_json()["loan_class"] == "special_mention"
    again = chief.post(f"{path}/clear", json={"reason": "再次"})
    assert again.status_code == 409
    from loandesk.events import OutboxEvent

    with desk.session() as session:
        names = [e.name for e in session.scalars(select(OutboxEvent))]
    assert names.count("loan.class_overridden") == names.count("loan.class_override_cleared") == 1


def test_provisions_per_class_at_the_tenants_rates(assets_desk: Desk) -> None:
    desk = assets_desk
    current = desk.book()
    desk.book(principal="20000.00")  # left unpaid
    assert desk.pay(current["id"], "1100.00", dt.date(2025, 2, 15)).status_code == 201
    _cob(desk, dt.date(2025, 3, 1))  # the second loan is 13 days past due: 关注
    chief = api(desk, "chief")
    lines = {x["loan_class"]: x for x in chief.get("/assets/provisions").get_json()["lines"]}
    assert lines["normal"]["loans"] == lines["special_mention"]["loans"] == 1
    assert Decimal(lines["special_mention"]["rate"]) == Decimal("0.02")
    principal = Decimal(lines["special_mention"]["principal_outstanding"])
    assert principal == Decimal("20000.00")  # nothing repaid yet
    assert Decimal(lines["special_mention"]["provision"]) == Decimal("400.00")
    normal = Decimal(lines["normal"]["principal_outstanding"])
    assert Decimal(lines["normal"]["provision"]) == (normal / 100).quantize(Decimal("0.01"))

    bad = admin(desk).put(
        "/plugins/assets", json={"settings": {"provision_special_mention": "120"}}
    )
    assert bad.status_code == 422
    good = admin(desk).put(
        "/plugins/assets", json={"settings": {"provision_special_mention": "5.5"}}
    )
    assert good.status_code == 200, good.get_json()
    lines = {x["loan_class"]: x for x in chief.get("/assets/provisions").get_json()["lines"]}
    assert Decimal(lines["special_mention"]["provision"]) == Decimal("1100.00")
    # out of scope: a credit officer of 二组 sees none of the finance clerk's loans
    assert api(desk, "officer3").get("/assets/provisions").status_code == 403


def test_settings_join_the_tenant_bundle(assets_desk: Desk) -> None:
    from loandesk.bundle.export import plugins_file

    desk = assets_desk
    answer = admin(desk).put(
        "/plugins/assets", json={"settings": {"class_dpd_limits": "0, 30, 60, 120"}}
    )
    assert answer.status_code == 200, answer.get_json()
    with desk.session() as session:
        found = plugins_file(session, desk.app.extensions["loandesk.plugins"])["plugins"]
    assert found["assets"]["settings"]["class_dpd_limits"] == "0, 30, 60, 120"


def test_the_class_migration_report(assets_desk: Desk) -> None:
    desk = assets_desk
    loans = [desk.book() for _ in range(3)]
    assert desk.pay(loans[0]["id"], "1100.00", dt.date(2025, 2, 15)).status_code == 201
    _cob(desk, dt.date(2025, 3, 1))
    _cob(desk, dt.date(2025, 6, 1))
    reader = reports_client(desk.app, desk.app.test_client(), desk.firm.tenant.slug,
                            desk.firm.tenant.id, desk.firm.staff["chief"].user_id)  # fmt: skip
    answer = reader.post("/reports/builtin/assets.class_migration/run")
    assert answer.status_code == 200, answer.get_json()
    moves: Counter[tuple[str, str]] = Counter()
    for r in answer.get_json()["rows"]:  # by month, from, to
        if r["from_class"]:
            moves[(r["from_class"], r["to_class"])] += int(r["count"])
    # two loans unpaid since February: 关注 in March, 次级 by June (over 90 days); the third
    # paid its first installment, then fell behind (关注 only)
    assert moves[("normal", "special_mention")] == 3
    assert moves[("special_mention", "substandard")] == 2


def test_a_loan_repaid_early_leaves_provisions(assets_desk: Desk) -> None:
    desk = assets_desk
    loan = desk.book()
    body = {"kind": "full", "repaid_on": "2025-02-01"}
    total = desk.api.post(f"/loans/{loan['id']}/early-repayment/quote", json=body).get_json()
    posted = desk.api.post(
        f"/loans/{loan['id']}/early-repayment", json={**body, "amount": total["total"]}
    )
    assert posted.status_code == 201, posted.get_json()
    lines = api(desk, "chief").get("/assets/provisions").get_json()["lines"]
    assert sum(line["loans"] for line in lines) == 0
    from loandesk_assets.models import LoanClass

    with desk.session() as session:
        row = session.get(LoanClass, (uuid.UUID(desk.firm.tenant.id), uuid.UUID(loan["id"])))
        assert row is not None
        assert (row.loan_status, row.principal_outstanding) == ("settled", Decimal("0.00"))
