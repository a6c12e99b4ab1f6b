"""With the disbursement plugin: a pending loan's payout is refused until its contract is
signed (``loandesk_payout_blockers``), then requested."""

from __future__ import annotations

from typing import Any

from tests.plugins.contracts.conftest import Office, sign_as_borrower
from tests.plugins.disbursement.conftest import CARD


def test_the_payout_waits_for_the_signed_contract(office: Office, api_a: Any) -> None:
    assert api_a.put("/plugins/disbursement", json={"enabled": True}).status_code == 200
    contract, link = office.sent_contract()
    officer = office.desk.firm.staff["officer1"].api
    body = {
        "loan_id": contract["loan_id"],
        "amount": "12000.00",
        "account_name": "刘䶮堃",
        "account_number": CARD,
        "bank_name": "中国工商银行",
    }
    refused = officer.post("/disbursements", json=body)
    assert refused.status_code == 409, refused.get_json()
    assert "The loan's contract is not signed yet." in str(refused.get_json()["errors"]["loan_id"])
    sign_as_borrower(office, link)
    made = officer.post("/disbursements", json=body)
    assert made.status_code == 201, made.get_json()
