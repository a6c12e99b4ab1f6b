"""Disbursement pages: the orders list (by status, or those that need checking), the
approver's queue, the request form (reached from a pending loan's page), an order's page with
its actions and its alert, and the providers' callback. Full pages, or the list's fragment
for htmx."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from sqlalchemy import func, select

from loandesk import sdk
from loandesk_disbursement import alerts, funders, payout, service
from loandesk_disbursement.models import STATUSES, Order
from loandesk_disbursement.present import PER_PAGE, find, list_orders, present_one
from loandesk_disbursement.record_type import STATUSES as STATUS_LABELS

bp = Blueprint("disbursement", __name__, url_prefix="/disbursements", template_folder="templates")
LIST_TARGET = "order-list"


def _status_labels() -> dict[str, str]:
    zh = str(get_locale() or "zh").startswith("zh")
    return {key: zh_label if zh else en for key, zh_label, en in STATUS_LABELS}


def _listing(status: str | None, queue: bool, alert: bool = False) -> Any:
    access, keys = sdk.record_access("disbursement"), sdk.keyring()
    page = sdk.page_asked()
    session = sdk.session()
    if queue:
        query = access.where(select(Order)).where(
            Order.status == "requested", Order.requested_by_id != g.user.id
        )
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        orders = list(session.scalars(
            query.order_by(Order.requested_at).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
        ))  # fmt: skip
    else:
        orders, total = list_orders(
            session, access, status=status, alert=alert, page=page, per_page=PER_PAGE
        )
    rows = [(o, access.present(o, keys, plain=True)) for o in orders]
    access.audit_shown(session)
    names = sdk.display_names(session, [o.requested_by_id for o in orders])
    session.commit()
    result = {"items": rows, "page": page, "per_page": PER_PAGE, "total": total}
    context = {
        "result": result,
        "status": status,
        "statuses": STATUSES,
        "labels": _status_labels(),
        "queue": queue,
        "alert": alert,
        "names": names,
        "target": LIST_TARGET,
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == LIST_TARGET:
        return render_template("disbursement/_table.html", **context)
    return render_template("disbursement/index.html", **context)


@bp.get("/", endpoint="index")
@sdk.permission_required("disbursement.view")
def order_list() -> Any:
    """All orders, one status's, or those that need checking (``?alert=1``, 需核查)."""
    if request.args.get("alert"):
        return _listing(None, queue=False, alert=True)
    status = request.args.get("status") or None
    return _listing(status if status in STATUSES else None, queue=False)


@bp.get("/queue", endpoint="queue")
@sdk.permission_required("disbursement.approve")
def approval_queue() -> Any:
    """Orders waiting for a checker, oldest first; never one's own."""
    return _listing(None, queue=True)


def queue_count(user: Any) -> list[sdk.NavCount]:
    if not user.can("disbursement.approve"):
        return []
    waiting = sdk.session().scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.status == "requested", Order.requested_by_id != user.id)
    )
    if not waiting:
        return []
    return [sdk.NavCount(int(waiting), gettext("%(count)s to approve", count=int(waiting)))]


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@sdk.permission_required("disbursement.request")
def order_new() -> Any:
    session = sdk.session()
    loan_id = request.values.get("loan_id", "")
    loan = sdk.loan_book().get(session, loan_id) if _is_uuid(loan_id) else None
    if loan is None:
        abort(404)
    errors = sdk.FormErrors()
    values = {"loan_id": loan_id, "amount": f"{loan.principal:.2f}"}
    if request.method == "POST":
        values = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
        try:
            order, _ = service.request_order(session, values, user_id=g.user.id, keys=sdk.keyring())
        except (sdk.ValidationFailed, sdk.Conflict) as problem:
            session.rollback()
            errors.update(problem)
            if problem.errors and not problem.params:
                errors.form.append(gettext(problem.message))
        else:
            session.commit()
            flash(gettext("Payout requested: another person must approve it."), "success")
            return redirect(url_for("tenant.disbursement.detail", disbursement_id=order.id))
    split = funders.split(loan, loan.principal)
    blockers = sdk.payout_blockers(session, loan.id) if not errors else []
    return render_template(
        "disbursement/new.html", loan=loan, values=values, errors=errors, split=split,
        blockers=blockers,
    ), (422 if errors else 200)  # fmt: skip


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _detail(order: Order, errors: sdk.FormErrors | None = None, code: int = 200) -> Any:
    session = sdk.session()
    access, keys = sdk.record_access("disbursement"), sdk.keyring()
    shown = present_one(session, order, access, keys)
    access.audit_shown(session)
    people = [order.requested_by_id, order.reviewed_by_id, order.paid_by_id]
    names = sdk.display_names(session, [p for p in people if p])
    zh = str(get_locale() or "zh").startswith("zh")
    channels = sdk.payout_connectors()
    connectors = [(key, c.label_zh if zh else c.label_en) for key, c in channels.items()]
    can_ask = order.status == "paying" and sdk.can_query(channels.get(order.method or ""))
    session.commit()
    return render_template(
        "disbursement/detail.html", order=order, shown=shown, names=names,
        labels=_status_labels(), errors=errors or sdk.FormErrors(), connectors=connectors,
        values=request.form if errors else {}, today=service.local_today().isoformat(),
        own_order=order.requested_by_id == g.user.id, pay_key=str(uuid.uuid4()),
        can_ask=can_ask,
    ), code  # fmt: skip


@bp.get("/<uuid:disbursement_id>", endpoint="detail")
@sdk.permission_required("disbursement.view")
def order_detail(disbursement_id: uuid.UUID) -> Any:
    return _detail(find(sdk.session(), sdk.record_access("disbursement"), disbursement_id))


def _act(disbursement_id: uuid.UUID, permission: str, action: Any, done: str) -> Any:
    """Run ``action(session, order)``; the order's page again with the errors next to the
    fields when it is refused."""
    if not g.user.can(permission):
        abort(403)
    session = sdk.session()
    order = find(session, sdk.record_access("disbursement"), disbursement_id)
    try:
        action(session, order)
    except (sdk.ValidationFailed, sdk.Conflict, sdk.Forbidden) as problem:
        session.rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        if problem.errors and not problem.params:
            errors.form.append(gettext(problem.message))
        order = find(session, sdk.record_access("disbursement"), disbursement_id)
        return _detail(order, errors, 403 if isinstance(problem, sdk.Forbidden) else 422)
    session.commit()
    flash(gettext(done), "success")
    return redirect(url_for("tenant.disbursement.detail", disbursement_id=disbursement_id))


@bp.post("/<uuid:disbursement_id>/approve", endpoint="approve")
@sdk.login_required
def order_approve(disbursement_id: uuid.UUID) -> Any:
    return _act(
        disbursement_id, "disbursement.approve",
        lambda s, o: service.approve(s, o.id, user_id=g.user.id), sdk.N_("Payout approved."),
    )  # fmt: skip


@bp.post("/<uuid:disbursement_id>/reject", endpoint="reject")
@sdk.login_required
def order_reject(disbursement_id: uuid.UUID) -> Any:
    reason = request.form.get("reason", "")
    return _act(
        disbursement_id, "disbursement.approve",
        lambda s, o: service.reject(s, o.id, user_id=g.user.id, reason=reason),
        sdk.N_("Payout rejected."),
    )  # fmt: skip


@bp.post("/<uuid:disbursement_id>/cancel", endpoint="cancel")
@sdk.login_required
def order_cancel(disbursement_id: uuid.UUID) -> Any:
    return _act(
        disbursement_id, "disbursement.request",
        lambda s, o: service.cancel(s, o.id, user_id=g.user.id), sdk.N_("Order cancelled."),
    )  # fmt: skip


@bp.post("/<uuid:disbursement_id>/mark-paid", endpoint="mark_paid")
@sdk.login_required
def order_mark_paid(disbursement_id: uuid.UUID) -> Any:
    form = request.form
    return _act(
        disbursement_id, "disbursement.pay",
        lambda s, o: payout.mark_paid(
            s, o.id, user_id=g.user.id, bank_reference=form.get("bank_reference", ""),
            paid_on=form.get("paid_on", ""),
        ),
        sdk.N_("Payout recorded: the loan is active."),
    )  # fmt: skip


@bp.post("/<uuid:disbursement_id>/pay", endpoint="pay")
@sdk.login_required
def order_pay(disbursement_id: uuid.UUID) -> Any:
    from loandesk_disbursement.api import callback_url

    form = request.form
    return _act(
        disbursement_id, "disbursement.pay",
        lambda s, o: payout.pay(
            s, o.id, user_id=g.user.id, connector_key=form.get("connector", ""),
            keys=sdk.keyring(), callback_url=callback_url,
            idempotency_key=form.get("idempotency_key") or None,
        ),
        sdk.N_("Payout sent to the channel."),
    )  # fmt: skip


@bp.post("/<uuid:disbursement_id>/ask", endpoint="ask")
@sdk.login_required
def order_ask(disbursement_id: uuid.UUID) -> Any:
    """The channel never called back: ask it now (what the poll job does every 10 minutes)."""
    return _act(
        disbursement_id, "disbursement.pay", lambda s, o: payout.ask_provider(s, o.id),
        sdk.N_("The payout channel was asked: the order shows its answer."),
    )  # fmt: skip


@bp.post("/<uuid:disbursement_id>/alert/clear", endpoint="clear_alert")
@sdk.login_required
def order_clear_alert(disbursement_id: uuid.UUID) -> Any:
    note = request.form.get("note", "")
    return _act(
        disbursement_id, "disbursement.approve",
        lambda s, o: alerts.clear_alert(s, o.id, user_id=g.user.id, note=note),
        sdk.N_("Alert cleared."),
    )  # fmt: skip


@bp.post("/callbacks/<connector>", endpoint="callback")
@sdk.csrf_exempt
def provider_callback(connector: str) -> Any:
    """A payout provider's asynchronous result: verified by its connector (400 otherwise),
    applied once; a repeated callback answers 200 and changes nothing."""
    session = sdk.session()
    try:
        order = payout.callback(session, connector, dict(request.headers), request.get_data())
    except sdk.NotFound as problem:
        session.rollback()
        return {"code": "not_found", "message": problem.message}, 404
    except sdk.DomainError as problem:
        if isinstance(problem.__cause__, sdk.InvalidCallback):  # forged or garbled: audited
            sdk.audit_refused_callback(session, "payout_callback", connector,
                                       str(problem.__cause__), request.get_data(),
                                       request.remote_addr)  # fmt: skip
        else:
            session.rollback()
        return {"code": "bad_request", "message": problem.message}, 400
    session.commit()
    return {"code": "ok", "status": order.status}, 200


def loan_section(session: Any, loan_id: uuid.UUID) -> list[sdk.ProfileSection] | None:
    """The orders of a loan on its page, and a row to request one while it waits."""
    from flask_babel import format_date

    if g.get("user") is None or not g.user.can("disbursement.view"):
        return None
    access = sdk.record_access("disbursement")
    orders, _ = list_orders(session, access, loan_id=loan_id, per_page=50)
    labels = _status_labels()
    rows = [
        sdk.ProfileRow(
            (
                o.number,
                f"¥{o.amount:,.2f}",
                labels.get(o.status, o.status),
                format_date(o.paid_on, "medium") if o.paid_on else "",
            ),
            url_for("tenant.disbursement.detail", disbursement_id=o.id),
        )
        for o in orders
    ]
    open_order = any(o.status in ("requested", "approved", "paying", "failed") for o in orders)
    loan = sdk.loan_book().get(session, loan_id)
    if (
        loan is not None
        and loan.status == "pending"
        and not open_order
        and g.user.can("disbursement.request")
    ):
        rows.append(
            sdk.ProfileRow(
                (gettext("Request payout") + " →", f"¥{loan.principal:,.2f}", "", ""),
                url_for("tenant.disbursement.new", loan_id=loan_id),
            )
        )
    return [
        sdk.ProfileSection(
            key="disbursement.orders",
            title_zh="放款单",
            title_en="Disbursement orders",
            columns=(
                ("放款单号", "Order"),
                ("金额", "Amount"),
                ("状态", "Status"),
                ("放款日期", "Paid on"),
            ),
            rows=tuple(rows),
            order=20,
        )
    ]
