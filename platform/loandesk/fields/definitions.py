"""Defining a tenant's custom fields and sections, arranging them, and publishing the form.

Admins edit a working copy (``FieldDefinition``, ``FormSection``); nothing changes for staff
until ``publish`` makes it the next ``FormVersion``. Removing a field hides it from the next
version on; the values records hold for it stay, and restoring it brings them back. Every
change is checked in full before anything is written (``ValidationFailed`` naming the field
of the definition that is wrong) and audited. No Flask here: the API, the web form builder and
``loandesk tenant apply`` call the same functions.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.events import emit
from loandesk.expressions import ExpressionError, compile_expression
from loandesk.fields.forms import (
    BASIC_SECTION,
    build,
    definition_dict,
    draft_layout,
    latest_version,
    spec_of,
    working_rows,
)
from loandesk.fields.models import FieldDefinition, FormSection, FormVersion
from loandesk.fields.registry import (
    ACCESS_LEVELS,
    COMPUTED_RESULTS,
    CUSTOM_KINDS,
    ENCRYPTED_KINDS,
    KEY_PATTERN,
    NUMERIC_KINDS,
    RecordType,
)
from loandesk.fields.validation import message
from loandesk.fields.values import Invalid, parse
from loandesk.i18n import N_
from loandesk.rbac.models import RoleRecordAccess
from loandesk.tenancy.context import current_id

SOME_FIELDS = N_("Some fields need attention.")
MAX_FIELDS = 300  # per record type: more makes forms nobody fills
MAX_OPTIONS = 200
RESERVED_KEYS = {"id", "tenant_id", "custom", "created_at", "updated_at", "masked", "status"}
# Kinds whose values can be indexed for filters and sorting.
SEARCHABLE_KINDS = (
    *NUMERIC_KINDS,
    "text",
    "date",
    "datetime",
    "select",
    "boolean",
    "mobile",
    "resident_id",
    "bank_card",
    "email",
    "region",
    "user",
    "link",
    "computed",
)


class OptionInputSchema(ma.Schema):
    value = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    label_zh = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    label_en = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))


class RulesSchema(ma.Schema):
    minimum = ma.fields.String(allow_none=True, validate=validate.Length(max=40))
    maximum = ma.fields.String(allow_none=True, validate=validate.Length(max=40))
    min_length = ma.fields.Integer(allow_none=True, validate=validate.Range(min=0, max=2000))
    max_length = ma.fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2000))
    pattern = ma.fields.String(allow_none=True, validate=validate.Length(max=200))
    places = ma.fields.Integer(allow_none=True, validate=validate.Range(min=0, max=6))
    options = ma.fields.List(
        ma.fields.Nested(OptionInputSchema), validate=validate.Length(max=MAX_OPTIONS)
    )
    result = ma.fields.String(allow_none=True, validate=validate.OneOf(COMPUTED_RESULTS))
    link_type = ma.fields.String(allow_none=True)
    accept = ma.fields.String(allow_none=True, validate=validate.OneOf(["file", "image"]))


class DefinitionSchema(ma.Schema):
    """A custom field as the API, the form builder and bundles describe it."""

    key = ma.fields.String(
        required=True,
        validate=validate.Regexp(KEY_PATTERN, error="Use lowercase letters, digits and _."),
        metadata={"description": "Lowercase letters, digits, _; fixed once created"},
    )
    kind = ma.fields.String(required=True, validate=validate.OneOf(CUSTOM_KINDS))
    label_zh = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    label_en = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    help_zh = ma.fields.String(load_default="", validate=validate.Length(max=200))
    help_en = ma.fields.String(load_default="", validate=validate.Length(max=200))
    required = ma.fields.Boolean(load_default=False)
    default = ma.fields.Raw(load_default=None, allow_none=True)
    rules = ma.fields.Nested(RulesSchema, load_default=dict)
    section = ma.fields.String(load_default="", validate=validate.Length(max=40))
    condition = ma.fields.String(
        load_default="",
        metadata={"description": 'Show the field only when this holds, e.g. loan_purpose == "car"'},
    )
    expression = ma.fields.String(
        load_default="", metadata={"description": "A computed field's formula, e.g. amount / term"}
    )
    searchable = ma.fields.Boolean(load_default=False)


def _failed(errors: Mapping[str, Any]) -> ValidationFailed:
    flat: dict[str, list[str]] = {}
    for key, problems in errors.items():
        if isinstance(problems, dict):  # nested (rules.options.0.value ...)
            for inner, found in _flatten(problems, key).items():
                flat[inner] = found
        else:
            flat[key] = [str(p) for p in problems]
    return ValidationFailed(SOME_FIELDS, errors=flat)


def _flatten(errors: Mapping[Any, Any], prefix: str) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for key, found in errors.items():
        name = f"{prefix}.{key}"
        if isinstance(found, dict):
            flat.update(_flatten(found, name))
        else:
            flat[name] = [str(p) for p in found]
    return flat


def load_definition(values: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = DefinitionSchema().load(values, partial=partial)
    except ma.ValidationError as problem:
        raise _failed(problem.messages) from None  # type: ignore[arg-type]
    return loaded


def check_definition(
    record_type: RecordType,
    data: Mapping[str, Any],
    others: Sequence[Mapping[str, Any]],
    section_keys: Sequence[str],
    record_types: Sequence[str],
) -> dict[str, list[str]]:
    """What is wrong with a custom field's definition ``data`` among the other custom fields
    ``others`` of the record type (empty when it is sound)."""
    errors: dict[str, list[str]] = {}
    kind, key, rules = data["kind"], data["key"], data.get("rules") or {}

    def add(field: str, text: str, **params: Any) -> None:
        errors.setdefault(field, []).append(message(text, **params))

    if key in record_type.field_keys or key in RESERVED_KEYS:
        add("key", N_("%(key)s is a built-in field; choose another key."), key=key)
    if data.get("section", "") not in (BASIC_SECTION, *section_keys):
        add("section", N_("No such section."))
    options = rules.get("options") or []
    if kind in ("select", "multi_select"):
        if not options:
            add("rules.options", N_("Give at least one option."))
        values = [o["value"] for o in options]
        if len(set(values)) != len(values):
            add("rules.options", N_("Each option needs its own value."))
    elif options:
        add("rules.options", N_("Only select fields have options."))
    for bound in ("minimum", "maximum"):
        text = rules.get(bound)
        if text is None:
            continue
        if kind in NUMERIC_KINDS:
            try:
                Decimal(text)
            except InvalidOperation:
                add(f"rules.{bound}", N_("Enter a number."))
        elif kind == "date":
            try:
                date.fromisoformat(text)
            except ValueError:
                add(f"rules.{bound}", N_("Enter a date as YYYY-MM-DD, e.g. 2026-03-01."))
        else:
            add(f"rules.{bound}", N_("Only numbers and dates have a minimum and maximum."))
    if rules.get("pattern"):
        if kind not in ("text", "long_text"):
            add("rules.pattern", N_("Only text fields have a pattern."))
        else:
            try:
                re.compile(rules["pattern"])
            except re.error:
                add("rules.pattern", N_("This is not a valid pattern."))
    if (rules.get("min_length") or 0) > (rules.get("max_length") or 2000):
        add("rules.min_length", N_("The minimum length is above the maximum."))
    if kind == "link" and rules.get("link_type") not in record_types:
        add("rules.link_type", N_("Choose the record type this field links to."))
    if kind == "computed":
        if not rules.get("result"):
            add("rules.result", N_("Choose what the formula gives."))
        if not data.get("expression", "").strip():
            add("expression", N_("Enter the formula."))
        if data.get("required") or data.get("default") is not None:
            add("required", N_("A computed field is never entered."))
    elif data.get("expression", "").strip():
        add("expression", N_("Only computed fields have a formula."))
    if data.get("searchable") and kind not in SEARCHABLE_KINDS:
        add("searchable", N_("Fields of this kind cannot be searched."))
    if data.get("searchable") and kind == "text" and (rules.get("max_length") or 200) > 300:
        add("searchable", N_("A searchable text field holds at most 300 characters."))
    if errors:
        return errors
    # Expressions and the default are checked against the form as it would be published.
    rows = [*(o for o in others if o["key"] != key), data]
    form = build(record_type, [], rows)
    spec = form.field(key)
    kinds = {k: v for k, v in form.expression_kinds.items() if k != key}
    for field, text in (
        ("condition", data.get("condition", "")),
        ("expression", data.get("expression", "")),
    ):
        if text.strip():
            try:
                compile_expression(text, kinds)
            except ExpressionError as problem:
                add(field, problem.message, **problem.params)
    if data.get("default") is not None and kind not in ("computed", "attachment", "link", "user"):
        try:
            parse(spec, data["default"])
        except Invalid as problem:
            add("default", problem.message, **problem.params)
    if kind == "computed" and "expression" not in errors:
        try:
            form.formulas  # noqa: B018 - orders the formulas, refusing a cycle below
        except ExpressionError as problem:
            add("expression", problem.message, **problem.params)
        if len(form.formulas) != len([f for f in form.fields if f.computed]):
            add("expression", N_("Computed fields may not depend on each other in a circle."))
    if spec.encrypted and data.get("condition"):
        pass  # conditions on other fields are fine; personal values never appear in one
    return errors


def _find(session: Session, record_type: str, key: str) -> FieldDefinition:
    found = session.scalar(
        select(FieldDefinition).where(
            FieldDefinition.record_type == record_type, FieldDefinition.key == key
        )
    )
    if found is None:
        raise NotFound(N_("No such field."))
    return found


def define_field(
    session: Session,
    record_type: RecordType,
    values: Mapping[str, Any],
    *,
    record_types: Sequence[str],
) -> FieldDefinition:
    """Add a custom field to the working copy (published with the next version). Roles that
    see the record type get the field as they get its other fields (``_grant_new_field``)."""
    data = load_definition(values)
    sections, rows = working_rows(session, record_type.key)
    if any(r.key == data["key"] for r in rows):
        raise ValidationFailed(
            SOME_FIELDS, errors={"key": [message(N_("A field with this key exists."))]}
        )
    if len(rows) >= MAX_FIELDS:
        raise Conflict(
            N_("A record type has at most %(count)s custom fields."), params={"count": MAX_FIELDS}
        )
    others = [definition_dict(r) for r in rows if r.removed_at is None]
    errors = check_definition(record_type, data, others, [s.key for s in sections], record_types)
    if errors:
        raise ValidationFailed(SOME_FIELDS, errors=errors)
    position = 1 + max((r.position for r in rows if r.section == data["section"]), default=0)
    row = FieldDefinition(record_type=record_type.key, position=position, **data)
    session.add(row)
    session.flush()
    _grant_new_field(session, record_type, row)
    audit.record(session, "field.create", "field", str(row.id), _audited(row))
    return row


def update_field(
    session: Session,
    record_type: RecordType,
    key: str,
    values: Mapping[str, Any],
    *,
    record_types: Sequence[str],
) -> FieldDefinition:
    """Change a custom field's definition; its key and kind stay (stored values depend on
    them: to change a kind, add a new field)."""
    row = _find(session, record_type.key, key)
    current = definition_dict(row)
    for fixed in ("key", "kind"):
        if fixed in values and values[fixed] != current[fixed]:
            raise ValidationFailed(
                SOME_FIELDS,
                errors={
                    fixed: [message(N_("A field's key and kind cannot change; add a new field."))]
                },
            )
    data = load_definition({**current, **values})
    sections, rows = working_rows(session, record_type.key)
    others = [definition_dict(r) for r in rows if r.removed_at is None and r.key != key]
    errors = check_definition(record_type, data, others, [s.key for s in sections], record_types)
    if errors:
        raise ValidationFailed(SOME_FIELDS, errors=errors)
    before = _audited(row)
    for name, value in data.items():
        setattr(row, name, value)
    session.flush()
    diff = audit.changes(before, _audited(row))
    if diff:
        audit.record(session, "field.update", "field", str(row.id), {"key": key, **diff})
    return row


def remove_field(session: Session, record_type: RecordType, key: str) -> FieldDefinition:
    """Hide the field from the next published version on; stored values are kept. Refused
    while another field's condition or formula names it."""
    row = _find(session, record_type.key, key)
    if row.removed_at is not None:
        return row
    layout = draft_layout(session, record_type.key)
    users = [
        f["key"]
        for f in layout["fields"]
        if f["key"] != key
        and re.search(rf"\b{re.escape(key)}\b", f"{f['condition']} {f['expression']}")
    ]
    if users:
        raise Conflict(
            N_("Fields %(fields)s use this field in a condition or formula; change them first."),
            params={"fields": ", ".join(users)},
        )
    from loandesk.db import utcnow

    row.removed_at = utcnow()
    session.flush()
    audit.record(session, "field.remove", "field", str(row.id), {"key": key})
    return row


def restore_field(session: Session, record_type: RecordType, key: str) -> FieldDefinition:
    row = _find(session, record_type.key, key)
    if row.removed_at is None:
        return row
    row.removed_at = None
    session.flush()
    audit.record(session, "field.restore", "field", str(row.id), {"key": key})
    return row


# --- sections and order -------------------------------------------------------------------


class SectionSchema(ma.Schema):
    key = ma.fields.String(
        required=True,
        validate=validate.Regexp(KEY_PATTERN, error="Use lowercase letters, digits and _."),
    )
    label_zh = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))
    label_en = ma.fields.String(required=True, validate=validate.Length(min=1, max=60))


def save_section(
    session: Session, record_type: RecordType, values: Mapping[str, Any]
) -> FormSection:
    """Add a section, or rename the one with this key."""
    try:
        data = SectionSchema().load(values)
    except ma.ValidationError as problem:
        raise _failed(problem.messages) from None  # type: ignore[arg-type]
    sections, _ = working_rows(session, record_type.key)
    row = next((s for s in sections if s.key == data["key"]), None)
    if row is None:
        row = FormSection(
            record_type=record_type.key,
            position=1 + max((s.position for s in sections), default=0),
            **data,
        )
        session.add(row)
        action = "form.section_create"
    else:
        row.label_zh, row.label_en = data["label_zh"], data["label_en"]
        action = "form.section_update"
    session.flush()
    audit.record(session, action, "form", record_type.key, data)
    return row


def delete_section(session: Session, record_type: RecordType, key: str) -> None:
    """Delete an empty section (fields must be moved out first, removed ones included)."""
    sections, rows = working_rows(session, record_type.key)
    row = next((s for s in sections if s.key == key), None)
    if row is None:
        raise NotFound(N_("No such section."))
    if any(r.section == key for r in rows):
        raise Conflict(N_("Move this section's fields to another section first."))
    session.delete(row)
    session.flush()
    audit.record(session, "form.section_delete", "form", record_type.key, {"key": key})


def arrange(session: Session, record_type: RecordType, layout: Sequence[Mapping[str, Any]]) -> None:
    """Order sections and the custom fields in them, as the form builder's drag and drop
    left them: ``[{"section": key, "fields": [key, ...]}, ...]`` (``""``: the basic section,
    always first). Fields not named keep their place."""
    sections, rows = working_rows(session, record_type.key)
    by_key = {r.key: r for r in rows}
    section_rows = {s.key: s for s in sections}
    errors: dict[str, list[str]] = {}
    for entry in layout:
        section = entry.get("section", "")
        if section != BASIC_SECTION and section not in section_rows:
            errors.setdefault("layout", []).append(
                message(N_("No such section: %(key)s."), key=section)
            )
        for key in entry.get("fields", ()):
            if key not in by_key:
                errors.setdefault("layout", []).append(
                    message(N_("No such field: %(key)s."), key=key)
                )
    if errors:
        raise ValidationFailed(SOME_FIELDS, errors=errors)
    position = 0
    for entry in layout:
        section = entry.get("section", "")
        if section in section_rows:
            position += 1
            section_rows[section].position = position
        for index, key in enumerate(entry.get("fields", ()), start=1):
            by_key[key].section = section
            by_key[key].position = index
    session.flush()
    audit.record(session, "form.arrange", "form", record_type.key, {"layout": list(layout)})


# --- publishing ---------------------------------------------------------------------------


def publish(
    session: Session,
    record_type: RecordType,
    *,
    user_id: uuid.UUID | None,
    note: str = "",
    record_types: Sequence[str] | None = None,
) -> FormVersion:
    """Make the working copy the form in force, as version n + 1. Every definition is checked
    again against the whole form first (a condition may name a field removed since).
    ``record_types`` (what link fields may name) defaults to those of the current tenant's
    enabled plugins; ``loandesk tenant apply``, which may enable plugins in its own
    transaction, passes its own."""
    layout = draft_layout(session, record_type.key)
    errors: dict[str, list[str]] = {}
    section_keys = [s["key"] for s in layout["sections"]]
    if record_types is None:
        from loandesk.plugins import runtime

        record_types = [t.key for t in runtime.record_types()]
    for data in layout["fields"]:
        for field, found in check_definition(
            record_type, data, layout["fields"], section_keys, record_types
        ).items():
            errors[f"{data['key']}.{field}"] = found
    if errors:
        raise ValidationFailed(N_("Some fields of the form need attention."), errors=errors)
    previous = latest_version(session, record_type.key)
    if previous is not None and previous.layout == layout:
        raise Conflict(
            N_("Nothing changed since version %(number)s."), params={"number": previous.number}
        )
    number = (previous.number if previous else 0) + 1
    version = FormVersion(
        record_type=record_type.key,
        number=number,
        layout=layout,
        note=note[:200],
        published_by_id=user_id,
    )
    session.add(version)
    session.flush()
    before = {f["key"] for f in previous.layout["fields"]} if previous else set()
    after = {f["key"] for f in layout["fields"]}
    audit.record(
        session,
        "form.publish",
        "form",
        record_type.key,
        {"version": number, "added": sorted(after - before), "hidden": sorted(before - after)},
    )
    emit(
        session, "form.published", "form", None, {"record_type": record_type.key, "version": number}
    )
    searchable_before = (
        {f["key"] for f in previous.layout["fields"] if f["searchable"]} if previous else set()
    )
    searchable_after = {f["key"] for f in layout["fields"] if f["searchable"]}
    if searchable_before != searchable_after:
        from loandesk.fields import search_values

        search_values.schedule(session)
    from loandesk.fields.current import forget

    forget()
    return version


def versions(session: Session, record_type: str) -> list[FormVersion]:
    return list(
        session.scalars(
            select(FormVersion)
            .where(FormVersion.record_type == record_type)
            .order_by(FormVersion.number.desc())
        )
    )


def has_unpublished_changes(session: Session, record_type: str) -> bool:
    previous = latest_version(session, record_type)
    layout = draft_layout(session, record_type)
    if previous is None:
        return bool(layout["fields"] or layout["sections"])
    return bool(previous.layout != layout)


def field_count(session: Session, record_type: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(FieldDefinition)
            .where(FieldDefinition.record_type == record_type)
        )
        or 0
    )


# --- helpers ------------------------------------------------------------------------------


def _grant_new_field(session: Session, record_type: RecordType, row: FieldDefinition) -> None:
    """Roles with access to the record type get a new field as they get its kin: a personal
    kind (mobile, ID number, bank card) as they get the built-in field of that kind (else
    their weakest personal field; else masked, or edit where they edit); any other kind "edit"
    where they may edit some field, "view" otherwise. Roles export it where they export its
    kin. Admins refine this in the role's field matrix."""
    from collections import Counter

    personal = row.kind in ENCRYPTED_KINDS
    same_kind = [f.key for f in record_type.builtin_fields if f.kind == row.kind]
    personal_builtins = [f.key for f in record_type.builtin_fields if f.encrypted]
    plain_builtins = [
        f.key for f in record_type.builtin_fields if not f.encrypted and not f.read_only
    ]
    grants = session.scalars(
        select(RoleRecordAccess).where(RoleRecordAccess.record_type == record_type.key)
    ).all()
    for grant in grants:
        fields = dict(grant.fields)
        if not fields:
            continue
        edits = "edit" in fields.values()
        kin = [k for k in (same_kind or personal_builtins) if k in fields] if personal else []
        if personal and (same_kind or personal_builtins):
            if not kin:
                continue  # the role sees none of the record's personal data
            level = min((fields[k] for k in kin), key=ACCESS_LEVELS.index)
        elif personal:
            level = "edit" if edits else "masked"
        else:
            counts = Counter(fields.get(k, "hidden") for k in plain_builtins) or Counter(["view"])
            top = max(counts.values())
            level = min((lv for lv, n in counts.items() if n == top), key=ACCESS_LEVELS.index)
        if level == "hidden":
            continue
        if level == "edit" and row.kind == "computed":
            level = "view"
        grant.fields = {**fields, row.key: level}
        exports = kin if personal else list(grant.export)
        if grant.export and level != "hidden" and any(k in grant.export for k in exports):
            grant.export = [*grant.export, row.key]
    session.flush()


def _audited(row: FieldDefinition) -> dict[str, Any]:
    data = definition_dict(row)
    data["removed"] = row.removed_at is not None
    return data


def spec_for(session: Session, record_type: RecordType, key: str) -> Any:
    return spec_of(_find(session, record_type.key, key))


def tenant_id() -> uuid.UUID | None:
    return current_id()
