"""Customer pages: the list (search, filter, export), a customer's page, the form.

Tables and forms show only what the user's field permissions allow, through the same
``RecordAccess`` as the API: a column of a hidden field is not there, a masked one is masked,
and a form offers inputs only for fields the user may edit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import sdk
from loandesk_customers import service
from loandesk_customers.api import export_csv, export_xlsx
from loandesk_customers.record_type import CUSTOMER

bp = Blueprint("customers", __name__, url_prefix="/customers", template_folder="templates")

LIST_COLUMNS = ("name", "mobile", "id_number", "status", "owner_id", "org_unit_id", "created_at")
PER_PAGE = 20


def _locale() -> str:
    return str(get_locale() or "zh")


def _names(customers: Iterable[Any]) -> dict[str, dict[uuid.UUID, str]]:
    """Display names of the owners and units of ``customers``, for their columns."""
    customers = list(customers)
    session = sdk.session()
    return {
        "owner_id": sdk.display_names(session, (c.owner_id for c in customers)),
        "org_unit_id": sdk.unit_names(session, (c.org_unit_id for c in customers)),
    }


def _filters() -> dict[str, Any]:
    status = request.args.get("status") or None
    return {
        "q": request.args.get("q", "").strip()[:100],
        "status": status if status in ("active", "closed") else None,
    }


@bp.get("/", endpoint="index")
@sdk.login_required
def customer_list() -> Any:
    access, keys = sdk.record_access("customer"), sdk.keyring()
    if not access.can_read:
        abort(403)
    filters = _filters()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    result = service.list_customers(
        sdk.session(), access, keys, page=page, per_page=PER_PAGE, **filters
    )
    columns = [f for f in access.visible_fields() if f.key in LIST_COLUMNS]
    rows = [(c, access.present(c, keys, fields=columns)) for c in result.items]
    access.audit_shown(sdk.session())
    sdk.session().commit()
    context = {
        "result": result,
        "rows": rows,
        "columns": columns,
        "access": access,
        "filters": filters,
        "names": _names(result.items),
        "locale": _locale(),
        "can_create": g.user.can("customers.create"),
        "can_export": bool(set(access.export) & {f.key for f in access.visible_fields()}),
        "can_import": g.user.can("records.import"),
    }
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "customer-list":
        return render_template("customers/_table.html", **context)
    return render_template("customers/index.html", **context)


@bp.get("/export.csv", endpoint="export")
@sdk.login_required
def customer_export() -> Any:
    return export_csv(sdk.record_access("customer"), _filters(), locale=_locale())


@bp.get("/export.xlsx", endpoint="export_xlsx")
@sdk.login_required
def customer_export_xlsx() -> Any:
    return export_xlsx(
        sdk.record_access("customer"), _filters(), locale=_locale(), translate=gettext
    )


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@sdk.permission_required("customers.create")
def customer_new() -> Any:
    access, keys = sdk.record_access("customer"), sdk.keyring()
    errors = sdk.FormErrors()
    editable = [f for f in access.editable_fields() if f.key in service.EDITABLE]
    values = {f.key: request.form.get(f.key, "") for f in editable}
    if request.method == "POST":
        try:
            customer = service.create_customer(
                sdk.session(), access, keys, values, owner_id=g.user.id
            )
        except sdk.ValidationFailed as problem:
            sdk.session().rollback()
            errors.update(problem)
        else:
            sdk.session().commit()
            flash(gettext("Customer created."), "success")
            return redirect(url_for("tenant.customers.detail", customer_id=customer.id))
    return render_template(
        "customers/form.html",
        customer=None,
        editable=editable,
        shown=[],
        display={},
        access=access,
        names={},
        values=values,
        errors=errors,
        locale=_locale(),
    ), (422 if errors else 200)


@bp.get("/<uuid:customer_id>", endpoint="detail")
@sdk.login_required
def customer_detail(customer_id: uuid.UUID) -> Any:
    access, keys = sdk.record_access("customer"), sdk.keyring()
    customer = service.get_customer(sdk.session(), access, customer_id)
    values = access.present(customer, keys)
    access.audit_shown(sdk.session())
    sdk.session().commit()
    return render_template(
        "customers/detail.html",
        customer=customer,
        fields=access.visible_fields(),
        values=values,
        access=access,
        names=_names([customer]),
        staff=_staff() if g.user.can("customers.assign") else [],
        can_edit=any(f.key in service.EDITABLE for f in access.editable_fields()),
        can_close=g.user.can("customers.close"),
        locale=_locale(),
    )


@bp.route("/<uuid:customer_id>/edit", methods=["GET", "POST"], endpoint="edit")
@sdk.login_required
def customer_edit(customer_id: uuid.UUID) -> Any:
    access, keys = sdk.record_access("customer"), sdk.keyring()
    customer = service.get_customer(sdk.session(), access, customer_id)
    editable = [f for f in access.editable_fields() if f.key in service.EDITABLE]
    if not editable:
        abort(403)
    errors = sdk.FormErrors()
    shown = [f for f in access.visible_fields() if f not in editable]
    current = access.present(customer, keys, plain=True)
    if request.method == "POST":
        # Only fields the form offered and the user changed are written; a field posted that
        # the user may not edit is refused (403) by the service, naming it.
        posted = {k: v for k, v in request.form.items() if k in CUSTOMER.field_keys}
        changed = {k: v for k, v in posted.items() if (current.get(k) or "") != v}
        try:
            service.update_customer(sdk.session(), access, keys, customer, changed)
        except sdk.ValidationFailed as problem:
            sdk.session().rollback()
            errors.update(problem)
            values = {**current, **posted}
        else:
            sdk.session().commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.customers.detail", customer_id=customer.id))
    else:
        values = current
    display = access.present(customer, keys, fields=shown)
    access.audit_shown(sdk.session())
    sdk.session().commit()
    return render_template(
        "customers/form.html",
        customer=customer,
        editable=editable,
        shown=shown,
        display=display,
        access=access,
        values=values,
        errors=errors,
        names=_names([customer]),
        locale=_locale(),
    ), (422 if errors else 200)


@bp.post("/<uuid:customer_id>/assign", endpoint="assign")
@sdk.permission_required("customers.assign")
def customer_assign(customer_id: uuid.UUID) -> Any:
    access = sdk.record_access("customer")
    customer = service.get_customer(sdk.session(), access, customer_id)
    try:
        service.assign(sdk.session(), access, customer, uuid.UUID(request.form.get("owner_id", "")))
    except (ValueError, sdk.ValidationFailed):
        sdk.session().rollback()
        flash(gettext("Choose an active staff member."), "error")
    else:
        sdk.session().commit()
        flash(gettext("Customer assigned."), "success")
    return redirect(url_for("tenant.customers.detail", customer_id=customer_id))


@bp.post("/<uuid:customer_id>/status", endpoint="status")
@sdk.permission_required("customers.close")
def customer_status(customer_id: uuid.UUID) -> Any:
    access = sdk.record_access("customer")
    customer = service.get_customer(sdk.session(), access, customer_id)
    service.set_status(sdk.session(), access, customer, request.form.get("status", ""))
    sdk.session().commit()
    flash(gettext("Saved."), "success")
    return redirect(url_for("tenant.customers.detail", customer_id=customer_id))


def _staff() -> list[tuple[str, str]]:
    return [(str(u.id), u.display_name) for u in sdk.active_staff(sdk.session())]
