"""Application pages: the list, an application's page, and its form, which the tenant's form
shapes (sections, custom fields, conditions re-evaluated by the server as values change)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from loandesk import sdk
from loandesk_intake import documents, exposure, products, service
from loandesk_intake.models import STATUSES
from loandesk_intake.record_type import STATUSES as STATUS_LABELS

bp = Blueprint("intake", __name__, url_prefix="/applications", template_folder="templates")

PER_PAGE = 20
LIST_TARGET = "application-list"


def _locale() -> str:
    return str(get_locale() or "zh")


def _view(
    access: sdk.RecordAccess,
    form: sdk.Form,
    values: dict[str, Any],
    errors: Any = None,
    refresh_url: str = "",
) -> sdk.RecordView:
    view = sdk.RecordView(
        form=form,
        access=access,
        locale=_locale(),
        values=values,
        errors=errors,
        refresh_url=refresh_url,
    )
    view.names = sdk.record_names(form, [values])
    view.choices = sdk.record_choices(form, view.editable)
    return view


def _form_view(
    access: sdk.RecordAccess, form: sdk.Form, raw: dict[str, Any], errors: Any = None
) -> sdk.RecordView:
    """The form for values as typed: inputs keep the text, computed fields are computed."""
    typed = sdk.typed_values(form, raw)
    view = _view(access, form, typed, errors, url_for("tenant.intake.refresh"))
    view.values = {**typed, **raw}
    return view


@bp.get("/", endpoint="index")
@sdk.login_required
def application_list() -> Any:
    access, keys = sdk.record_access("application"), sdk.keyring()
    if not access.can_read:
        abort(403)
    listing = service.application_list(access, columns=service.LIST_COLUMNS)
    asked, view = sdk.list_request(listing, request.args)
    status = request.args.get("status") or None
    extra = {"status": status if status in STATUSES else None}
    page = sdk.page_asked()
    result = service.list_applications(
        sdk.session(),
        access,
        keys,
        status=extra["status"],
        state=asked.state,
        listing=listing,
        strict=False,
        page=page,
        per_page=PER_PAGE,
    )
    rows = [(a, access.present(a, keys, fields=result.listed.columns)) for a in result.items]
    access.audit_shown(sdk.session())
    sdk.session().commit()
    form = sdk.current_form("application")
    names = sdk.record_names(form, [values for _, values in rows])
    names["org_unit_id"] = {
        str(k): v
        for k, v in sdk.unit_names(sdk.session(), [a.org_unit_id for a in result.items]).items()
    }
    listing_page = sdk.ListPage(
        endpoint="tenant.intake.index",
        target=LIST_TARGET,
        listing=listing,
        resolved=result.listed,
        result=sdk.ListResult(result.items, result.total, result.page, result.per_page),
        rows=rows,
        locale=_locale(),
        names=names,
        views=sdk.list_views(sdk.session(), g.user.id, "application"),
        view=view,
        extra=extra,
        add_row=asked.add_row,
        detail_endpoint="tenant.intake.detail",
        detail_arg="application_id",
    )
    context = {
        "listing": listing_page,
        "filters": extra,
        "statuses": STATUS_LABELS,
        "locale": _locale(),
        "can_create": g.user.can("intake.create"),
    }
    code = 422 if listing_page.filter_errors else 200
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == LIST_TARGET:
        return render_template("intake/_table.html", **context), code
    return render_template("intake/index.html", **context), code


def _editable(access: sdk.RecordAccess, form: sdk.Form) -> list[str]:
    return [
        f.key
        for f in form.fields
        if access.access(f.key) == "edit"
        and not f.read_only
        and (f.custom or f.key in service.EDITABLE)
    ]


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@sdk.permission_required("intake.create")
def application_new() -> Any:
    access, keys = sdk.record_access("application"), sdk.keyring()
    form = sdk.current_form("application")
    editable = _editable(access, form)
    errors = sdk.FormErrors()
    if request.method == "POST":
        values = sdk.submitted(form, request.form, editable)
        shown = form.shown(sdk.typed_values(form, values))
        given = {k: v for k, v in values.items() if k in shown}
        product_id = request.form.get("product_id", "")
        given["product_id"] = product_id
        try:
            application = service.create_application(
                sdk.session(),
                access,
                keys,
                form,
                given,
                owner_id=g.user.id,
                context=sdk.value_context(),
            )
        except sdk.ValidationFailed as problem:
            sdk.session().rollback()
            errors.update(problem)
        else:
            sdk.session().commit()
            flash(gettext("Application saved as a draft."), "success")
            return redirect(url_for("tenant.intake.detail", application_id=application.id))
    else:
        values = {k: v for k, v in sdk.field_defaults(form).items() if k in editable}
        customer = request.args.get("customer_id")
        if customer:
            values["customer_id"] = customer
        product_id = request.args.get("product_id", "")
    view = _form_view(access, form, values, errors)
    return render_template(
        "intake/form.html",
        application=None,
        view=view,
        locale=_locale(),
        **_product_choice(product_id, errors),
    ), (422 if errors else 200)


def _product_choice(chosen: str, errors: sdk.FormErrors) -> dict[str, Any]:
    """The product select of the application form (only when the tenant keeps products)."""
    offered = products.list_products(sdk.session(), active_only=True)
    if not offered and not chosen:
        return {"product_options": None, "product_id": "", "product_errors": errors}
    options = [("", gettext("Choose a product"))] + [
        (
            str(p.id),
            f"{p.name} ({p.min_amount:,.0f}–{p.max_amount:,.0f}, "
            f"{p.min_term_months}–{p.max_term_months})",
        )
        for p in offered
    ]
    return {"product_options": options, "product_id": chosen, "product_errors": errors}


@bp.post("/form-fields", endpoint="refresh")
@sdk.login_required
def application_form_refresh() -> Any:
    """The form's fields again for the values typed so far (htmx): conditional fields appear
    or go as the tenant's conditions say, computed fields recompute."""
    access = sdk.record_access("application")
    form = sdk.current_form("application")
    values = sdk.submitted(form, request.form, _editable(access, form))
    return render_template("intake/_fields.html", view=_form_view(access, form, values))


@bp.get("/<uuid:application_id>", endpoint="detail")
@sdk.login_required
def application_detail(application_id: uuid.UUID) -> Any:
    access, keys = sdk.record_access("application"), sdk.keyring()
    form = sdk.current_form("application")
    application = service.get_application(sdk.session(), access, application_id)
    values = access.present(application, keys)
    access.audit_shown(sdk.session())
    sdk.session().commit()
    view = _view(access, form, values)
    view.names["org_unit_id"] = {
        str(k): v for k, v in sdk.unit_names(sdk.session(), [application.org_unit_id]).items()
    }
    session = sdk.session()
    product = (
        products.get_product(session, application.product_id) if application.product_id else None
    )
    required = list(product.required_documents) if product else []
    locale = _locale()
    return render_template(
        "intake/detail.html",
        application=application,
        view=view,
        product=product,
        documents=documents.documents_of(session, application),
        missing_documents=documents.missing_kinds(session, application, required),
        required_documents=required,
        kinds=[(k, zh if locale.startswith("zh") else en) for k, zh, en in documents.KINDS],
        kind_label=documents.kind_label,
        exposure=exposure.exposure_of(
            session,
            application.customer_id,
            application.amount,
            product=product,
            exclude=application.id,
        ),
        status_labels={v: (zh if locale.startswith("zh") else en) for v, zh, en in STATUS_LABELS},
        can_edit=application.status in service.EDITABLE_STATUSES and bool(_editable(access, form)),
        approval=sdk.record_approval("application", application.id),
        sections=sdk.record_sections(session, "application", application.id),
        approval_template=sdk.RECORD_APPROVAL_TEMPLATE,
        locale=_locale(),
    )


@bp.route("/<uuid:application_id>/edit", methods=["GET", "POST"], endpoint="edit")
@sdk.login_required
def application_edit(application_id: uuid.UUID) -> Any:
    access, keys = sdk.record_access("application"), sdk.keyring()
    form = sdk.current_form("application")
    application = service.get_application(sdk.session(), access, application_id)
    editable = _editable(access, form)
    if not editable or application.status not in service.EDITABLE_STATUSES:
        abort(403)
    errors = sdk.FormErrors()
    current = access.present(application, keys, fields=[form.field(k) for k in editable])
    if request.method == "POST":
        values = sdk.submitted(form, request.form, editable)
        shown = form.shown(sdk.typed_values(form, values))
        changed = {
            k: v for k, v in values.items() if k in shown and _plain(current.get(k)) != _plain(v)
        }
        product_id = request.form.get("product_id", "")
        if product_id != str(application.product_id or ""):
            changed["product_id"] = product_id
        try:
            service.update_application(
                sdk.session(),
                access,
                keys,
                form,
                application,
                changed,
                context=sdk.value_context(),
            )
        except sdk.ValidationFailed as problem:
            sdk.session().rollback()
            errors.update(problem)
        else:
            sdk.session().commit()
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.intake.detail", application_id=application.id))
        shown_values = {**current, **values}
    else:
        shown_values = dict(current)
        product_id = str(application.product_id or "")
    access.audit_shown(sdk.session())
    sdk.session().commit()
    view = _form_view(access, form, shown_values, errors)
    return render_template(
        "intake/form.html",
        application=application,
        view=view,
        locale=_locale(),
        **_product_choice(product_id, errors),
    ), (422 if errors else 200)


@bp.post("/<uuid:application_id>/submit", endpoint="submit")
@sdk.login_required
def application_submit(application_id: uuid.UUID) -> Any:
    access = sdk.record_access("application")
    form = sdk.current_form("application")
    application = service.get_application(sdk.session(), access, application_id)
    try:
        service.submit(sdk.session(), access, form, application)
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        sdk.session().rollback()
        labels = "、".join(_problem_label(form, k) for k in problem.errors)
        flash(gettext(problem.message) + (f" {labels}" if labels else ""), "error")
    else:
        sdk.session().commit()
        flash(gettext("Application submitted."), "success")
    return redirect(url_for("tenant.intake.detail", application_id=application_id))


def _problem_label(form: sdk.Form, key: str) -> str:
    """What staff read for an error's key: a field's label, a document kind's, the product."""
    if key.startswith(service.DOCUMENT_ERROR_PREFIX):
        return documents.kind_label(key.removeprefix(service.DOCUMENT_ERROR_PREFIX), _locale())
    if key == "product_id":
        return gettext("Loan product")
    return form.field(key).label(_locale()) if form.has(key) else key


@bp.post("/<uuid:application_id>/documents", endpoint="document_add")
@sdk.login_required
def document_add(application_id: uuid.UUID) -> Any:
    access = sdk.record_access("application")
    application = service.get_application(sdk.session(), access, application_id)
    sent = request.files.get("file")
    try:
        documents.add_document(
            sdk.session(),
            access,
            application,
            kind=request.form.get("kind", ""),
            filename=(sent.filename or "") if sent else "",
            data=sent.read() if sent else b"",
        )
    except (sdk.ValidationFailed, sdk.Conflict) as problem:
        sdk.session().rollback()
        details = [gettext(m) for messages in problem.errors.values() for m in messages]
        flash(" ".join([gettext(problem.message), *details]), "error")
    else:
        sdk.session().commit()
        flash(gettext("Document added."), "success")
    return redirect(url_for("tenant.intake.detail", application_id=application_id))


@bp.post("/<uuid:application_id>/documents/<uuid:document_id>/remove", endpoint="document_remove")
@sdk.login_required
def document_remove(application_id: uuid.UUID, document_id: uuid.UUID) -> Any:
    access = sdk.record_access("application")
    application = service.get_application(sdk.session(), access, application_id)
    document = documents.get_document(sdk.session(), application, document_id)
    try:
        documents.remove_document(sdk.session(), access, application, document)
    except sdk.Conflict as problem:
        sdk.session().rollback()
        flash(gettext(problem.message), "error")
    else:
        sdk.session().commit()
        flash(gettext("Document removed."), "success")
    return redirect(url_for("tenant.intake.detail", application_id=application_id))


@bp.get("/<uuid:application_id>/documents/<uuid:document_id>", endpoint="document")
@sdk.login_required
def document_download(application_id: uuid.UUID, document_id: uuid.UUID) -> Any:
    access = sdk.record_access("application")
    application = service.get_application(sdk.session(), access, application_id)
    document = documents.get_document(sdk.session(), application, document_id)
    return sdk.send_attachment(document.attachment_id, inline=request.args.get("inline") == "1")


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return sorted(str(v) for v in value)
    return str(value)


from loandesk_intake import views_products  # noqa: E402, F401  (its routes join bp)
