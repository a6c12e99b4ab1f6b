"""A record type's form as a tenant has it: the built-in fields its plugin declares, the
tenant's custom fields, the sections they are grouped in, and the conditions that show them.

``Form`` is what every adapter works with (validation, web forms, detail pages, lists,
import); it is built from the published ``FormVersion`` (``published_form``), or from the
working copy for the form builder's preview (``draft_form``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.expressions import Expression, ExpressionError, compile_expression
from loandesk.fields.models import FieldDefinition, FormSection, FormVersion
from loandesk.fields.registry import ENCRYPTED_KINDS, FieldSpec, RecordType

BASIC_SECTION = ""  # the section built-in fields are in, first on every form
# Kinds an expression may not name: personal data is not decrypted to decide a condition,
# and an attachment has no value to compare.
NOT_IN_EXPRESSIONS = (*ENCRYPTED_KINDS, "attachment", "name")


@dataclass(frozen=True)
class Section:
    key: str
    label_zh: str
    label_en: str
    fields: tuple[str, ...]

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en


@dataclass(frozen=True)
class Form:
    """``record_type`` carries built-in and custom fields (custom ones after the built-ins);
    ``sections`` order them; ``version`` is the published version (None: none published yet,
    or a draft)."""

    record_type: RecordType
    sections: tuple[Section, ...]
    version: int | None = None

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return self.record_type.fields

    @property
    def custom_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.custom)

    def field(self, key: str) -> FieldSpec:
        return self.record_type.field(key)

    def has(self, key: str) -> bool:
        return key in self.record_type.field_keys

    def ordered(self) -> list[FieldSpec]:
        """Every field, section by section."""
        return [self.field(key) for section in self.sections for key in section.fields]

    @cached_property
    def schemas(self) -> dict[tuple[str, ...], Any]:
        """Marshmallow schemas of this form, by the fields they check (validation.py)."""
        return {}

    @cached_property
    def expression_kinds(self) -> dict[str, str]:
        """What expressions may name: fields and the kinds of their values."""
        return {
            f.key: f.value_kind
            for f in self.fields
            if f.kind not in NOT_IN_EXPRESSIONS and not f.encrypted
        }

    @cached_property
    def conditions(self) -> dict[str, Expression]:
        """Compiled conditions; one that no longer compiles (a field it names was removed)
        hides its field, which is safer than showing and requiring it."""
        compiled: dict[str, Expression] = {}
        for spec in self.fields:
            if spec.condition:
                try:
                    compiled[spec.key] = compile_expression(spec.condition, self.expression_kinds)
                except ExpressionError:
                    compiled[spec.key] = compile_expression("false", {})
        return compiled

    @cached_property
    def formulas(self) -> list[tuple[FieldSpec, Expression]]:
        """Computed fields in an order where each comes after the computed fields it uses."""
        pending = {
            f.key: compile_expression(f.expression, self.expression_kinds)
            for f in self.fields
            if f.computed and f.expression
        }
        ordered: list[tuple[FieldSpec, Expression]] = []
        while pending:
            ready = [k for k, e in pending.items() if not (e.names & (set(pending) - {k}))]
            if not ready:  # a cycle: publishing refuses one, so this is stored data gone bad
                break
            for key in ready:
                ordered.append((self.field(key), pending.pop(key)))
        return ordered

    def shown(self, values: Mapping[str, Any]) -> set[str]:
        """The fields whose condition holds for ``values`` (or that have none)."""
        return {
            f.key
            for f in self.fields
            if f.key not in self.conditions or self.conditions[f.key].holds(values)
        }


def spec_of(row: FieldDefinition | Mapping[str, Any]) -> FieldSpec:
    """A custom field's ``FieldSpec`` from its definition (a row, or a published snapshot)."""
    data = definition_dict(row) if isinstance(row, FieldDefinition) else row
    rules = data.get("rules") or {}
    options = tuple(
        (str(o["value"]), str(o["label_zh"]), str(o["label_en"])) for o in rules.get("options", ())
    )
    return FieldSpec(
        key=data["key"],
        label_zh=data["label_zh"],
        label_en=data["label_en"],
        kind=data["kind"],
        required=bool(data.get("required")),
        options=options,
        read_only=data["kind"] == "computed",
        custom=True,
        help_zh=data.get("help_zh", ""),
        help_en=data.get("help_en", ""),
        default=data.get("default"),
        minimum=rules.get("minimum"),
        maximum=rules.get("maximum"),
        min_length=rules.get("min_length"),
        max_length=rules.get("max_length"),
        pattern=rules.get("pattern"),
        places=rules.get("places"),
        section=data.get("section", ""),
        condition=data.get("condition", ""),
        expression=data.get("expression", ""),
        result=rules.get("result"),
        link_type=rules.get("link_type"),
        accept=rules.get("accept"),
        searchable=bool(data.get("searchable")),
    )


def definition_dict(row: FieldDefinition) -> dict[str, Any]:
    """A definition as published (and as the API and bundles show it)."""
    return {
        "key": row.key,
        "kind": row.kind,
        "label_zh": row.label_zh,
        "label_en": row.label_en,
        "help_zh": row.help_zh,
        "help_en": row.help_en,
        "required": row.required,
        "default": row.default,
        "rules": dict(row.rules or {}),
        "section": row.section,
        "condition": row.condition,
        "expression": row.expression,
        "searchable": row.searchable,
    }


def section_dict(row: FormSection) -> dict[str, Any]:
    return {"key": row.key, "label_zh": row.label_zh, "label_en": row.label_en}


def build(
    record_type: RecordType,
    sections: Iterable[Mapping[str, Any]],
    fields: Iterable[Mapping[str, Any]],
    version: int | None = None,
) -> Form:
    """The form of ``record_type`` with these sections and custom fields (in order)."""
    specs = tuple(spec_of(f) for f in fields if f["key"] not in record_type.field_keys)
    full = record_type.with_fields(specs)
    known = [s["key"] for s in sections]
    grouped: dict[str, list[str]] = {BASIC_SECTION: list(record_type.field_keys)}
    for key in known:
        grouped.setdefault(key, [])
    for spec in specs:
        grouped[spec.section if spec.section in known else BASIC_SECTION].append(spec.key)
    basic = Section(BASIC_SECTION, "基本信息", "Basic information", tuple(grouped[BASIC_SECTION]))
    built = [basic] + [
        Section(s["key"], s["label_zh"], s["label_en"], tuple(grouped[s["key"]])) for s in sections
    ]
    return Form(full, tuple(built), version)


def latest_version(session: Session, record_type: str) -> FormVersion | None:
    return session.scalar(
        select(FormVersion)
        .where(FormVersion.record_type == record_type)
        .order_by(FormVersion.number.desc())
        .limit(1)
    )


def published_form(session: Session, record_type: RecordType) -> Form:
    """The form in force for the current tenant: its latest published version (built-in
    fields only while none is published)."""
    version = latest_version(session, record_type.key)
    if version is None:
        return build(record_type, (), ())
    layout = version.layout
    return build(record_type, layout.get("sections", ()), layout.get("fields", ()), version.number)


def working_rows(
    session: Session, record_type: str
) -> tuple[list[FormSection], list[FieldDefinition]]:
    sections = session.scalars(
        select(FormSection)
        .where(FormSection.record_type == record_type)
        .order_by(FormSection.position, FormSection.key)
    ).all()
    fields = session.scalars(
        select(FieldDefinition)
        .where(FieldDefinition.record_type == record_type)
        .order_by(FieldDefinition.position, FieldDefinition.key)
    ).all()
    return list(sections), list(fields)


def draft_layout(session: Session, record_type: str) -> dict[str, Any]:
    """What publishing now would publish: sections in order and fields not removed, ordered
    by section, then position."""
    sections, fields = working_rows(session, record_type)
    order = {BASIC_SECTION: -1, **{s.key: i for i, s in enumerate(sections)}}
    live = [f for f in fields if f.removed_at is None]
    live.sort(key=lambda f: (order.get(f.section, -1), f.position, f.key))
    return {
        "sections": [section_dict(s) for s in sections],
        "fields": [definition_dict(f) for f in live],
    }


def draft_form(session: Session, record_type: RecordType) -> Form:
    """The working copy as a form (the form builder's preview)."""
    layout = draft_layout(session, record_type.key)
    return build(record_type, layout["sections"], layout["fields"])
