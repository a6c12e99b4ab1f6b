"""Contracts (借款合同): one per pending loan, numbered per tenant, rendered from the product's
template to a PDF kept with its SHA-256; draft → sent → signed, or void (with a reason) and
expired. Each change writes its audit event and domain event in the caller's transaction.
No Flask here; who may do it is the adapters' check."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_, Conflict, NotFound, ValidationFailed, message
from loandesk_contracts import document, library, pdf, rendering
from loandesk_contracts.models import Contract, NumberCounter

LIVE = ("draft", "sent", "signed", "expired")


@dataclass(frozen=True)
class Page:
    items: list[Contract]
    total: int


@dataclass(frozen=True)
class Borrower:
    name: str
    mobile: str | None
    id_number: str | None
    id_number_masked: str
    mobile_masked: str


def borrower(session: Session, customer_id: Any) -> Borrower:
    """The loan's customer (plaintext mobile and ID number: for SMS and the provider)."""
    model = sdk.record_type("customer").model
    row = session.get(model, (sdk.current().id, uuid.UUID(str(customer_id))))
    if row is None:
        raise NotFound(N_("No such customer."))
    keys = sdk.keyring()
    return Borrower(
        name=row.name,
        mobile=row.get_personal("mobile", keys=keys),
        id_number=row.get_personal("id_number", keys=keys),
        id_number_masked=row.get_masked("id_number", keys=keys) or "",
        mobile_masked=row.get_masked("mobile", keys=keys) or "",
    )


def next_number(session: Session, year: int) -> str:
    """HT<year><6 digits>: the counter row is locked by the UPDATE until the transaction
    ends, so concurrent contracts wait and take the next number."""
    for _ in range(3):
        got = session.execute(
            update(NumberCounter)
            .where(NumberCounter.tenant_id == sdk.current().id, NumberCounter.year == year)
            .values(last=NumberCounter.last + 1)
            .returning(NumberCounter.last)
        ).scalar()
        if got is not None:
            return f"HT{year}{got:06d}"
        try:
            with session.begin_nested():
                session.add(NumberCounter(year=year, last=0))
                session.flush()
        except IntegrityError:  # another transaction made the year's row first
            continue
    raise Conflict(N_("No contract number could be given; try again."))


def list_contracts(
    session: Session, *, status: str | None = None, page: int = 1, per_page: int = 20
) -> Page:
    query = select(Contract)
    if status:
        query = query.where(Contract.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Contract.created_at.desc(), Contract.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(rows), total)


def get_contract(session: Session, contract_id: Any) -> Contract:
    try:
        ident = uuid.UUID(str(contract_id))
    except ValueError:
        raise NotFound(N_("No such contract.")) from None
    found = session.scalar(select(Contract).where(Contract.id == ident))
    if found is None:
        raise NotFound(N_("No such contract."))
    return found


def of_loan(session: Session, loan_id: Any) -> list[Contract]:
    """The loan's contracts, the live one first, then void ones newest first."""
    rows = session.scalars(
        select(Contract)
        .where(Contract.loan_id == uuid.UUID(str(loan_id)))
        .order_by(Contract.created_at.desc())
    )
    return sorted(rows, key=lambda c: c.status == "void")


def _render(session: Session, contract: Contract, loan: sdk.LoanSummary, today: dt.date) -> None:
    person = borrower(session, loan.customer_id)
    text = library.template_for(session, loan.product_terms.product_id)
    values = document.values_for(
        loan,
        contract_number=contract.number,
        borrower_name=person.name,
        id_number_masked=person.id_number_masked,
        mobile_masked=person.mobile_masked,
        firm=library.firm(session),
        today=today,
    )
    html = rendering.render(text.body, values)
    data = pdf.to_pdf(html, text.css)
    kept = sdk.keep_attachment(
        session,
        filename=f"{contract.number}.pdf",
        data=data,
        uploaded_by=contract.created_by_id,
        record_type="contract",
        field_key="contracts-pdf",
    )
    contract.html, contract.pdf_id = with_style(html, text.css), kept.id
    contract.pdf_sha256 = hashlib.sha256(data).hexdigest()
    contract.borrower_name = person.name
    contract.annual_rate_irr = values["loan"]["annual_rate_irr"]
    contract.apr = values["loan"]["apr"]


def with_style(html: str, css: str) -> str:
    """The rendered template with its CSS inside, as the borrower's browser shows it."""
    style = "<style>" + css.replace("</", "<\\/") + "</style>"
    if "</head>" in html:
        return html.replace("</head>", style + "</head>", 1)
    return style + html


def create_contract(session: Session, loan_id: Any, *, user_id: Any, today: dt.date) -> Contract:
    """The draft contract of the pending loan ``loan_id``, rendered and kept as a PDF.
    ``Conflict`` when the loan is not pending or already has a contract that is not void."""
    loan = sdk.loan_book().get(session, loan_id)
    if loan is None:
        raise ValidationFailed(
            N_("The contract cannot be made."),
            errors={"loan_id": [message(N_("No such loan."))]},
        )
    if loan.status != "pending":
        raise Conflict(N_("Only a loan waiting for payout gets a contract."))
    if any(c.status != "void" for c in of_loan(session, loan.id)):
        raise Conflict(N_("This loan already has a contract; void it to make a new one."))
    contract = Contract(
        id=sdk.uuid7(),
        number=next_number(session, today.year),
        loan_id=loan.id,
        loan_number=loan.number,
        customer_id=loan.customer_id,
        product_name=loan.product_terms.name,
        principal=loan.principal,
        periods=loan.periods,
        status="draft",
        created_by_id=user_id,
    )
    _render(session, contract, loan, today)
    try:
        with session.begin_nested():
            session.add(contract)
            session.flush()
    except IntegrityError:  # a concurrent request made the loan's contract first
        raise Conflict(N_("This loan already has a contract; void it to make a new one.")) from None
    sdk.audit_record(session, "contract.created", "contract", contract.id, _facts(contract))
    sdk.emit(session, "contract.created", "contract", contract.id, _event(contract))
    return contract


def regenerate(session: Session, contract: Contract, *, user_id: Any, today: dt.date) -> Contract:
    """Render a draft again (the template, letterhead or loan changed); a contract that has
    been sent is never changed."""
    if contract.status != "draft":
        raise Conflict(N_("Only a draft contract can be changed; void it and make a new one."))
    loan = sdk.loan_book().get(session, contract.loan_id)
    if loan is None or loan.status != "pending":
        raise Conflict(N_("Only a loan waiting for payout gets a contract."))
    before = _facts(contract)
    contract.principal, contract.periods = loan.principal, loan.periods
    _render(session, contract, loan, today)
    session.flush()
    sdk.audit_record(
        session, "contract.regenerated", "contract", contract.id,
        sdk.audit_changes(before, _facts(contract)),
    )  # fmt: skip
    return contract


def void(session: Session, contract: Contract, *, reason: str, user_id: Any) -> Contract:
    """Void the contract with ``reason`` (required); a voided loan may get a new one."""
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 500:
        raise ValidationFailed(
            N_("The contract cannot be voided."),
            errors={"reason": [message(N_("Say why, in 2 to 500 characters."))]},
        )
    if contract.status == "void":
        raise Conflict(N_("The contract is already void."))
    before = contract.status
    contract.status, contract.void_reason = "void", reason
    contract.voided_at, contract.link_nonce = sdk.utcnow(), ""
    session.flush()
    sdk.audit_record(
        session, "contract.voided", "contract", contract.id,
        {"status": [before, "void"], "reason": reason},
    )  # fmt: skip
    sdk.emit(session, "contract.voided", "contract", contract.id, _event(contract))
    return contract


def signed_contract(session: Session, loan_id: Any) -> Contract | None:
    return session.scalar(
        select(Contract).where(
            Contract.loan_id == uuid.UUID(str(loan_id)), Contract.status == "signed"
        )
    )


def _facts(contract: Contract) -> dict[str, Any]:
    return {
        "number": contract.number,
        "loan_id": str(contract.loan_id),
        "status": contract.status,
        "principal": str(contract.principal),
        "annual_rate_irr": str(contract.annual_rate_irr),
        "pdf_sha256": contract.pdf_sha256,
    }


def _event(contract: Contract) -> dict[str, Any]:
    return {
        "number": contract.number,
        "loan_id": str(contract.loan_id),
        "customer_id": str(contract.customer_id),
        "status": contract.status,
    }
