"""Pages of bank statements (银行流水): upload and the list of imports, one import with its
progress (polled by htmx while it runs) and its lines, the unmatched queue (待匹配流水) with
a page per line to assign it to a loan or dismiss it, saved column mappings, and a loan's
repayment card. Routes join the plugin's web blueprint; thin over the services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, or_, select

from loandesk import sdk
from loandesk_repayment import bank_formats, bank_import, bank_setup, matching
from loandesk_repayment.bank_models import DISMISS_REASONS, BankImport, BankLine
from loandesk_repayment.models import Loan
from loandesk_repayment.views import _loan, bp

PER_PAGE = 20
LINE_LABELS = {
    "pending": sdk.N_("Waiting"),
    "posted": sdk.N_("Posted"),
    "already_posted": sdk.N_("Already posted"),
    "duplicate": sdk.N_("Already in the queue"),
    "unmatched": sdk.N_("Unmatched"),
    "assigned": sdk.N_("Assigned"),
    "dismissed": sdk.N_("Dismissed"),
    "skipped": sdk.N_("Skipped (money out)"),
}
ROLE_LABELS = {
    "date": sdk.N_("Date column (交易日期 / 记账日期)"),
    "credit": sdk.N_("Money in column (贷方发生额 / 收入金额)"),
    "debit": sdk.N_("Money out column (借方发生额 / 支出金额)"),
    "amount": sdk.N_("Signed amount column (instead of money in and out)"),
    "direction": sdk.N_("Debit/credit marker column (借/贷)"),
    "name": sdk.N_("Payer name column (对方户名)"),
    "account": sdk.N_("Payer account column (对方账号)"),
    "memo": sdk.N_("Memo columns (摘要 / 附言 / 用途)"),
    "serial": sdk.N_("Serial number column (交易流水号)"),
}
IMPORT_LABELS = {
    "queued": sdk.N_("Queued"),
    "running": sdk.N_("Running"),
    "done": sdk.N_("Done"),
    "failed": sdk.N_("Stopped with an error"),
}
DISMISS_LABELS = {
    "not_ours": sdk.N_("Not a repayment of ours"),
    "refund": sdk.N_("To be refunded"),
    "duplicate": sdk.N_("Duplicate of a posted payment"),
    "other": sdk.N_("Other (say why)"),
}


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int


def _page(query: Any) -> Page:
    session = sdk.session()
    page = sdk.page_asked()
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(session.scalars(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE)))
    return Page(items, page, PER_PAGE, total)


def _formats() -> list[tuple[str, str]]:
    options = [("auto", gettext("Find the format"))]
    options += [(p.key, p.label_zh) for p in bank_formats.PRESETS.values()]
    options += [(str(m.id), m.name) for m in bank_setup.mappings(sdk.session())]
    return options


@bp.route("/bank-imports", methods=["GET", "POST"], endpoint="bank_imports")
@sdk.permission_required("repayment.import")
def imports_page() -> Any:
    session = sdk.session()
    errors = sdk.FormErrors()
    values = {
        "format": request.form.get("format", "auto"),
        "account": request.form.get("account", ""),
    }
    if request.method == "POST":
        sent = request.files.get("file")
        try:
            record = bank_import.upload(
                session,
                filename=sent.filename or "" if sent else "",
                data=sent.read(bank_formats.MAX_BYTES + 1) if sent else b"",
                chosen=values["format"],
                account=values["account"],
                user_id=g.user.id,
            )
            if bank_import.runs_inline(record):
                bank_import.run(session, record)
                session.commit()
            else:
                session.commit()
                bank_import.queue_job(session, record)
                session.commit()
        except sdk.ValidationFailed as problem:
            session.rollback()
            errors.update(problem)
        else:
            flash(gettext("Statement %(name)s imported.", name=record.filename), "success")
            return redirect(url_for("tenant.repayment.bank_import", import_id=record.id))
    result = _page(select(BankImport).order_by(BankImport.created_at.desc(), BankImport.id.desc()))
    return render_template(
        "repayment/bank/imports.html",
        result=result,
        formats=_formats(),
        values=values,
        errors=errors,
        max_mb=bank_formats.MAX_BYTES // 1024 // 1024,
        import_labels=IMPORT_LABELS,
    ), (422 if errors else 200)


@bp.post("/bank-imports/<uuid:import_id>/retry", endpoint="bank_import_retry")
@sdk.permission_required("repayment.import")
def retry_import(import_id: uuid.UUID) -> Any:
    """Queue a failed import's job again; it goes on from the first line still waiting."""
    session = sdk.session()
    try:
        record = bank_import.get_import(session, import_id)
    except sdk.NotFound:
        abort(404)
    try:
        bank_import.retry(session, record, user_id=g.user.id)
    except sdk.Conflict as problem:
        session.rollback()
        flash(str(problem), "error")
    else:
        session.commit()
        bank_import.queue_job(session, record)
        session.commit()
        flash(gettext("The import goes on from where it stopped."), "success")
    return redirect(url_for("tenant.repayment.bank_import", import_id=import_id))


@bp.get("/bank-imports/<uuid:import_id>", endpoint="bank_import")
@sdk.permission_required("repayment.import")
def import_page(import_id: uuid.UUID) -> Any:
    try:
        record = bank_import.get_import(sdk.session(), import_id)
    except sdk.NotFound:
        abort(404)
    if request.headers.get("HX-Request"):
        return render_template(
            "repayment/bank/_progress.html", record=record, import_labels=IMPORT_LABELS
        )
    status = request.args.get("status")
    query = select(BankLine).where(BankLine.import_id == record.id)
    if status in LINE_LABELS:
        query = query.where(BankLine.status == status)
    result = _page(query.order_by(BankLine.row_number))
    return render_template(
        "repayment/bank/import.html",
        record=record,
        result=result,
        import_labels=IMPORT_LABELS,
        status=status if status in LINE_LABELS else None,
        labels=LINE_LABELS,
        reasons=matching.REASONS,
        payer=bank_import.payer_account,
    )


@bp.get("/bank-lines", endpoint="bank_lines")
@sdk.permission_required("repayment.post")
def queue_page() -> Any:
    """The unmatched queue (待匹配流水), oldest first, filtered by payer or memo and dates."""
    query = select(BankLine).where(BankLine.status == "unmatched")
    q = (request.args.get("q") or "").strip()
    if q:
        query = query.where(
            or_(BankLine.counterparty_name.like(f"%{q}%"), BankLine.memo.like(f"%{q}%"))
        )
    since, until = request.args.get("since") or "", request.args.get("until") or ""
    try:
        if since:
            query = query.where(BankLine.booked_on >= bank_formats.parse_date(since))
        if until:
            query = query.where(BankLine.booked_on <= bank_formats.parse_date(until))
    except ValueError:
        since = until = ""
    result = _page(query.order_by(BankLine.booked_on, BankLine.row_number, BankLine.id))
    return render_template(
        "repayment/bank/queue.html",
        result=result,
        filters={"q": q, "since": since, "until": until},
        params={k: v for k, v in {"q": q, "since": since, "until": until}.items() if v},
        reasons=matching.REASONS,
        payer=bank_import.payer_account,
    )


@bp.route("/bank-lines/<uuid:line_id>", methods=["GET", "POST"], endpoint="bank_line")
@sdk.permission_required("repayment.post")
def line_page(line_id: uuid.UUID) -> Any:
    """One unmatched line: find a loan (number or borrower's name) and post the line to it,
    or dismiss the line with a reason."""
    session = sdk.session()
    try:
        line = bank_import.get_line(session, line_id)
    except sdk.NotFound:
        abort(404)
    errors = sdk.FormErrors()
    action = request.form.get("action")
    if request.method == "POST":
        try:
            if action == "assign":
                loan = _loan(uuid.UUID(request.form.get("loan_id", "")))
                bank_import.assign(session, line, loan, user_id=g.user.id)
                message = gettext("Posted to loan %(number)s.", number=loan.number)
            else:
                bank_import.dismiss(
                    session,
                    line,
                    request.form.get("reason", ""),
                    request.form.get("note", ""),
                    user_id=g.user.id,
                )
                message = gettext("Line dismissed.")
        except (sdk.ValidationFailed, sdk.Conflict) as problem:
            session.rollback()
            errors.update(problem)
            line = bank_import.get_line(session, line_id)
        except ValueError:
            errors.add("loan_id", gettext("Choose a loan."))
        else:
            session.commit()
            flash(message, "success")
            return redirect(url_for("tenant.repayment.bank_lines"))
    q = (request.args.get("q") or request.form.get("q") or line.counterparty_name or "").strip()
    return render_template(
        "repayment/bank/line.html",
        line=line,
        q=q,
        found=_find_loans(q),
        errors=errors,
        values=request.form,
        reasons=matching.REASONS,
        dismiss=[(r, gettext(DISMISS_LABELS[r])) for r in DISMISS_REASONS],
        payer=bank_import.payer_account,
    ), (422 if errors else 200)


def _find_loans(q: str) -> list[tuple[Loan, str]]:
    """Active loans in the viewer's scope whose number or borrower's name has ``q``."""
    if not q:
        return []
    session = sdk.session()
    query = sdk.record_access("loan").where(select(Loan)).where(Loan.status == "active")
    names: dict[uuid.UUID, str] = {}
    try:
        model: Any = sdk.record_type("customer").model
        for cid, name in session.execute(
            select(model.id, model.name).where(model.name.like(f"%{q}%")).limit(50)
        ):
            names[cid] = name
    except sdk.NotFound:
        pass
    query = query.where(or_(Loan.number.like(f"%{q.upper()}%"), Loan.customer_id.in_(names)))
    found = list(session.scalars(query.order_by(Loan.number).limit(20)))
    missing = {loan.customer_id for loan in found} - set(names)
    if missing:
        model = sdk.record_type("customer").model
        rows = session.execute(select(model.id, model.name).where(model.id.in_(missing)))
        names.update({cid: name for cid, name in rows})
    return [(loan, names.get(loan.customer_id, "")) for loan in found]


@bp.route("/bank-mappings", methods=["GET", "POST"], endpoint="bank_mappings")
@sdk.permission_required("repayment.import")
def mappings_page() -> Any:
    """The firm's saved column mappings, and a form to save one (headers as the file has
    them; several memo columns separated by commas)."""
    session = sdk.session()
    errors = sdk.FormErrors()
    values = {k: request.form.get(k, "").strip() for k in ("name", "account", *bank_formats.ROLES)}
    if request.method == "POST":
        columns = {
            role: [v.strip() for v in values[role].replace("，", ",").split(",") if v.strip()]
            for role in bank_formats.ROLES
        }
        try:
            bank_setup.save_mapping(
                session, values["name"], columns, account=values["account"], user_id=g.user.id
            )
        except sdk.ValidationFailed as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(gettext("Column mapping saved."), "success")
            return redirect(url_for("tenant.repayment.bank_mappings"))
    return render_template(
        "repayment/bank/mappings.html",
        mappings=bank_setup.mappings(session),
        presets=bank_formats.PRESETS.values(),
        roles=bank_formats.ROLES,
        role_labels=ROLE_LABELS,
        values=values,
        errors=errors,
    ), (422 if errors else 200)


@bp.route("/<uuid:loan_id>/repayment-card", methods=["GET", "POST"], endpoint="repayment_card")
@sdk.permission_required("repayment.loans.book")
def card_page(loan_id: uuid.UUID) -> Any:
    session = sdk.session()
    loan = _loan(loan_id)
    errors = sdk.FormErrors()
    if request.method == "POST":
        try:
            bank_setup.set_card(
                session,
                loan,
                request.form.get("card_number", ""),
                bank_name=request.form.get("bank_name", ""),
                user_id=g.user.id,
            )
        except sdk.ValidationFailed as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(gettext("Repayment card saved."), "success")
            return redirect(url_for("tenant.repayment.detail", loan_id=loan.id))
    return render_template(
        "repayment/bank/card.html",
        loan=loan,
        card=bank_setup.present_card(bank_setup.card_of(session, loan)),
        values=request.form,
        errors=errors,
    ), (422 if errors else 200)
