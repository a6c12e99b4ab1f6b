"""The template editor (合同模板): the firm's default and each product's template, written
in Jinja HTML and CSS with a live preview on a sample loan, and the letterhead."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from loandesk import sdk
from loandesk_contracts import jobs, library, service
from loandesk_contracts.views import bp, document_response


def _product_name(product_id: str) -> str:
    if not product_id:
        return gettext("Default for every product")
    terms = sdk.product_terms(sdk.session(), uuid.UUID(product_id))
    return f"{terms.code} {terms.name}"


@bp.get("/templates", endpoint="templates")
@sdk.permission_required("contracts.templates")
def template_list() -> Any:
    session = sdk.session()
    rows = [(row, _safe_name(row.product_key)) for row in library.templates(session)]
    return render_template(
        "contracts/templates.html",
        rows=rows,
        letterhead=library.letterhead(session),
        errors=sdk.FormErrors(),
    )


def _safe_name(product_key: str) -> str:
    try:
        return _product_name(product_key)
    except sdk.NotFound:
        return product_key


@bp.route("/templates/edit", methods=["GET", "POST"], endpoint="edit_template")
@sdk.permission_required("contracts.templates")
def template_edit() -> Any:
    session = sdk.session()
    product_id = request.values.get("product_id", "").strip()
    errors = sdk.FormErrors()
    try:
        title = _product_name(product_id)
    except (sdk.NotFound, ValueError):
        errors.add("product_id", gettext("No such product."))
        title, product_id = "", ""
    text = library.template_for(session, product_id or None)
    values = {
        "name": text.row.name if text.row and text.source != "shipped" else title,
        "body": text.body,
        "css": text.css,
    }
    if request.method == "POST" and not errors:
        values = {k: request.form.get(k, "") for k in ("name", "body", "css")}
        try:
            library.save_template(
                session,
                product_id=product_id or None,
                user_id=g.user.id,
                today=jobs.local_today(),
                **values,
            )
        except (sdk.ValidationFailed, sdk.NotFound) as problem:
            session.rollback()
            errors.update(problem)
        else:
            session.commit()
            flash(gettext("Template saved."), "success")
            return redirect(url_for("tenant.contracts.templates"))
    return render_template(
        "contracts/editor.html",
        values=values,
        product_id=product_id,
        title=title,
        source=text.source,
        errors=errors,
    ), (422 if errors else 200)


@bp.post("/templates/preview", endpoint="preview")
@sdk.permission_required("contracts.templates")
def template_preview() -> Any:
    """The editor's live preview: the posted template on the sample loan, or the error."""
    body, css = request.form.get("body", ""), request.form.get("css", "")
    try:
        html = library.preview(sdk.session(), body, css, jobs.local_today())
    except sdk.ValidationFailed as problem:
        errors = sdk.FormErrors()
        errors.update(problem)
        page = document_response(render_template("contracts/_preview_error.html", errors=errors))
        page.status_code = 422
        return page
    return document_response(service.with_style(html, css))


@bp.post("/letterhead", endpoint="letterhead")
@sdk.permission_required("contracts.templates")
def letterhead_save() -> Any:
    session = sdk.session()
    upload = request.files.get("logo")
    logo = upload.read() if upload and upload.filename else None
    try:
        library.save_letterhead(
            session,
            dict(request.form),
            logo=logo,
            logo_name=upload.filename if upload and upload.filename else "",
            user_id=g.user.id,
        )
    except sdk.ValidationFailed as problem:
        session.rollback()
        errors = sdk.FormErrors()
        errors.update(problem)
        rows = [(row, _safe_name(row.product_key)) for row in library.templates(session)]
        return render_template(
            "contracts/templates.html",
            rows=rows,
            letterhead=library.letterhead(session),
            errors=errors,
            values=dict(request.form),
        ), 422
    session.commit()
    flash(gettext("Letterhead saved."), "success")
    return redirect(url_for("tenant.contracts.templates"))
