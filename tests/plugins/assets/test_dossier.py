# ruff: noqa: F811  (fixtures imported from the contracts and repayment tests are used by name)
"""The litigation dossier (诉讼材料包) of one loan, for a lawyer: one export as PDF (the loan,
schedule, payments, class history, the contributed sections — the contracts plugin's signed
contract, appended page by page — and a demand letter 催收函), as Excel (a sheet per part)
and as a ZIP of both with the contributed files; audited, behind ``assets.dossier``, 404 for
another tenant's loan."""

from __future__ import annotations

import datetime as dt
import io
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from loandesk import sdk
from tests.helpers import ApiClient
from tests.plugins.assets.conftest import api
from tests.plugins.contracts.conftest import (  # noqa: F401
    Office,
    office,
    pdf_text,
    sign_as_borrower,
)
from tests.plugins.customers.conftest import add_staff, audit_events
from tests.plugins.repayment.conftest import Desk, desk, firm  # noqa: F401
from tests.plugins.repayment.test_cob import _cob


@pytest.fixture
def lawyer_desk(office: Office, api_a: ApiClient) -> Iterator[tuple[Office, str]]:
    """A loan with a signed contract, paid out on 2025-01-15, a payment, overdue by October;
    and ``chief``, a risk manager at the company (the dossier's reader)."""
    assert api_a.put("/plugins/assets", json={"enabled": True}).status_code == 200
    desk = office.desk
    desk.firm.staff["chief"] = add_staff(
        desk.app, desk.api.client, desk.firm.tenant, "chief", ["risk_manager"],
        desk.firm.units["company"],
    )  # fmt: skip
    contract, link = office.sent_contract()
    sign_as_borrower(office, link)
    loan_id = contract["loan_id"]
    answer = desk.api.post(f"/loans/{loan_id}/activate", json={"disbursed_on": "2025-01-15"})
    assert answer.status_code == 200, answer.get_json()
    assert desk.pay(loan_id, "800.00", dt.date(2025, 3, 1)).status_code == 201
    _cob(desk, dt.date(2025, 10, 1))
    yield office, str(loan_id)


def _get(office: Office, loan_id: str, kind: str, who: str = "chief") -> Any:
    return api(office.desk, who).get(f"/assets/loans/{loan_id}/dossier?format={kind}")


def test_the_pdf_holds_every_part_the_demand_letter_and_the_signed_contract(
    lawyer_desk: tuple[Office, str],
) -> None:
    office, loan_id = lawyer_desk
    answer = _get(office, loan_id, "pdf")
    assert answer.status_code == 200, answer.data[:300]
    assert answer.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]
    text = pdf_text(answer.data)
    number = office.desk.api.get(f"/loans/{loan_id}").get_json()["number"]
    for part in ("诉讼材料包", number, "贷款概况", "还款计划", "还款记录", "五级分类变动",
                 "借款合同", "催 收 函", "800.00", "可疑"):  # fmt: skip
        assert part in text, part
    from pypdf import PdfReader

    with office.session() as session:
        (section,) = sdk.dossier_sections(session, uuid.UUID(loan_id))
    contract_pages = len(PdfReader(io.BytesIO(section.files[0].data)).pages)
    assert contract_pages >= 1
    pages = PdfReader(io.BytesIO(answer.data)).pages
    assert len(pages) > contract_pages + 1  # the dossier's own pages, then the contract's
    assert section.files[0].data[:4] == b"%PDF"
    (audit,) = audit_events(office.app, office.desk.firm, "assets.dossier.export")
    assert audit.diff["format"] == "pdf"


def test_the_workbook_and_the_zip(lawyer_desk: tuple[Office, str]) -> None:
    from openpyxl import load_workbook

    office, loan_id = lawyer_desk
    answer = _get(office, loan_id, "xlsx")
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(answer.data))
    assert book.sheetnames == [
        "贷款概况",
        "还款计划",
        "还款记录",
        "五级分类变动",
        "借款合同",
        "催收函",
    ]
    schedule = list(book["还款计划"].values)
    assert schedule[0][0] == "期次" and len(schedule) == 13  # the header and 12 installments
    paid = list(book["还款记录"].values)[1]
    assert paid[1] == 800  # a number a spreadsheet adds up, shown as 800.00
    assert book["还款记录"]["B2"].number_format == "#,##0.00"
    letter = "\n".join(str(r[0] or "") for r in book["催收函"].values)
    assert "请您于" in letter and "逾期" in letter
    assert "截至 2025-10-01" in letter  # the arrears as of the last close of business

    bundle = _get(office, loan_id, "zip")
    assert bundle.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(bundle.data)).namelist()
    assert any(n.endswith(".pdf") and n.startswith("诉讼材料包") for n in names)
    assert any(n.endswith(".xlsx") for n in names)
    assert any(n.startswith("附件/借款合同-") for n in names)


def test_only_those_allowed_and_only_the_tenants_loans(
    lawyer_desk: tuple[Office, str], api_b: ApiClient, tenant_b: Any
) -> None:
    office, loan_id = lawyer_desk
    assert _get(office, loan_id, "pdf", who="collector").status_code == 403
    assert _get(office, str(uuid.uuid4()), "pdf").status_code == 404
    assert _get(office, loan_id, "doc").status_code == 422
    for name in ("customers", "repayment", "assets"):
        assert api_b.put(f"/plugins/{name}", json={"enabled": True}).status_code == 200
    company_b = api_b.get("/org-units").get_json()["items"][0]["id"]
    reader_b = add_staff(office.app, api_b.client, tenant_b, "chief_b", ["risk_manager"], company_b)
    other = reader_b.api.get(f"/assets/loans/{loan_id}/dossier")
    assert other.status_code == 404  # never another tenant's loan, nor a hint it exists
    assert reader_b.api.get(f"/assets/loans/{loan_id}/class").status_code == 404
