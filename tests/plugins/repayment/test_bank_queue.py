"""The unmatched queue (待匹配流水): assigning a line to a loan posts it (once, with the
line's key) and dismissing takes it off with a reason, through the API and the pages, both
audited; bad uploads answer 422 naming ``file``; who may import and who may assign."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

from tests.helpers import csrf_from
from tests.plugins.customers.conftest import audit_events, new_customer
from tests.plugins.repayment import bank_samples
from tests.plugins.repayment.bank_samples import Txn
from tests.plugins.repayment.conftest import Desk, ledger_problems, signed_in_as


def _upload(api: Any, data: bytes, name: str = "s.csv") -> Any:
    return api.post(
        "/loans/bank-imports",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _queued(desk: Desk, count: int = 2) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A loan of 钱九's and ``count`` lines nobody can match."""
    customer = new_customer(desk.firm.staff["officer1"].api, name="钱九")
    loan = desk.book(customer_id=str(customer["id"]))
    day = dt.date.fromisoformat(loan["installments"][0]["due_date"])
    txns = [
        Txn(day, Decimal("300.00") + n, f"代付人{n}", "", "货款", f"Q{n}") for n in range(count)
    ]
    assert _upload(desk.api, bank_samples.ccb(txns)).get_json()["unmatched"] == count
    return loan, desk.api.get("/loans/bank-lines").get_json()["items"]


def test_assign_and_dismiss_through_the_api(desk: Desk) -> None:
    loan, (first, second) = _queued(desk)
    assigned = desk.api.post(
        f"/loans/bank-lines/{first['id']}/assign", json={"loan_id": loan["id"]}
    )
    assert assigned.status_code == 200, assigned.get_json()
    body = assigned.get_json()
    assert (body["status"], body["rule"], body["loan_id"]) == ("assigned", "manual", loan["id"])
    again = desk.api.post(f"/loans/bank-lines/{first['id']}/assign", json={"loan_id": loan["id"]})
    assert again.status_code == 409
    payments = desk.api.get(f"/loans/{loan['id']}/payments").get_json()
    assert [(p["amount"], p["source"]) for p in payments] == [("300.00", "import")]

    no_note = desk.api.post(f"/loans/bank-lines/{second['id']}/dismiss", json={"reason": "other"})
    assert no_note.status_code == 422 and "note" in no_note.get_json()["errors"]
    wrong = desk.api.post(f"/loans/bank-lines/{second['id']}/dismiss", json={"reason": "lost"})
    assert wrong.status_code == 422 and "reason" in wrong.get_json()["errors"]
    dismissed = desk.api.post(
        f"/loans/bank-lines/{second['id']}/dismiss", json={"reason": "refund", "note": "退回付款人"}
    )
    assert dismissed.status_code == 200 and dismissed.get_json()["status"] == "dismissed"
    assert desk.api.get("/loans/bank-lines").get_json()["total"] == 0
    record = desk.api.get(f"/loans/bank-imports/{first['import_id']}").get_json()
    assert (record["posted"], record["unmatched"]) == (1, 0)
    assert [e.diff["reason"] for e in audit_events(desk.app, desk.firm, "bank_line.dismiss")] == [
        "refund"
    ]
    assert len(audit_events(desk.app, desk.firm, "bank_line.assign")) == 1
    with desk.session() as session:
        assert ledger_problems(session, loan["id"]) == []

    # the same statement again: the assigned line is already posted, the dismissed one stays off
    customer_file = bank_samples.ccb(
        [Txn(dt.date.fromisoformat(first["booked_on"]), Decimal(first["amount"]), "代付人0", "",
             "货款", "Q0"),
         Txn(dt.date.fromisoformat(second["booked_on"]), Decimal(second["amount"]), "代付人1", "",
             "货款", "Q1")]
    )  # fmt: skip
    later = _upload(desk.api, customer_file).get_json()
    assert (later["posted"], later["already_posted"], later["duplicates"]) == (0, 1, 1)


def test_assign_and_dismiss_through_the_pages(desk: Desk) -> None:
    loan, (first, second) = _queued(desk)
    browser = signed_in_as(desk)
    base = f"/t/{desk.firm.tenant.slug}/loans"
    page = browser.get(f"{base}/bank-lines?lang=en").get_data(as_text=True)
    assert "代付人0" in page and "代付人1" in page and "No loan matches" in page
    filtered = browser.get(f"{base}/bank-lines?q=代付人1&lang=en").get_data(as_text=True)
    assert "代付人1" in filtered and "代付人0" not in filtered

    line_page = f"{base}/bank-lines/{first['id']}?lang=en"
    found = browser.get(f"{line_page}&q={loan['number']}").get_data(as_text=True)
    assert loan["number"] in found and "钱九" in found
    by_name = browser.get(f"{line_page}&q=钱九").get_data(as_text=True)
    assert loan["number"] in by_name
    token = csrf_from(browser, line_page)
    none_chosen = browser.post(line_page, data={"action": "assign", "csrf_token": token})
    assert none_chosen.status_code == 422 and "Choose a loan" in none_chosen.get_data(as_text=True)
    posted = browser.post(
        line_page, data={"action": "assign", "loan_id": loan["id"], "csrf_token": token}
    )
    assert posted.status_code == 302
    assert len(desk.api.get(f"/loans/{loan['id']}/payments").get_json()) == 1

    other = f"{base}/bank-lines/{second['id']}?lang=en"
    token = csrf_from(browser, other)
    refused = browser.post(
        other, data={"action": "dismiss", "reason": "other", "note": "", "csrf_token": token}
    )
    assert refused.status_code == 422
    field = re.search(
        r'<div class="form-field has-error">.*?</div>', refused.get_data(as_text=True), re.S
    )
    assert field and 'name="note"' in field.group(0)
    done = browser.post(
        other, data={"action": "dismiss", "reason": "not_ours", "csrf_token": token}
    )
    assert done.status_code == 302
    empty = browser.get(f"{base}/bank-lines?lang=en").get_data(as_text=True)
    assert "No bank lines are waiting to be matched." in empty


def test_the_upload_page_imports_and_shows_errors_next_to_the_file(desk: Desk) -> None:
    browser = signed_in_as(desk)
    path = f"/t/{desk.firm.tenant.slug}/loans/bank-imports?lang=en"
    assert "No statements imported yet." in browser.get(path).get_data(as_text=True)
    token = csrf_from(browser, path)
    bad = browser.post(
        path,
        data={"file": (io.BytesIO(b"name,age\n"), "x.csv"), "format": "auto", "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "not a bank statement" in bad.get_data(as_text=True)
    txns = [Txn(dt.date(2025, 3, 1), Decimal("-20.00"), "电费", "", "", "P1")]
    good = browser.post(
        path,
        data={"file": (io.BytesIO(bank_samples.abc(txns)), "abc.csv"), "format": "abc",
              "csrf_token": token},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert good.status_code == 302
    shown = browser.get(good.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "abc.csv" in shown and "Skipped (money out)" in shown


def test_bad_uploads_answer_422_naming_file_and_permissions_hold(desk: Desk) -> None:
    for data, words in (
        (b"", "empty"),
        (b"hello", "not a bank statement"),
        (b"x" * (10 * 1024 * 1024 + 1), "larger than"),
    ):
        answer = _upload(desk.api, data)
        assert answer.status_code == 422, answer.get_json()
        assert words in str(answer.get_json()["errors"]["file"])
    wrong_columns = desk.api.post(
        "/loans/bank-imports",
        data={"file": (io.BytesIO(bank_samples.icbc([])), "i.csv"), "format": "cmb"},
        content_type="multipart/form-data",
    )
    assert wrong_columns.status_code == 422 and "交易日" in str(wrong_columns.get_json())
    officer = desk.firm.staff["officer1"].api
    assert _upload(officer, bank_samples.icbc([])).status_code == 403
    assert officer.get("/loans/bank-imports").status_code == 403
    assert desk.api.get("/loans/bank-imports").get_json()["total"] == 0  # nothing kept


def test_a_saved_mapping_is_chosen_at_upload(desk: Desk) -> None:
    saved = desk.api.post(
        "/loans/bank-formats",
        json={"name": "某农商行", "columns": {"date": "日期", "credit": "收入", "memo": ["附言"]}},
    )
    assert saved.status_code == 201, saved.get_json()
    formats = desk.api.get("/loans/bank-formats").get_json()
    assert {p["key"] for p in formats["presets"]} == {"icbc", "ccb", "abc", "boc", "cmb"}
    text = '日期,收入,附言\n2025-03-01,"￥1,000.00",其他\n'.encode("gbk")
    answer = desk.api.post(
        "/loans/bank-imports",
        data={"file": (io.BytesIO(text), "n.csv"), "format": saved.get_json()["id"]},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 201 and answer.get_json()["format"] == "mapping:某农商行"
    missing = desk.api.post("/loans/bank-formats", json={"name": "x", "columns": {"date": "d"}})
    assert missing.status_code == 422 and "columns.credit" in missing.get_json()["errors"]


def test_a_repayment_card_must_be_a_card_and_is_shown_masked(desk: Desk) -> None:
    loan = desk.book()
    wrong = desk.api.put(f"/loans/{loan['id']}/repayment-card", json={"card_number": "1234"})
    assert wrong.status_code == 422 and "card_number" in wrong.get_json()["errors"]
    card = bank_samples.luhn_card("622202000000009")
    assert (
        desk.api.put(f"/loans/{loan['id']}/repayment-card", json={"card_number": card}).status_code
        == 200
    )
    shown = desk.api.get(f"/loans/{loan['id']}/repayment-card").get_json()
    assert card not in str(shown) and shown["card_number"].endswith(card[-4:])
    assert (
        desk.api.put(f"/loans/{loan['id']}/repayment-card", json={"card_number": ""}).status_code
        == 204
    )
    assert desk.api.get(f"/loans/{loan['id']}/repayment-card").status_code == 404
