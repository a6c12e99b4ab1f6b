"""The borrower's page (借款人页面), opened from the SMS link without an account: read and
sign the contract, see the schedule, what is due and what was paid. The link is signed and
expires; a changed, expired or withdrawn link gets the same 404 as a made-up one. Only the
borrower's own loan is shown, and every request is counted by the public-form rate limit."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, redirect, render_template, request, url_for

from loandesk import sdk
from loandesk_contracts import clicksign, document, jobs, links, service
from loandesk_contracts.models import Contract
from loandesk_contracts.views import bp, document_response

RATE_RULE = "contracts.borrower"


def _contract(token: str) -> Contract:
    claim = links.read(token)
    if claim is None:
        sdk.check_public_form(RATE_RULE)  # a wrong link counts: guessing is slowed down
        abort(404)
    session = sdk.session()
    try:
        contract = service.get_contract(session, claim.contract_id)
    except sdk.NotFound:
        abort(404)
    if not links.matches(claim, contract):
        sdk.check_public_form(RATE_RULE)
        abort(404)
    return contract


def _loan_view(contract: Contract) -> dict[str, Any]:
    session = sdk.session()
    book = sdk.loan_book()
    loan = book.get(session, contract.loan_id)
    installments = book.installments(session, contract.loan_id) if loan else []
    payments = book.payments(session, contract.loan_id) if loan else []
    planned = []
    if loan is not None and not installments:  # not paid out yet: the contract's plan
        planned = document.loan_values(loan.product_terms, loan.terms, number=loan.number)[
            "schedule"
        ]
    today = jobs.local_today()
    due = [i for i in installments if i.outstanding > 0 and i.due_date <= today]
    upcoming = next((i for i in installments if i.outstanding > 0 and i.due_date > today), None)
    return {
        "loan": loan,
        "installments": installments,
        "planned": planned,
        "payments": payments,
        "due_now": sum((i.outstanding for i in due), Decimal(0)),
        "upcoming": upcoming,
        "paid_total": sum((p.amount for p in payments if p.status == "posted"), Decimal(0)),
    }


def _page(
    token: str, contract: Contract, errors: Any = None, status: int = 200, **extra: Any
) -> Any:
    sdk.session().commit()  # what the page wrote (a code, a try) stays
    response = render_template(
        "contracts/borrower.html",
        token=token,
        contract=contract,
        errors=errors or sdk.FormErrors(),
        signable=contract.status == "sent" and contract.provider == clicksign.KEY,
        **_loan_view(contract),
        **extra,
    )
    return (
        response,
        status,
        {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"},
    )


@bp.get("/b/<token>", endpoint="borrower")
def borrower_page(token: str) -> Any:
    contract = _contract(token)
    sdk.audit_record(sdk.session(), "contract.viewed_by_borrower", "contract", contract.id, {})
    return _page(token, contract)


@bp.get("/b/<token>/document", endpoint="borrower_document")
def borrower_document(token: str) -> Any:
    return document_response(_contract(token).html)


@bp.get("/b/<token>/pdf", endpoint="borrower_pdf")
def borrower_pdf(token: str) -> Any:
    contract = _contract(token)
    wanted = contract.signed_pdf_id or contract.pdf_id
    if wanted is None:
        abort(404)
    return sdk.send_attachment(wanted)


@bp.post("/b/<token>/code", endpoint="borrower_code")
def borrower_code(token: str) -> Any:
    sdk.check_public_form(RATE_RULE)
    contract = _contract(token)
    try:
        clicksign.send_code(sdk.session(), contract, now=sdk.utcnow())
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        sdk.session().rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        return _page(
            token, contract, errors, problem.status, agreed=bool(request.form.get("agree"))
        )
    return _page(token, contract, code_sent=True, agreed=bool(request.form.get("agree")))


@bp.post("/b/<token>/sign", endpoint="borrower_sign")
def borrower_sign(token: str) -> Any:
    sdk.check_public_form(RATE_RULE)
    contract = _contract(token)
    session = sdk.session()
    try:
        clicksign.confirm(
            session,
            contract,
            code=request.form.get("code", ""),
            agreed=bool(request.form.get("agree")),
            ip=request.remote_addr,
            user_agent=request.user_agent.string,
            now=sdk.utcnow(),
        )
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        # a wrong code's try is kept (it limits guessing), so commit rather than roll back
        errors = sdk.FormErrors()
        errors.update(problem)
        return _page(token, contract, errors, problem.status, code_sent=True,
                     agreed=bool(request.form.get("agree")))  # fmt: skip
    session.commit()
    return redirect(url_for("tenant.contracts.borrower", token=token, signed=1), 303)
