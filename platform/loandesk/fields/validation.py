"""The one validation path of a record's values (DESIGN §4): a marshmallow schema built from a
record type's form (built-in and custom fields) checks every write, from the API, a web form,
the Excel import or an automation, with field-level errors in the user's language.

``validate_record`` runs it: unknown fields, fields the user may not edit (403), each value
(``loandesk.fields.values.parse``), required fields whose condition holds, then computed
fields. It returns the clean values split into built-in and custom ones; ``store_custom``
writes the custom ones into the record's ``custom`` column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from flask import has_request_context
from flask_babel import gettext

from loandesk.errors import ValidationFailed
from loandesk.fields.forms import Form
from loandesk.fields.registry import FieldSpec
from loandesk.fields.values import (
    Context,
    Invalid,
    coerce_result,
    from_json,
    is_empty,
    parse,
    to_json,
)
from loandesk.i18n import N_
from loandesk.pii.keys import Keyring

SOME_FIELDS = N_("Some fields need attention.")


def message(text: str, **params: Any) -> str:
    """``text`` in the user's language when there is one (a request), else English."""
    if has_request_context():
        return gettext(text, **params)
    return text % params if params else text


# What parsing needs during one ``load`` (the request's checks of staff, records, files):
# schemas are built once per form and set of fields, so it cannot live in them.
_PARSE_CONTEXT: ContextVar[Context] = ContextVar("loandesk_parse_context")


class KindField(ma.fields.Field):
    """A marshmallow field whose values are those of a ``FieldSpec``'s kind."""

    def __init__(self, spec: FieldSpec, **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)
        self.spec = spec

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return parse(self.spec, value, _PARSE_CONTEXT.get(None))
        except Invalid as problem:
            raise ma.ValidationError(message(problem.message, **problem.params)) from None


def record_schema(form: Form, keys: Iterable[str]) -> ma.Schema:
    """The schema of the given fields of ``form`` (unknown keys raise); built once per form
    and set of fields (an import validates thousands of rows with one)."""
    wanted = tuple(keys)
    cache = form.schemas
    if wanted not in cache:
        fields: dict[str, ma.fields.Field] = {key: KindField(form.field(key)) for key in wanted}
        schema_class = ma.Schema.from_dict(fields, name=f"{form.record_type.key.title()}Values")
        cache[wanted] = schema_class(unknown=ma.RAISE)
    schema: ma.Schema = cache[wanted]
    return schema


@dataclass(frozen=True)
class Clean:
    builtin: dict[str, Any]
    custom: dict[str, Any]

    @property
    def all(self) -> dict[str, Any]:
        return {**self.builtin, **self.custom}


def validate_record(
    form: Form,
    values: Mapping[str, Any],
    *,
    existing: Mapping[str, Any] | None = None,
    access: Any = None,
    context: Context | None = None,
    writable: Iterable[str] | None = None,
) -> Clean:
    """Check ``values`` (field key -> raw value) as a write to a record of ``form``:
    ``existing`` holds the record's current values for an update (None: a new record).

    Raises ``Forbidden`` when ``access`` (a ``RecordAccess``) may not edit a given field,
    ``ValidationFailed`` (422) with an error per field otherwise; nothing is written by this
    function. ``writable`` limits which built-in fields a caller accepts (others: unknown).
    """
    context = context or Context()
    creating = existing is None
    existing = existing or {}
    errors: dict[str, list[str]] = {}
    accepted = set(writable) if writable is not None else None
    known: list[str] = []
    for key in values:
        if not form.has(key) or (
            accepted is not None and key not in accepted and not form.field(key).custom
        ):
            errors[key] = [message(N_("Unknown field."))]
        elif form.field(key).read_only:
            errors[key] = [message(N_("This field is set by the system; it cannot be entered."))]
        else:
            known.append(key)
    if access is not None:
        access.check_write(known)
    loaded: dict[str, Any] = {}
    token = _PARSE_CONTEXT.set(context)
    try:
        loaded = record_schema(form, known).load({k: values[k] for k in known})
    except ma.ValidationError as problem:
        for key, problems in _messages(problem.messages).items():
            errors[key] = problems
        valid: Any = problem.valid_data or {}
        loaded = {k: v for k, v in valid.items() if k not in errors}
    finally:
        _PARSE_CONTEXT.reset(token)
    merged = {**existing, **loaded}
    for spec, expression in form.formulas:
        merged[spec.key] = coerce_result(spec, expression.evaluate(merged))
    shown = form.shown(merged)
    before = form.shown(existing) if not creating else set()
    for spec in form.fields:
        if not spec.required or spec.read_only or spec.key in errors or spec.key not in shown:
            continue
        # A new record needs every required field shown; a change must not empty one, nor
        # reveal a required field (its condition now holds) without filling it.
        relevant = creating or spec.key in values or spec.key not in before
        if relevant and is_empty(merged.get(spec.key)):
            errors[spec.key] = [message(N_("This field is required."))]
    if errors:
        raise ValidationFailed(SOME_FIELDS, errors=errors)
    computed = {spec.key: merged[spec.key] for spec, _ in form.formulas}
    clean = {**loaded, **computed}
    return Clean(
        builtin={k: v for k, v in clean.items() if not form.field(k).custom},
        custom={k: v for k, v in clean.items() if form.field(k).custom},
    )


def _messages(found: Any) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(found, dict):
        for key, problems in found.items():
            if isinstance(problems, dict):
                problems = [str(p) for p in problems.values()]
            flat[str(key)] = (
                [str(p) for p in problems] if isinstance(problems, list) else [str(problems)]
            )
    return flat


def defaults(form: Form) -> dict[str, Any]:
    """The default values of a new record's custom fields, parsed as entered values are."""
    found: dict[str, Any] = {}
    for spec in form.custom_fields:
        if spec.default is not None and not spec.read_only:
            try:
                found[spec.key] = parse(spec, spec.default)
            except Invalid:
                continue
    return found


# --- storage ------------------------------------------------------------------------------


def _cipher(record: Any, keys: Keyring, spec: FieldSpec) -> Any:
    record_type = getattr(record, "__personal_record_type__", None) or record.__tablename__
    if record.tenant_id is None:
        record.tenant_id = keys.tenant_id
    if record.id is None:
        from loandesk.db import uuid7

        record.id = uuid7()

    def encrypt(value: str) -> dict[str, str]:
        token = keys.encrypt(
            value, record_type=record_type, field=f"custom.{spec.key}", record_id=record.id
        )
        digest = keys.search_hash(spec.kind, value)
        return {"c": token, "h": digest or ""}

    def decrypt(token: str) -> str:
        return keys.decrypt(
            token, record_type=record_type, field=f"custom.{spec.key}", record_id=record.id
        )

    return encrypt, decrypt


def store_custom(record: Any, form: Form, custom: Mapping[str, Any], keys: Keyring) -> None:
    """Write clean custom values into ``record.custom`` (a new dict, so the change is seen);
    values of fields not given, including removed fields, are kept."""
    stored = dict(record.custom or {})
    for key, value in custom.items():
        spec = form.field(key)
        encrypt, _ = _cipher(record, keys, spec)
        if value is None:
            stored.pop(key, None)
        else:
            stored[key] = to_json(spec, value, encrypt=encrypt)
    record.custom = stored


def read_custom(record: Any, spec: FieldSpec, keys: Keyring | None, *, decrypt: bool = True) -> Any:
    """One custom value of ``record`` (an encrypted kind decrypted only when ``decrypt``)."""
    raw = (record.custom or {}).get(spec.key)
    if raw is None:
        return None
    if spec.encrypted:
        if not decrypt or keys is None:
            return None
        _, decrypt_with = _cipher(record, keys, spec)
        return from_json(spec, raw, decrypt=decrypt_with)
    return from_json(spec, raw)


def current_values(record: Any, form: Form, read_builtin: Any) -> dict[str, Any]:
    """The values conditions and formulas see for ``record``: built-in fields read by
    ``read_builtin(spec)``, custom ones from JSON; personal data is not decrypted for this."""
    values: dict[str, Any] = {}
    for spec in form.fields:
        if spec.key not in form.expression_kinds:
            continue
        values[spec.key] = read_custom(record, spec, None) if spec.custom else read_builtin(spec)
    return values
