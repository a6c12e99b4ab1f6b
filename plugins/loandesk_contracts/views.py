"""Staff pages: the contract list, a contract (preview, send, void with a reason, PDFs), the
loan page's contract section, and the template editor with its live preview. The
borrower's pages are in ``borrower.py``, the template editor in ``editor.py``."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_contracts import jobs, service, signing
from loandesk_contracts.models import STATES

bp = Blueprint(
    "contracts",
    __name__,
    url_prefix="/contracts",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
PER_PAGE = 20
STATUS_LABELS = {
    "draft": sdk.N_("Draft"),
    "sent": sdk.N_("Sent for signing"),
    "signed": sdk.N_("Signed"),
    "void": sdk.N_("Void"),
    "expired": sdk.N_("Expired"),
}
DOCUMENT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
)


def document_response(html: str) -> Response:
    """A contract's HTML for an ``<iframe>`` of our own pages: its inline style allowed,
    nothing else (no script, no fetch), sandboxed."""
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCUMENT_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.app_template_filter("contract_status")
def contract_status(status: str) -> str:
    return gettext(STATUS_LABELS.get(status, status))


@bp.get("/", endpoint="index")
@sdk.permission_required("contracts.view")
def contract_list() -> Any:
    page = sdk.page_asked()
    status = request.args.get("status") or None
    if status not in (None, *STATES):
        status = None
    found = service.list_contracts(sdk.session(), status=status, page=page, per_page=PER_PAGE)
    result = {"items": found.items, "page": page, "per_page": PER_PAGE, "total": found.total}
    return render_template(
        "contracts/index.html", result=result, status=status, statuses=STATUS_LABELS
    )


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@sdk.permission_required("contracts.manage")
def contract_new() -> Any:
    session = sdk.session()
    loan_id = request.values.get("loan_id", "")
    errors = sdk.FormErrors()
    if request.method == "POST":
        try:
            contract = service.create_contract(
                session, loan_id, user_id=g.user.id, today=jobs.local_today()
            )
        except (sdk.ValidationFailed, sdk.Conflict) as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(gettext("Contract %(number)s made.", number=contract.number), "success")
            return redirect(url_for("tenant.contracts.detail", contract_id=contract.id))
    loan = None
    try:
        loan = sdk.loan_book().get(session, loan_id) if loan_id else None
    except (ValueError, sdk.NotFound):
        loan = None
    return render_template("contracts/new.html", loan=loan, loan_id=loan_id, errors=errors), (
        422 if errors else 200
    )


@bp.get("/<uuid:contract_id>", endpoint="detail")
@sdk.permission_required("contracts.view")
def contract_detail(contract_id: uuid.UUID, errors: Any = None, status: int = 200) -> Any:
    session = sdk.session()
    contract = service.get_contract(session, contract_id)
    return render_template(
        "contracts/detail.html",
        contract=contract,
        errors=errors or sdk.FormErrors(),
        can_manage=g.user.can("contracts.manage"),
        history=service.of_loan(session, contract.loan_id),
    ), status


@bp.get("/<uuid:contract_id>/document", endpoint="document")
@sdk.permission_required("contracts.view")
def contract_document(contract_id: uuid.UUID) -> Any:
    return document_response(service.get_contract(sdk.session(), contract_id).html)


@bp.get("/<uuid:contract_id>/pdf", endpoint="pdf")
@sdk.permission_required("contracts.view")
def contract_pdf(contract_id: uuid.UUID) -> Any:
    contract = service.get_contract(sdk.session(), contract_id)
    wanted = contract.signed_pdf_id if request.args.get("signed") else contract.pdf_id
    if wanted is None:
        abort(404)
    return sdk.send_attachment(wanted)


def _act(contract_id: uuid.UUID, action: Any, done: str) -> Any:
    session = sdk.session()
    contract = service.get_contract(session, contract_id)
    try:
        action(session, contract)
    except (sdk.ValidationFailed, sdk.Conflict, sdk.NotFound) as problem:
        session.rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        return contract_detail(contract_id, errors=errors, status=problem.status)
    session.commit()
    flash(gettext(done), "success")
    return redirect(url_for("tenant.contracts.detail", contract_id=contract_id))


@bp.post("/<uuid:contract_id>/send", endpoint="send")
@sdk.permission_required("contracts.manage")
def contract_send(contract_id: uuid.UUID) -> Any:
    return _act(
        contract_id,
        lambda s, c: signing.send(s, c, user_id=g.user.id, today=jobs.local_today()),
        sdk.N_("The contract was sent; the borrower gets the link by SMS."),
    )


@bp.post("/<uuid:contract_id>/regenerate", endpoint="regenerate")
@sdk.permission_required("contracts.manage")
def contract_regenerate(contract_id: uuid.UUID) -> Any:
    return _act(
        contract_id,
        lambda s, c: service.regenerate(s, c, user_id=g.user.id, today=jobs.local_today()),
        sdk.N_("The contract was made again from the current template."),
    )


@bp.post("/<uuid:contract_id>/void", endpoint="void")
@sdk.permission_required("contracts.manage")
def contract_void(contract_id: uuid.UUID) -> Any:
    reason = request.form.get("reason", "")
    return _act(
        contract_id,
        lambda s, c: service.void(s, c, reason=reason, user_id=g.user.id),
        sdk.N_("The contract is void."),
    )


def loan_section(session: Any, loan_id: uuid.UUID) -> sdk.ProfileSection:
    """The loan page's contract section: the loan's contracts, and a way to make one."""
    contracts = service.of_loan(session, loan_id)
    rows = [
        sdk.ProfileRow(
            (c.number, contract_status(c.status), str(c.expires_on or ""), c.void_reason),
            url_for("tenant.contracts.detail", contract_id=c.id),
        )
        for c in contracts
    ]
    if all(c.status == "void" for c in contracts) and sdk.acting_user().can("contracts.manage"):
        rows.append(
            sdk.ProfileRow(
                (gettext("Make the contract") + " →", "", "", ""),
                url_for("tenant.contracts.new", loan_id=loan_id),
            )
        )
    return sdk.ProfileSection(
        "contracts.contracts",
        "借款合同",
        "Contract",
        columns=(
            ("合同编号", "Number"),
            ("状态", "Status"),
            ("签署期限", "Sign by"),
            ("作废原因", "Void reason"),
        ),
        rows=tuple(rows),
        order=20,
        empty_zh="尚未生成合同",
        empty_en="No contract yet.",
    )


@bp.post("/esign/<provider_key>/callback", endpoint="callback")
@sdk.csrf_exempt
def provider_callback(provider_key: str) -> Any:
    """An e-signature provider reports an outcome; it proves itself by its signature."""
    session = sdk.session()
    try:
        signing.handle_callback(session, provider_key, dict(request.headers), request.get_data())
    except sdk.CallbackRefused as problem:  # forged or garbled: audited
        sdk.audit_refused_callback(session, "esign_callback", provider_key, str(problem),
                                   request.get_data(), request.remote_addr)  # fmt: skip
        return {"code": "refused", "message": "callback refused"}, 400
    except sdk.NotFound:
        session.rollback()
        return {"code": "not_found", "message": "no such signing request"}, 404
    except sdk.ProviderUnavailable:  # nothing kept: the provider calls back again
        session.rollback()
        return {"code": "retry_later", "message": "try again later"}, 503
    session.commit()
    return {"code": "ok"}, 200


from loandesk_contracts import borrower, editor  # noqa: E402, F401  (their routes join bp)
