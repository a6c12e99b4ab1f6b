"""Customer pages: the list (search, filters, columns, sort, saved views, export), a
customer's page and the form, rendered from the tenant's customer form (built-in and custom
fields, by section).

Tables and forms show only what the user's field permissions allow, through the same
``RecordAccess`` as the API: a column of a hidden field is not there, a masked one is masked,
and a form offers inputs only for fields the user may edit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import sdk
from loandesk_customers import service
from loandesk_customers.api import export_csv, export_xlsx

bp = Blueprint("customers", __name__, url_prefix="/customers", template_folder="templates")

PER_PAGE = 20
LIST_TARGET = "customer-list"


def _locale() -> str:
    return str(get_locale() or "zh")


def _names(form: sdk.Form, rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Display names of the ids in ``rows`` (staff, units, linked records, regions, files),
    keyed by their text, for ``field_value``."""
    rows = list(rows)
    names = sdk.record_names(form, rows)
    session = sdk.session()
    for spec in form.fields:
        ids = [v for r in rows if isinstance(v := r.get(spec.key), uuid.UUID)]
        if spec.kind == "org_unit" and ids:
            names[spec.key] = {str(k): v for k, v in sdk.unit_names(session, ids).items()}
        elif spec.kind == "user" and ids and spec.key not in names:
            names[spec.key] = {str(k): v for k, v in sdk.display_names(session, ids).items()}
    return names


def _extra() -> dict[str, Any]:
    """The customer list's own search box and status filter."""
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
    listing = service.customer_list(access, columns=service.LIST_COLUMNS)
    asked, view = sdk.list_request(listing, request.args)
    extra = _extra()
    page = sdk.page_asked()
    result = service.list_customers(
        sdk.session(),
        access,
        keys,
        state=asked.state,
        listing=listing,
        strict=False,
        page=page,
        per_page=PER_PAGE,
        **extra,
    )
    listed = result.listed
    assert listed is not None
    rows = [(c, access.present(c, keys, fields=listed.columns)) for c in result.items]
    access.audit_shown(sdk.session())
    sdk.session().commit()
    listing_page = sdk.ListPage(
        endpoint="tenant.customers.index",
        target=LIST_TARGET,
        listing=listing,
        resolved=listed,
        result=sdk.ListResult(result.items, result.total, result.page, result.per_page),
        rows=rows,
        locale=_locale(),
        names=_names(sdk.current_form("customer"), [values for _, values in rows]),
        views=sdk.list_views(sdk.session(), g.user.id, "customer"),
        view=view,
        extra=extra,
        add_row=asked.add_row,
        detail_endpoint="tenant.customers.detail",
        detail_arg="customer_id",
    )
    context = {
        "listing": listing_page,
        "filters": extra,
        "can_create": g.user.can("customers.create"),
        "can_export": bool(set(access.export) & {f.key for f in access.visible_fields()}),
        "can_import": g.user.can("records.import"),
    }
    status = 422 if listing_page.filter_errors else 200
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == LIST_TARGET:
        return render_template("customers/_table.html", **context), status
    return render_template("customers/index.html", **context), status


def _export_args() -> dict[str, Any]:
    """The list's state as an export takes it (the same rows as the list shows)."""
    args: dict[str, Any] = {
        **_extra(),
        "columns": request.args.get("columns", ""),
        "filter": request.args.getlist("filter"),
        "sort": request.args.get("sort", ""),
    }
    if request.args.get("view"):
        try:
            args["view"] = uuid.UUID(request.args["view"])
        except ValueError:
            abort(404)
    return args


@bp.get("/export.csv", endpoint="export")
@sdk.login_required
def customer_export() -> Any:
    return export_csv(sdk.record_access("customer"), _export_args(), locale=_locale())


def _record_view(
    access: sdk.RecordAccess,
    values: Mapping[str, Any],
    errors: Any = None,
    customer: Any = None,
) -> sdk.RecordView:
    form = sdk.current_form("customer")
    view = sdk.RecordView(
        form=form,
        access=access,
        locale=_locale(),
        values=values,
        errors=errors,
        refresh_url=url_for(
            "tenant.customers.refresh", customer_id=customer.id if customer else None
        ),
    )
    view.names = _names(form, [values])
    view.choices = sdk.record_choices(form, view.editable)
    return view


def _posted(view: sdk.RecordView) -> dict[str, Any]:
    """What the form posted: fields with an input on it, and any other known field posted
    (so that a field the user may not edit is refused by name, never ignored)."""
    form = view.form
    offered = view.editable & view.shown
    keys = [
        f.key
        for f in form.fields
        if f.key in offered or (f.key in request.form and f.kind not in ("multi_select",))
    ]
    return sdk.submitted(form, request.form, keys)


@bp.get("/export.xlsx", endpoint="export_xlsx")
@sdk.login_required
def customer_export_xlsx() -> Any:
    return export_xlsx(
        sdk.record_access("customer"), _export_args(), locale=_locale(), translate=gettext
    )


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@sdk.permission_required("customers.create")
def customer_new() -> Any:
    access, keys = sdk.record_access("customer"), sdk.keyring()
    errors = sdk.FormErrors()
    view = _record_view(access, {})
    values = _posted(view) if request.method == "POST" else {}
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
    view = _record_view(access, {**sdk.typed_values(view.form, values), **values}, errors)
    return render_template("customers/form.html", customer=None, view=view), (
        422 if errors else 200
    )


@bp.get("/<uuid:customer_id>", endpoint="detail")
@sdk.login_required
def customer_detail(customer_id: uuid.UUID) -> Any:
    """The customer's 360° page (``views_related.render_profile``)."""
    from loandesk_customers.views_related import render_profile

    access, keys = sdk.record_access("customer"), sdk.keyring()
    customer = service.get_customer(sdk.session(), access, customer_id)
    return render_profile(customer, access, keys)


@bp.route("/<uuid:customer_id>/edit", methods=["GET", "POST"], endpoint="edit")
@sdk.login_required
def customer_edit(customer_id: uuid.UUID) -> Any:
    access, keys = sdk.record_access("customer"), sdk.keyring()
    customer = service.get_customer(sdk.session(), access, customer_id)
    if not [f for f in access.editable_fields() if f.key in service.EDITABLE or f.custom]:
        abort(403)
    errors = sdk.FormErrors()
    current = access.present(customer, keys)
    view = _record_view(access, current, customer=customer)
    if request.method == "POST":
        # Only fields the user changed are written; a field posted that the user may not
        # edit is refused (403) by the service, naming it.
        posted = _posted(view)
        plain = access.present(customer, keys, plain=True)
        changed = {k: v for k, v in posted.items() if not _same(plain.get(k), v)}
        try:
            service.update_customer(sdk.session(), access, keys, customer, changed)
        except sdk.ValidationFailed as problem:
            sdk.session().rollback()
            errors.update(problem)
            typed = sdk.typed_values(view.form, {**plain, **posted})
            view = _record_view(access, {**current, **typed, **posted}, errors, customer)
        else:
            sdk.session().commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.customers.detail", customer_id=customer.id))
    access.audit_shown(sdk.session())
    sdk.session().commit()
    return render_template("customers/form.html", customer=customer, view=view), (
        422 if errors else 200
    )


@bp.post("/form/refresh", endpoint="refresh")
@sdk.login_required
def customer_form_refresh() -> Any:
    """The form's fields again for the values typed so far (htmx, when a field that a
    condition or formula names changes): conditional fields appear or disappear."""
    access = sdk.record_access("customer")
    access.require_read()
    customer = None
    if request.args.get("customer_id"):
        try:
            ident = uuid.UUID(request.args["customer_id"])
        except ValueError:
            abort(404)
        customer = service.get_customer(sdk.session(), access, ident)
    view = _record_view(access, {}, customer=customer)
    raw = sdk.submitted(view.form, request.form, [f.key for f in view.form.fields])
    values = {**sdk.typed_values(view.form, raw), **raw}
    return render_template(
        "customers/_fields.html", view=_record_view(access, values, customer=customer)
    )


def _same(current: Any, posted: Any) -> bool:
    if isinstance(posted, list):
        return sorted(posted) == sorted(current or [])
    if isinstance(current, bool):
        return str(current).lower() == str(posted).lower()
    return str(current if current is not None else "") == posted


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
