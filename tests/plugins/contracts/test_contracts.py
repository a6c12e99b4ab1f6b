"""A pending loan's contract from the API to its signature: numbered per tenant, rendered to
a PDF whose text holds the borrower's Chinese name, the amounts and the annualised rate, kept
with its SHA-256; sent (SMS link), signed by the borrower with a one-time code, the signed
PDF with its signature page; the payout waits for it. Every change is audited and emitted."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from sqlalchemy import select

from loandesk.audit.models import AuditEvent
from loandesk.events import OutboxEvent
from tests.helpers import csrf_from
from tests.plugins.contracts.conftest import BORROWER, Office, pdf_text


def _events(office: Office, prefix: str) -> list[str]:
    with office.session() as session:
        rows = session.scalars(
            select(OutboxEvent.name).where(OutboxEvent.name.like(f"{prefix}%"))
        ).all()
    return list(rows)


def _audit(office: Office, prefix: str) -> list[AuditEvent]:
    with office.session() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like(f"{prefix}%")).order_by(AuditEvent.seq)
        ).all()
        session.expunge_all()
    return list(rows)


def _blockers(office: Office, loan_id: str) -> list[str]:
    from loandesk import sdk

    with office.app.test_request_context(), office.session() as session:
        return sdk.payout_blockers(session, loan_id)


def test_a_pending_loan_gets_a_numbered_contract_whose_pdf_holds_the_borrower_and_amounts(
    office: Office,
) -> None:
    loan = office.pending_loan()
    contract = office.contract(loan["id"])
    year = dt.date.today().year  # the tenant's local year, the same away from New Year's Eve
    assert contract["number"] in (f"HT{year}000001", f"HT{year + 1}000001")
    assert contract["status"] == "draft"
    assert contract["borrower_name"] == BORROWER
    assert contract["principal"] == "12000.00"
    # 12% nominal with a 10.00 fee each month: the IRR with fees is above the nominal rate
    assert "0.12" < contract["annual_rate_irr"] < "0.15"

    pdf = office.api.get(f"/contracts/{contract['id']}/pdf")
    assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-"
    assert hashlib.sha256(pdf.data).hexdigest() == contract["pdf_sha256"]
    text = pdf_text(pdf.data)
    assert BORROWER in text  # 堃 is outside GB2312, 䶮 in Extension A: the shipped font has both
    assert "壹万贰仟元整" in text and "12,000.00" in text
    rate = f"{float(contract['annual_rate_irr']) * 100:.2f}%"
    assert rate in text
    # the ID number is masked (110***********002X), never whole
    assert re.search(r"110\*{11}\d{3}[\dX]", text) and not re.search(r"\d{17}[\dX]", text)
    assert "1,076.19" in text  # the first installment of the schedule table

    second = office.api.post("/contracts", json={"loan_id": loan["id"]})
    assert second.status_code == 409
    assert office.api.get(f"/contracts/{contract['id']}").get_json()["number"] == contract["number"]
    assert _events(office, "contract.") == ["contract.created"]


def test_numbers_follow_each_other_and_an_active_loan_gets_no_contract(office: Office) -> None:
    first = office.contract(office.pending_loan()["id"])["number"]
    second = office.contract(office.pending_loan()["id"])["number"]
    assert int(second[-6:]) == int(first[-6:]) + 1
    active = office.desk.book()  # paid out at booking
    answer = office.api.post("/contracts", json={"loan_id": active["id"]})
    assert answer.status_code == 409
    missing = office.api.post(
        "/contracts", json={"loan_id": "0190a000-0000-7000-8000-0000000000ff"}
    )
    assert missing.status_code == 422 and "loan_id" in missing.get_json()["errors"]


def test_the_borrower_signs_with_a_code_and_the_payout_is_no_longer_blocked(
    office: Office,
) -> None:
    contract, link = office.sent_contract()
    assert contract["status"] == "sent" and contract["provider"] == "contracts.click"
    assert contract["expires_on"]
    assert _blockers(office, contract["loan_id"]) == [
        "该贷款的借款合同尚未签署。"
    ]  # the tenant's language

    phone = office.app.test_client()  # the borrower: no staff session
    page = phone.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert BORROWER in html and contract["number"] in html
    assert "1,076.19" in html  # the planned schedule
    assert phone.get(link.replace("/b/", "/b/x")).status_code == 404
    document = phone.get(f"{link}/document")
    assert document.status_code == 200 and "sandbox" in document.headers["Content-Security-Policy"]

    csrf = csrf_from(phone, link)
    refused = phone.post(f"{link}/sign", data={"csrf_token": csrf, "code": "000000"})
    assert refused.status_code == 422  # agreement not ticked
    sent = phone.post(f"{link}/code", data={"csrf_token": csrf, "agree": "on"})
    assert sent.status_code == 200
    code = office.code()
    wrong = "000000" if code != "000000" else "111111"
    bad = phone.post(f"{link}/sign", data={"csrf_token": csrf, "agree": "on", "code": wrong})
    assert bad.status_code == 422
    signed = phone.post(
        f"{link}/sign",
        data={"csrf_token": csrf, "agree": "on", "code": code},
        headers={"User-Agent": "Mozilla/5.0 (iPhone) TestPhone/1.0"},
    )
    assert signed.status_code == 303

    after = office.api.get(f"/contracts/{contract['id']}").get_json()
    assert after["status"] == "signed" and after["signed_pdf_sha256"]
    signed_pdf = office.api.get(f"/contracts/{contract['id']}/pdf?signed=true").data
    assert hashlib.sha256(signed_pdf).hexdigest() == after["signed_pdf_sha256"]
    text = pdf_text(signed_pdf)
    assert "电子签署页" in text and contract["pdf_sha256"] in text.replace("\n", "")
    assert "TestPhone/1.0" in text and BORROWER in text
    assert _blockers(office, contract["loan_id"]) == []

    trail = [e.action for e in _audit(office, "contract.")]
    for action in ("contract.created", "contract.sent", "contract.viewed_by_borrower",
                   "contract.code_sent", "contract.code_refused", "contract.signed"):  # fmt: skip
        assert action in trail
    signed_event = _audit(office, "contract.signed")[0]
    assert signed_event.diff["user_agent"].endswith("TestPhone/1.0")
    assert signed_event.diff["original_sha256"] == contract["pdf_sha256"]
    assert _events(office, "contract.") == ["contract.created", "contract.sent", "contract.signed"]

    # a signed contract is never changed, only voided; voiding withdraws the link
    assert office.api.post(f"/contracts/{contract['id']}/regenerate").status_code == 409
    no_reason = office.api.post(f"/contracts/{contract['id']}/void", json={"reason": " "})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    voided = office.api.post(f"/contracts/{contract['id']}/void", json={"reason": "客户撤销借款"})
    assert voided.status_code == 200 and voided.get_json()["status"] == "void"
    assert phone.get(link).status_code == 404
    assert _blockers(office, contract["loan_id"])  # void again blocks the payout
    again = office.contract(contract["loan_id"])
    assert again["number"] != contract["number"]


def test_the_requirement_can_be_turned_off(office: Office, api_a: Any) -> None:
    loan = office.pending_loan()
    assert _blockers(office, loan["id"])
    answer = api_a.put(
        "/plugins/contracts", json={"enabled": True, "settings": {"require_signed": False}}
    )
    assert answer.status_code == 200, answer.get_json()
    assert _blockers(office, loan["id"]) == []
