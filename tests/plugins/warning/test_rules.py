"""The rules fire on what happens to a loan and clear when it no longer holds: the first
installment near and nothing paid; a payment that leaves arrears; a borrower's new mobile;
many bureau enquiries; repeated broken promises (the collections plugin's event). Each flag
and each clearing is an event on the watch-list entry, and only a change is one."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from loandesk import sdk
from loandesk.sdk import PluginInfo, hookimpl
from tests.plugins.warning.conftest import Warn


def _codes(entry: dict[str, Any] | None) -> list[str]:
    assert entry is not None
    return [r["code"] for r in entry["reasons"]]


def test_a_new_loan_with_nothing_paid_is_flagged_before_its_first_due_date(warn: Warn) -> None:
    new = warn.book(25)  # the first installment falls due within the week
    settled_in = warn.book(70)  # two installments due, both paid: no sign of trouble
    for line in warn.installments(settled_in)[:2]:
        warn.pay(settled_in, line.outstanding)
    warn.run("warning.score")

    entry = warn.entry(new)
    assert entry is not None and _codes(entry) == ["first_payment"]
    assert (entry["level"], entry["score"], entry["model_score"]) == ("medium", 30, None)
    assert "nothing has been paid" in entry["reasons"][0]["en"]
    assert "首期违约风险" in entry["reasons"][0]["zh"]
    assert warn.entry(settled_in) is None
    [flagged] = warn.events("warning.flagged")
    assert flagged.record_type == "warning" and flagged.record_id == entry["id"]
    assert flagged.payload == {"loan_id": new, "level": "medium", "score": 30, "escalated": False}

    warn.run("warning.score")  # nothing changed: no second event
    assert len(warn.events("warning.flagged")) == 1

    warn.pay(new, warn.installments(new)[0].outstanding)
    warn.deliver()  # the payment reaches early warning, which rescores the loan at once
    assert warn.entry(new) is None
    cleared = warn.entry(new, status="cleared")
    assert cleared is not None and cleared["cleared_at"] is not None
    [event] = warn.events("warning.cleared")
    assert event.record_id == entry["id"] and event.payload == {"loan_id": new}


def test_scoring_with_the_risk_plugin_reads_the_borrowers_history(warn: Warn) -> None:
    """The risk plugin gives the borrower's application history (``history_*``) as risk
    variables, which scoring reads for a borrower, not an application: it scored (it failed
    with AttributeError on the stand-in record's missing id, found by the isolation suite)."""
    for plugin in ("intake", "risk"):
        answer = warn.admin.put(f"/plugins/{plugin}", json={"enabled": True})
        assert answer.status_code == 200, answer.get_json()
    new = warn.book(25)
    warn.run("warning.score")
    assert _codes(warn.entry(new)) == ["first_payment"]


def test_a_partial_payment_that_leaves_arrears_flags_the_loan_until_they_are_paid(
    warn: Warn,
) -> None:
    warn.settings(first_payment_rule=False)
    loan = warn.book(45)  # the first installment fell due about two weeks ago
    first = warn.installments(loan)[0]
    warn.pay(loan, "500.00")
    warn.deliver()
    entry = warn.entry(loan)
    assert _codes(entry) == ["partial_payment"]
    owed = first.outstanding - Decimal("500.00")
    assert f"¥{owed:,.2f}" in entry["reasons"][0]["zh"]  # type: ignore[index]

    warn.pay(loan, owed)
    warn.deliver()
    assert warn.entry(loan) is None and warn.entry(loan, status="cleared") is not None
    warn.deliver()  # delivered again: nothing new
    assert len(warn.events("warning.flagged")) == len(warn.events("warning.cleared")) == 1


def test_a_new_mobile_flags_the_borrowers_loans_and_the_rule_can_be_turned_off(
    warn: Warn,
) -> None:
    warn.settings(first_payment_rule=False)
    loan = warn.book(70)
    for line in warn.installments(loan)[:2]:
        warn.pay(loan, line.outstanding)
    customer = warn.desk.customer_id
    answer = warn.api("officer1").patch(f"/customers/{customer}", json={"employer": "新公司"})
    assert answer.status_code == 200, answer.get_json()
    warn.deliver()
    assert warn.entry(loan) is None  # another field changed: no signal

    answer = warn.api("officer1").patch(f"/customers/{customer}", json={"mobile": "13912345678"})
    assert answer.status_code == 200, answer.get_json()
    warn.deliver()
    assert _codes(warn.entry(loan)) == ["contact_change"]

    warn.settings(first_payment_rule=False, contact_change_rule=False)
    warn.run("warning.score")
    assert warn.entry(loan) is None and warn.entry(loan, status="cleared") is not None


class Bureau:
    """A credit plugin's risk variables for applications: ``inquiries`` bureau enquiries in
    90 days for every borrower (the credit plugin names it ``bureau_inquiries_90d``)."""

    PLUGIN = PluginInfo(name="testbureau", title_zh="测试征信", title_en="Test bureau", version="1")

    def __init__(self) -> None:
        self.inquiries = 0

    @hookimpl
    def loandesk_risk_variables(
        self, session: Any, record_type: sdk.RecordType, record: Any
    ) -> dict[str, Any] | None:
        if record_type.key != "application":
            return None
        assert isinstance(record.customer_id, uuid.UUID)
        return {"bureau_inquiries_90d": self.inquiries}


def test_many_bureau_enquiries_flag_the_loan(warn: Warn) -> None:
    bureau = Bureau()
    host = warn.app.extensions["loandesk.plugins"]
    host.register(bureau)
    try:
        for name in ("intake", "testbureau"):
            answer = warn.admin.put(f"/plugins/{name}", json={"enabled": True})
            assert answer.status_code == 200, answer.get_json()
        warn.settings(first_payment_rule=False, enquiries_90d=6)
        loan = warn.book(10)
        bureau.inquiries = 5
        warn.run("warning.score")
        assert warn.entry(loan) is None
        bureau.inquiries = 6
        warn.run("warning.score")
        entry = warn.entry(loan)
        assert _codes(entry) == ["enquiries"] and "6 in 90 days" in entry["reasons"][0]["en"]  # type: ignore[index]
    finally:
        host.pm.unregister(bureau)
        host.infos.pop("testbureau", None)
        host.contributions.pop("testbureau", None)


def _promise_broken(warn: Warn, loan_id: str) -> None:
    """The collections plugin's event, as it emits it for a collection case."""
    with warn.session() as session:
        sdk.emit(session, "collection.promise_broken", "collection_case", sdk.uuid7(),
                 {"loan_id": loan_id})  # fmt: skip


def test_repeated_broken_promises_flag_the_loan_and_a_second_rule_makes_it_high(
    warn: Warn,
) -> None:
    warn.settings(first_payment_rule=False)
    loan = warn.book(70)
    for line in warn.installments(loan)[:2]:
        warn.pay(loan, line.outstanding)
    _promise_broken(warn, loan)
    warn.deliver()
    assert warn.entry(loan) is None  # one broken promise: not yet
    _promise_broken(warn, loan)
    _promise_broken(warn, str(uuid.uuid4()))  # a loan the tenant does not have: ignored
    warn.deliver()
    entry = warn.entry(loan)
    assert _codes(entry) == ["promise_broken"] and entry["level"] == "medium"  # type: ignore[index]

    answer = warn.api("officer1").patch(
        f"/customers/{warn.desk.customer_id}", json={"address": "上海市浦东新区世纪大道100号"}
    )
    assert answer.status_code == 200, answer.get_json()
    warn.deliver()
    entry = warn.entry(loan)
    assert _codes(entry) == ["contact_change", "promise_broken"]
    assert (entry["level"], entry["score"]) == ("high", 60)  # type: ignore[index]
    flagged = [e.payload for e in warn.events("warning.flagged")]
    assert [(p["level"], p["escalated"]) for p in flagged] == [("medium", False), ("high", True)]
