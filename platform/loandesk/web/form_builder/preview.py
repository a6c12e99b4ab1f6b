"""The preview: the working copy rendered as the form staff will fill once it is published,
with the record form macros every record type's pages use. Conditional fields appear and
disappear as values change (the macros' htmx refresh posts here); "Check" runs the one
validation path over the values typed, so the admin sees the messages staff would."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request, url_for

from loandesk import extension
from loandesk.errors import ValidationFailed
from loandesk.fields.current import value_context
from loandesk.fields.forms import Form, draft_form
from loandesk.fields.registry import RecordType
from loandesk.fields.validation import defaults, validate_record
from loandesk.fields.values import Invalid, coerce_result, parse
from loandesk.fields.web import RecordView, choices, submitted
from loandesk.rbac.access import RecordAccess
from loandesk.web.auth_views import permission_required
from loandesk.web.form_builder import bp
from loandesk.web.form_builder.common import locale, record_type_of
from loandesk.web.form_builder.pages import PERMISSION
from loandesk.web.forms import FormErrors


def _editor(form: Form) -> RecordAccess:
    """Access that may edit every field: the preview shows the whole form an applicant's
    officer may fill (roles narrow it per user once published)."""
    keys = form.record_type.field_keys
    return RecordAccess(
        form.record_type, g.user.id, "all", dict.fromkeys(keys, "edit"), frozenset()
    )


def _typed(form: Form, raw: dict[str, Any]) -> dict[str, Any]:
    """The posted values parsed where they parse (conditions compare typed values), kept as
    typed where they do not; computed fields worked out from them."""
    values: dict[str, Any] = {}
    for key, text in raw.items():
        try:
            values[key] = parse(form.field(key), text)
        except Invalid:
            values[key] = text
    return _computed(form, values)


def _computed(form: Form, values: dict[str, Any]) -> dict[str, Any]:
    for spec, expression in form.formulas:
        values[spec.key] = coerce_result(spec, expression.evaluate(values))
    return values


def _view(declared: RecordType, values: dict[str, Any], errors: Any = None) -> RecordView:
    form = draft_form(extension.session(), declared)
    access = _editor(form)
    view = RecordView(
        form=form,
        access=access,
        locale=locale(),
        values=values,
        errors=errors,
        refresh_url=url_for("tenant.admin_forms.preview_refresh", record_type=declared.key),
    )
    view.choices = choices(form, view.editable)
    return view


def _posted_view(declared: RecordType) -> tuple[RecordView, dict[str, Any]]:
    form = draft_form(extension.session(), declared)
    raw = submitted(form, request.form, [f.key for f in form.fields if not f.read_only])
    return _view(declared, _typed(form, raw)), raw


@bp.route("/<record_type>/preview", methods=["GET", "POST"], endpoint="preview")
@permission_required(PERMISSION)
def preview(record_type: str) -> Any:
    declared = record_type_of(record_type)
    if request.method == "GET":
        form = draft_form(extension.session(), declared)
        view = _view(declared, _computed(form, defaults(form)))
        return render_template("admin/form_builder/preview.html", view=view, record_type=declared)
    view, raw = _posted_view(declared)
    errors = FormErrors()
    try:
        validate_record(view.form, raw, context=value_context())
    except ValidationFailed as problem:
        errors.update(problem)
    view.errors = errors
    return render_template(
        "admin/form_builder/preview.html",
        view=view,
        record_type=declared,
        checked=not errors,
    ), (422 if errors else 200)


@bp.post("/<record_type>/preview/refresh", endpoint="preview_refresh")
@permission_required(PERMISSION)
def preview_refresh(record_type: str) -> Any:
    """The preview's fields again for the posted values (the record form macros' refresh)."""
    view, _raw = _posted_view(record_type_of(record_type))
    return render_template("admin/form_builder/_preview_fields.html", view=view)
