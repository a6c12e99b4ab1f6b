"""Adding and editing a custom field: one form whose kind-specific inputs (options, bounds,
lengths, formula, link target, ...) follow the chosen kind. htmx re-renders that part when the
kind changes; without JavaScript the "Show the inputs of this kind" button does the same."""

from __future__ import annotations

import re
from typing import Any

from flask import flash, render_template, request
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from loandesk import extension
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.fields import definitions
from loandesk.fields.forms import BASIC_SECTION, definition_dict, draft_form, working_rows
from loandesk.fields.models import FieldDefinition
from loandesk.fields.registry import COMPUTED_RESULTS, CUSTOM_KINDS, RecordType
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.web.auth_views import permission_required
from loandesk.web.form_builder import bp
from loandesk.web.form_builder.common import (
    KIND_LABELS,
    locale,
    record_type_keys,
    record_type_of,
    working_layout,
)
from loandesk.web.form_builder.pages import PERMISSION, _failed, _to_builder
from loandesk.web.forms import FormErrors

_BOUNDS = ("minimum", "maximum")
_LENGTHS = ("min_length", "max_length", "pattern")
# The rules each kind's inputs set (``definitions.RulesSchema``).
KIND_RULES: dict[str, tuple[str, ...]] = {
    "text": _LENGTHS,
    "long_text": _LENGTHS,
    "integer": _BOUNDS,
    "money": _BOUNDS,
    "percent": _BOUNDS,
    "decimal": (*_BOUNDS, "places"),
    "date": _BOUNDS,
    "select": ("options",),
    "multi_select": ("options",),
    "attachment": ("accept",),
    "link": ("link_type",),
    "computed": ("result", "places"),
}
RULE_INPUTS = ("minimum", "maximum", "min_length", "max_length", "pattern", "places")
RULE_CHOICES = ("accept", "link_type", "result")
# Kinds with a default value (a staff member, a record, a file or a personal number has none).
DEFAULT_KINDS = (
    "text",
    "long_text",
    "integer",
    "decimal",
    "money",
    "percent",
    "date",
    "select",
    "multi_select",
    "boolean",
    "email",
)
BLANK_OPTION_ROWS = 2
_OPTION_INPUT = re.compile(r"^options-(\d{1,3})-(value|label_zh|label_en)$")


def _posted(data: MultiDict[str, str], kind: str) -> dict[str, Any]:
    """The field form as posted, as text (to show again as typed)."""
    rows: dict[int, dict[str, str]] = {}
    for name in data:
        match = _OPTION_INPUT.match(name)
        if match:
            row = rows.setdefault(int(match[1]), {"value": "", "label_zh": "", "label_en": ""})
            row[match[2]] = data.get(name, "").strip()
    return {
        "key": data.get("key", "").strip(),
        "kind": kind,
        "label_zh": data.get("label_zh", "").strip(),
        "label_en": data.get("label_en", "").strip(),
        "help_zh": data.get("help_zh", "").strip(),
        "help_en": data.get("help_en", "").strip(),
        "required": bool(data.get("required")),
        "default": data.get("default", "").strip(),
        "section": data.get("section", ""),
        "condition": data.get("condition", "").strip(),
        "expression": data.get("expression", "").strip(),
        "searchable": bool(data.get("searchable")),
        "rules": {n: data.get(f"rules.{n}", "").strip() for n in (*RULE_INPUTS, *RULE_CHOICES)},
        "options": [rows[i] for i in sorted(rows) if any(rows[i].values())],
    }


def _from_row(row: FieldDefinition) -> dict[str, Any]:
    data = definition_dict(row)
    rules = data["rules"]
    default = data["default"]
    if isinstance(default, list):
        default = ", ".join(str(v) for v in default)
    elif isinstance(default, bool):
        default = "true" if default else "false"
    return {
        **data,
        "default": "" if default is None else str(default),
        "rules": {
            n: "" if rules.get(n) is None else str(rules[n]) for n in (*RULE_INPUTS, *RULE_CHOICES)
        },
        "options": [dict(o) for o in rules.get("options", [])],
    }


def _definition(values: dict[str, Any]) -> dict[str, Any]:
    """What ``definitions.define_field``/``update_field`` take: only the rules the kind's
    inputs set (a kind changed before saving leaves none of the old kind's behind)."""
    kind = values["kind"]
    rules: dict[str, Any] = {}
    for name in KIND_RULES.get(kind, ()):
        if name == "options":
            rules["options"] = values["options"]
        elif values["rules"].get(name):
            rules[name] = values["rules"][name]
    default: Any = values["default"] if kind in DEFAULT_KINDS and values["default"] else None
    if kind == "multi_select" and default:
        default = [v.strip() for v in re.split(r"[,，、]", default) if v.strip()]
    return {
        "key": values["key"],
        "kind": kind,
        "label_zh": values["label_zh"],
        "label_en": values["label_en"],
        "help_zh": values["help_zh"],
        "help_en": values["help_en"],
        "required": values["required"] and kind != "computed",
        "default": default,
        "rules": rules,
        "section": values["section"],
        "condition": values["condition"],
        "expression": values["expression"] if kind == "computed" else "",
        "searchable": values["searchable"] and kind in definitions.SEARCHABLE_KINDS,
    }


def _placed(kind: str) -> set[str]:
    """The error keys shown next to an input for ``kind``; others go above the form."""
    placed = {"key", "kind", "label_zh", "label_en", "help_zh", "help_en", "section"}
    placed |= {"condition", "required", "default", "searchable"}
    placed |= {f"rules.{n}" for n in KIND_RULES.get(kind, ())}
    if kind == "computed":
        placed.add("expression")
    return placed


def _errors_of(problem: ValidationFailed, kind: str) -> FormErrors:
    errors = FormErrors()
    errors.update(problem)
    placed = _placed(kind)
    for key in list(errors.fields):
        if key not in placed and not (
            key.startswith("rules.options.") and "rules.options" in placed
        ):
            errors.form.extend(errors.fields.pop(key))
    return errors


def _context(
    declared: RecordType,
    values: dict[str, Any],
    errors: FormErrors,
    row: FieldDefinition | None = None,
    extra_rows: int = 0,
) -> dict[str, Any]:
    session = extension.session()
    form = draft_form(session, declared)
    usable = [
        (key, form.field(key).label(locale()))
        for key in form.expression_kinds
        if key != values.get("key")
    ]
    return {
        "record_type": declared,
        "row": row,
        "values": values,
        "errors": errors,
        "locale": locale(),
        "kind_labels": KIND_LABELS,
        "kinds": CUSTOM_KINDS,
        "kind_rules": KIND_RULES.get(values["kind"], ()),
        "default_kinds": DEFAULT_KINDS,
        "searchable_kinds": definitions.SEARCHABLE_KINDS,
        "results": COMPUTED_RESULTS,
        "sections": [(s.key, s.label(locale())) for s in working_layout(session, declared)],
        "link_types": [(t.key, t.label(locale())) for t in plugin_runtime.record_types()],
        "usable": usable,
        "option_rows": [*values["options"], *([{}] * (BLANK_OPTION_ROWS + extra_rows))],
    }


def _kind_of(data: MultiDict[str, str], fixed: str | None = None) -> str:
    kind = fixed or data.get("kind", "text")
    return kind if kind in CUSTOM_KINDS else "text"


@bp.route("/<record_type>/fields/new", methods=["GET", "POST"], endpoint="field_new")
@permission_required(PERMISSION)
def field_new(record_type: str) -> Any:
    declared = record_type_of(record_type)
    if request.method == "GET":
        values = _posted(MultiDict(), _kind_of(request.args))
        values["section"] = request.args.get("section", BASIC_SECTION)
        return render_template(
            "admin/form_builder/field_form.html", **_context(declared, values, FormErrors())
        )
    values = _posted(request.form, _kind_of(request.form))
    if request.form.get("more_options") or request.form.get("show_kind"):
        extra = 3 if request.form.get("more_options") else 0
        return render_template(
            "admin/form_builder/field_form.html",
            **_context(declared, values, FormErrors(), extra_rows=extra),
        )
    session = extension.session()
    try:
        definitions.define_field(
            session, declared, _definition(values), record_types=record_type_keys()
        )
    except ValidationFailed as problem:
        session.rollback()
        errors = _errors_of(problem, values["kind"])
        return render_template(
            "admin/form_builder/field_form.html", **_context(declared, values, errors)
        ), 422
    except Conflict as problem:
        return _failed(declared, problem)
    session.commit()
    flash(
        gettext("Field %(name)s added; publish the form to put it in use.", name=_name(values)),
        "success",
    )
    return _to_builder(declared, f"field-{values['key']}")


@bp.route("/<record_type>/fields/<key>/edit", methods=["GET", "POST"], endpoint="field_edit")
@permission_required(PERMISSION)
def field_edit(record_type: str, key: str) -> Any:
    declared = record_type_of(record_type)
    session = extension.session()
    row = _row(declared, key)
    if request.method == "GET":
        values = _from_row(row)
        return render_template(
            "admin/form_builder/field_form.html", **_context(declared, values, FormErrors(), row)
        )
    values = {**_posted(request.form, row.kind), "key": row.key}
    if request.form.get("more_options"):
        return render_template(
            "admin/form_builder/field_form.html",
            **_context(declared, values, FormErrors(), row, extra_rows=3),
        )
    changes = _definition(values)
    changes.pop("key")
    try:
        definitions.update_field(session, declared, key, changes, record_types=record_type_keys())
    except ValidationFailed as problem:
        session.rollback()
        errors = _errors_of(problem, row.kind)
        return render_template(
            "admin/form_builder/field_form.html", **_context(declared, values, errors, row)
        ), 422
    session.commit()
    flash(
        gettext("Field %(name)s saved; publish the form to put it in use.", name=_name(values)),
        "success",
    )
    return _to_builder(declared, f"field-{key}")


@bp.post("/<record_type>/field-inputs", endpoint="field_kind")
@permission_required(PERMISSION)
def field_kind(record_type: str) -> Any:
    """The kind-specific inputs for the posted kind (htmx, when the kind or options change)."""
    declared = record_type_of(record_type)
    fixed = request.form.get("fixed_kind") or None
    values = _posted(request.form, _kind_of(request.form, fixed))
    extra = 3 if request.form.get("more_options") else 0
    return render_template(
        "admin/form_builder/_kind_inputs.html",
        **_context(declared, values, FormErrors(), extra_rows=extra),
    )


@bp.post("/<record_type>/fields/<key>/remove", endpoint="field_remove")
@permission_required(PERMISSION)
def field_remove(record_type: str, key: str) -> Any:
    declared = record_type_of(record_type)
    try:
        row = definitions.remove_field(extension.session(), declared, key)
    except Conflict as problem:
        return _failed(declared, problem)
    name = row.label_zh if locale().startswith("zh") else row.label_en
    extension.session().commit()
    flash(
        gettext(
            "Field %(name)s removed from the next version on; the values records hold are kept.",
            name=name,
        ),
        "success",
    )
    return _to_builder(declared, f"field-{key}")


@bp.post("/<record_type>/fields/<key>/restore", endpoint="field_restore")
@permission_required(PERMISSION)
def field_restore(record_type: str, key: str) -> Any:
    declared = record_type_of(record_type)
    row = definitions.restore_field(extension.session(), declared, key)
    name = row.label_zh if locale().startswith("zh") else row.label_en
    extension.session().commit()
    flash(gettext("Field %(name)s restored.", name=name), "success")
    return _to_builder(declared, f"field-{key}")


def _row(declared: RecordType, key: str) -> FieldDefinition:
    _, rows = working_rows(extension.session(), declared.key)
    found = next((r for r in rows if r.key == key), None)
    if found is None:
        raise NotFound(N_("No such field."))
    return found


def _name(values: dict[str, Any]) -> str:
    return str(values["label_zh"] if locale().startswith("zh") else values["label_en"])
