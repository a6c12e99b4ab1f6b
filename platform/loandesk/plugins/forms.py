"""A settings form described from a plugin's marshmallow schema, for the web page to render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from marshmallow import validate


def labels(zh: str, en: str, help_zh: str = "", help_en: str = "", **more: Any) -> dict[str, Any]:
    """A settings field's ``metadata`` as ``describe`` reads it: its label and help in both
    languages, and ``secret=True`` for a value stored encrypted and never shown again."""
    return {"label_zh": zh, "label_en": en, "help_zh": help_zh, "help_en": help_en, **more}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # text, email, url, number, decimal, checkbox, select, password
    required: bool
    help: str
    value: Any
    options: tuple[tuple[str, str], ...] = ()
    secret_set: bool = False


def describe(
    schema_class: type[ma.Schema], values: dict[str, Any], secrets_set: frozenset[str], locale: str
) -> list[FormField]:
    zh = locale.startswith("zh")
    fields = []
    for name, f in schema_class().fields.items():
        meta = f.metadata
        label = meta.get("label_zh" if zh else "label_en") or meta.get("label") or name
        help_text = meta.get("help_zh" if zh else "help_en") or meta.get("description") or ""
        choices = next((v.choices for v in _validators(f) if isinstance(v, validate.OneOf)), None)
        if meta.get("secret"):
            kind = "password"
        elif choices is not None:
            kind = "select"
        elif isinstance(f, ma.fields.Boolean):
            kind = "checkbox"
        elif isinstance(f, ma.fields.Email):
            kind = "email"
        elif isinstance(f, ma.fields.Url):
            kind = "url"
        elif isinstance(f, ma.fields.Integer):
            kind = "number"
        elif isinstance(f, ma.fields.Decimal | ma.fields.Float):
            kind = "decimal"
        else:
            kind = "text"
        value = values.get(name, f.load_default if f.load_default is not ma.missing else "")
        fields.append(
            FormField(
                name=name,
                label=str(label),
                kind=kind,
                required=bool(f.required),
                help=str(help_text),
                value=None if kind == "password" else value,
                options=tuple((str(c), str(c)) for c in choices or ()),
                secret_set=name in secrets_set,
            )
        )
    return fields


def _validators(field: ma.fields.Field) -> list[Any]:
    return list(getattr(field, "validators", []) or [])


def parse(schema_class: type[ma.Schema], form: dict[str, Any]) -> dict[str, Any]:
    """Form strings → raw values for the schema (checkboxes absent mean false)."""
    values: dict[str, Any] = {}
    for name, f in schema_class().fields.items():
        if isinstance(f, ma.fields.Boolean):
            values[name] = form.get(name) == "on"
        elif name in form:
            raw = form[name]
            values[name] = (
                None if raw == "" and not f.required and not f.metadata.get("secret") else raw
            )
    return values
