"""The contracts plugin's part of a loan's litigation dossier (``loandesk_dossier_sections``):
nothing while the contract is not signed; once signed, its number, borrower and signing
dates, and the signed PDF as it was kept."""

from __future__ import annotations

import hashlib
import uuid

from loandesk import sdk
from tests.plugins.contracts.conftest import BORROWER, Office, sign_as_borrower


def test_the_signed_contract_joins_the_dossier(office: Office) -> None:
    contract, link = office.sent_contract()
    loan_id = uuid.UUID(contract["loan_id"])
    with office.session() as session:
        assert sdk.dossier_sections(session, loan_id) == []
    sign_as_borrower(office, link)
    with office.session() as session:
        (section,) = sdk.dossier_sections(session, loan_id)
    assert section.key == "contracts.signed" and section.title_zh == "借款合同"
    (row,) = section.rows
    assert row[0] == contract["number"] and row[1] == BORROWER
    (file,) = section.files
    assert file.name == f"借款合同-{contract['number']}.pdf"
    assert file.data[:4] == b"%PDF" and hashlib.sha256(file.data).hexdigest() == row[5]
