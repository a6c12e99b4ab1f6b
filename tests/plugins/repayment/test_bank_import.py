"""Bank-statement import (issue 10's acceptance): a 1,000-line statement in 建设银行's export
format (GBK CSV) against a hundred loans, matched by reference, card and name + amount,
posted once; the unmatched lines queued with their reason; the same file again posts
nothing; balances and every loan's ledger exact afterwards. Also: the hash key of a file
without serial numbers, an ambiguous amount queued rather than guessed, and the job path."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.plugins.customers.conftest import audit_events, new_customer
from tests.plugins.repayment import bank_samples
from tests.plugins.repayment.bank_samples import Txn, luhn_card
from tests.plugins.repayment.conftest import Desk, ledger_problems, signed_in_as

LOANS = 100
PARTS = ("principal", "interest", "fees")


def _due(installment: dict[str, Any]) -> Decimal:
    return sum((Decimal(installment[f"{p}_due"]) for p in PARTS), Decimal("0.00"))


def _upload(desk: Desk, data: bytes, name: str = "ccb.csv", **form: str) -> Any:
    return desk.api.post(
        "/loans/bank-imports",
        data={"file": (__import__("io").BytesIO(data), name), **form},
        content_type="multipart/form-data",
    )


def _card(index: int) -> str:
    return luhn_card(f"622202{index:012d}")


def _book_many(desk: Desk, count: int) -> list[dict[str, Any]]:
    """``count`` borrowers (客户000, 客户001, ...) with one 12-month loan each, paid out on
    2025-01-15; every third one (1, 4, 7, ...) repays from a card set on its loan."""
    booked = []
    officer = desk.firm.staff["officer1"].api
    for i in range(count):
        customer = new_customer(officer, name=f"客户{i:03d}")
        loan = desk.book(customer_id=str(customer["id"]))
        if i % 3 == 1:
            answer = desk.api.put(
                f"/loans/{loan['id']}/repayment-card", json={"card_number": _card(i)}
            )
            assert answer.status_code == 200, answer.get_json()
            assert answer.get_json()["card_number"].endswith(_card(i)[-4:])
        booked.append(loan)
    return booked


def _statement(loans: list[dict[str, Any]]) -> tuple[list[Txn], int]:
    """980 lines that match (installments 1-10 of loans 0-79, 1-9 of loans 80-99, each on
    its due date for exactly what is due, by the rule the loan's index picks) and 20 that
    do not, in date order as the bank lists them."""
    txns: list[Txn] = []
    serial = 0
    for i, loan in enumerate(loans):
        for installment in loan["installments"][: 10 if i < 80 else 9]:
            serial += 1
            day = dt.date.fromisoformat(installment["due_date"])
            amount = _due(installment)
            if i % 3 == 0:  # (a) the loan number in the memo, paid by someone else
                txn = Txn(day, amount, "某某代扣服务公司", "3100000000001", f"还款{loan['number']}")
            elif i % 3 == 1:  # (b) from the loan's repayment card, no reference
                txn = Txn(day, amount, f"客户{i:03d}的家人", _card(i), "转账")
            else:  # (c) the borrower's name and the amount due
                txn = Txn(day, amount, f"客户{i:03d}", "6217000000000000000", "网银转账")
            txns.append(Txn(txn.day, txn.amount, txn.name, txn.account, txn.memo, f"S{serial:06d}"))
    strangers = []
    for n in range(20):
        day = dt.date(2025, 3 + n % 8, 15)
        if n < 10:  # nobody we know
            strangers.append(
                Txn(day, Decimal("500.00") + n, f"陌生人{n}", "6230000000000000", "货款")
            )
        elif n < 15:  # a loan number that is not ours
            strangers.append(Txn(day, Decimal("800.00"), "某公司", "1", f"DK20240101{n:05d}"))
        else:  # a borrower we know, but an amount nothing is due for
            strangers.append(Txn(day, Decimal("123.45"), f"客户{3 * n + 2:03d}", "", "部分还款"))
    for s in strangers:
        serial += 1
        txns.append(Txn(s.day, s.amount, s.name, s.account, s.memo, f"S{serial:06d}"))
    txns.sort(key=lambda t: (t.day, t.serial))
    return txns, serial


def test_a_thousand_line_statement_posts_980_queues_20_and_reimports_nothing(
    desk: Desk, app: Flask
) -> None:
    loans = _book_many(desk, LOANS)
    txns, count = _statement(loans)
    assert count == len(txns) == 1000
    data = bank_samples.ccb(txns)
    first = _upload(desk, data, account=bank_samples.ACCOUNT)
    assert first.status_code == 201, first.get_json()
    record = first.get_json()
    assert record["format"] == "auto:ccb" and record["state"] == "done"
    assert (record["lines"], record["credits"], record["posted"], record["unmatched"]) == (
        1000, 1000, 980, 20,
    )  # fmt: skip
    assert (record["already_posted"], record["skipped"]) == (0, 0)
    queue = desk.api.get("/loans/bank-lines?per_page=100").get_json()
    assert queue["total"] == 20
    reasons = sorted(line["reason"] for line in queue["items"])
    assert reasons == ["no_match"] * 20
    posted = desk.api.get(f"/loans/bank-lines?status=posted&import_id={record['id']}&per_page=1")
    assert posted.get_json()["total"] == 980

    again = _upload(desk, data, "ccb-again.csv", account=bank_samples.ACCOUNT).get_json()
    assert (again["posted"], again["already_posted"], again["duplicates"], again["unmatched"]) == (
        0, 980, 20, 0,
    )  # fmt: skip
    assert desk.api.get("/loans/bank-lines").get_json()["total"] == 20  # not queued twice

    with desk.session() as session:
        from loandesk_repayment.models import Loan, Payment

        assert session.scalar(select(func.count()).select_from(Payment)) == 980
        sources = set(session.scalars(select(Payment.source)))
        assert sources == {"import"}
        for loan in loans:
            assert ledger_problems(session, loan["id"]) == []
            found = session.get(Loan, (uuid.UUID(desk.firm.tenant.id), uuid.UUID(loan["id"])))
            assert found is not None and found.credit_balance == Decimal("0.00")
        shown = [desk.api.get(f"/loans/{loan['id']}").get_json() for loan in loans[78:82]]
    for i, loan in zip(range(78, 82), shown, strict=True):
        paid = [x["status"] for x in loan["installments"]]
        assert paid.count("paid") == (10 if i < 80 else 9), (i, paid)
    assert len(audit_events(app, desk.firm, "bank_import.complete")) == 2


def test_a_file_without_serial_numbers_is_keyed_by_its_lines(desk: Desk) -> None:
    """工商银行 exports have no serial number: the key is a hash of the line and how many
    identical lines come before it, so two equal payments on one day both post, once."""
    customer = new_customer(desk.firm.staff["officer1"].api, name="赵六")
    loan = desk.book(customer_id=str(customer["id"]))
    first = loan["installments"][0]
    day = dt.date.fromisoformat(first["due_date"])
    memo = f"还款 {loan['number']}"
    twice = [
        Txn(day, Decimal("100.00"), "赵六", "", memo),
        Txn(day, Decimal("100.00"), "赵六", "", memo),
    ]
    answer = _upload(desk, bank_samples.icbc(twice), "icbc.csv").get_json()
    assert (answer["format"], answer["posted"]) == ("auto:icbc", 2)
    overlapping = [*twice, Txn(day, Decimal("50.00"), "赵六", "", memo)]
    later = _upload(desk, bank_samples.icbc(overlapping), "icbc-2.csv").get_json()
    assert (later["posted"], later["already_posted"]) == (1, 2)
    payments = desk.api.get(f"/loans/{loan['id']}/payments").get_json()
    assert [p["amount"] for p in payments] == ["100.00", "100.00", "50.00"]


def test_an_ambiguous_amount_is_queued_not_guessed(desk: Desk) -> None:
    """Two borrowers named 孙七 (or one with two loans) owing the same amount: the line
    names neither loan, so it waits for a person."""
    officer = desk.firm.staff["officer1"].api
    loans = [desk.book(customer_id=str(new_customer(officer, name="孙七")["id"])) for _ in range(2)]
    first = loans[0]["installments"][0]
    day = dt.date.fromisoformat(first["due_date"])
    line = Txn(day, _due(first), "孙 七", "6217000000000000000", "网银转账", "AMB1")
    answer = _upload(desk, bank_samples.abc([line]), "abc.csv").get_json()
    assert (answer["posted"], answer["unmatched"]) == (0, 1)
    (queued,) = desk.api.get("/loans/bank-lines").get_json()["items"]
    assert queued["reason"] == "ambiguous"
    assert loans[0]["number"] in queued["detail"] and loans[1]["number"] in queued["detail"]
    for loan in loans:
        assert desk.api.get(f"/loans/{loan['id']}/payments").get_json() == []


def test_a_large_statement_runs_as_a_job_with_progress(
    desk: Desk, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loandesk_repayment import bank_import

    from loandesk.jobs.runtime import execute

    monkeypatch.setattr(bank_import, "INLINE_LIMIT", 2)
    monkeypatch.setattr(bank_import, "CHUNK", 2)
    customer = new_customer(desk.firm.staff["officer1"].api, name="周八")
    loan = desk.book(customer_id=str(customer["id"]))
    txns = [
        Txn(dt.date.fromisoformat(x["due_date"]), _due(x), "周八", "", f"{loan['number']}", f"J{n}")
        for n, x in enumerate(loan["installments"][:3])
    ]
    queued = _upload(desk, bank_samples.ccb(txns))
    assert queued.status_code == 202
    body = queued.get_json()
    assert (body["state"], body["done"], body["job_id"] is not None) == ("queued", 0, True)
    progress: list[tuple[int, int]] = []
    execute(app, "bi-" + str(uuid.uuid4()), bank_import.JOB, uuid.UUID(desk.firm.tenant.id),
            (body["id"],), 1, lambda done, total: progress.append((done, total)))  # fmt: skip
    assert progress == [(2, 3), (3, 3)]
    done = desk.api.get(f"/loans/bank-imports/{body['id']}").get_json()
    assert (done["state"], done["posted"]) == ("done", 3)


def test_an_import_whose_job_keeps_failing_is_marked_failed_and_retried_from_where_it_stopped(
    desk: Desk, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that breaks on its third line every attempt: the first chunk stays posted, the
    import is ``running`` while attempts are left and ``failed`` (with the error, personal
    numbers masked) after the last; a retry goes on from the line that waits and posts each
    line once. Retrying an import that did not fail is a 409."""
    from loandesk_repayment import bank_import, matching

    from loandesk.jobs.runtime import execute

    monkeypatch.setattr(bank_import, "INLINE_LIMIT", 2)
    monkeypatch.setattr(bank_import, "CHUNK", 2)
    customer = new_customer(desk.firm.staff["officer1"].api, name="吴九")
    loan = desk.book(customer_id=str(customer["id"]))
    txns = [
        Txn(dt.date.fromisoformat(x["due_date"]), _due(x), "吴九", "", f"{loan['number']}", f"F{n}")
        for n, x in enumerate(loan["installments"][:3])
    ]
    body = _upload(desk, bank_samples.ccb(txns)).get_json()
    real_match = matching.match_line
    calls = {"n": 0}

    def breaks_on_the_third(session: Any, line: Any, account: str) -> Any:
        if line.serial == "F2":
            raise RuntimeError("connection lost while matching 13812345678")
        calls["n"] += 1
        return real_match(session, line, account)

    monkeypatch.setattr(matching, "match_line", breaks_on_the_third)
    tenant = uuid.UUID(desk.firm.tenant.id)
    for attempt in (1, 2, 3):
        with pytest.raises(RuntimeError):
            execute(app, "bi-fail", bank_import.JOB, tenant, (body["id"],), attempt,
                    lambda done, total: None)  # fmt: skip
        seen = desk.api.get(f"/loans/bank-imports/{body['id']}").get_json()
        assert (seen["state"], seen["posted"], seen["done"]) == (
            ("running" if attempt < 3 else "failed"),
            2,
            2,
        )
    assert "RuntimeError: connection lost" in seen["error"]
    assert "13812345678" not in seen["error"]
    base = f"/t/{desk.firm.tenant.slug}/loans/bank-imports"
    page = signed_in_as(desk).get(f"{base}/{body['id']}?lang=en").get_data(as_text=True)
    assert "Stopped with an error" in page and "Retry from where it stopped" in page

    monkeypatch.setattr(matching, "match_line", real_match)
    again = desk.api.post(f"/loans/bank-imports/{body['id']}/retry")
    assert again.status_code == 202, again.get_json()
    assert (again.get_json()["state"], again.get_json()["error"]) == ("queued", None)
    execute(app, "bi-retry", bank_import.JOB, tenant, (body["id"],), 1, lambda d, t: None)
    done = desk.api.get(f"/loans/bank-imports/{body['id']}").get_json()
    assert (done["state"], done["posted"], done["already_posted"]) == ("done", 3, 0)
    paid = desk.api.get(f"/loans/{loan['id']}/payments").get_json()
    assert sorted(p["reference"] for p in paid) == ["F0", "F1", "F2"]
    twice = desk.api.post(f"/loans/bank-imports/{body['id']}/retry")
    assert twice.status_code == 409, twice.get_json()


def test_a_line_the_loan_refuses_is_queued_with_why(desk: Desk) -> None:
    """Money dated before the payout names its loan but cannot be posted to it: queued
    (``refused``) with the loan and the reason, for a person to look at."""
    loan = desk.book()
    early = Txn(dt.date(2025, 1, 2), Decimal("500.00"), "某人", "", f"{loan['number']}", "R1")
    answer = _upload(desk, bank_samples.ccb([early])).get_json()
    assert (answer["posted"], answer["unmatched"]) == (0, 1)
    (queued,) = desk.api.get("/loans/bank-lines").get_json()["items"]
    assert (queued["reason"], queued["loan_id"]) == ("refused", loan["id"])
    assert "received_on" in queued["detail"]
