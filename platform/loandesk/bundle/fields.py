"""Custom fields and forms in a bundle: ``fields/<record type>.yaml`` for each record type
with custom fields or sections (see tenants/README.md).

A file holds the working copy: sections in order, every custom field in form order (section
by section) with its whole definition, removed ones marked ``removed: true`` (records keep
their values, so the definition stays), and whether the working copy is published. Nothing
that differs between tenants for the same form (ids, version numbers, times) is written, so
an export applied to another tenant exports to the same bytes.

Checking runs every definition through ``loandesk.fields.definitions.check_definition``
against the bundle's own fields; applying goes through the form builder's service functions
(define, update, remove, restore, sections, arrange, publish), each validated and audited.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from loandesk.bundle.model import fields_file_name, record_type_of
from loandesk.expressions import ExpressionError, compile_expression
from loandesk.fields import definitions
from loandesk.fields.forms import (
    BASIC_SECTION,
    build,
    definition_dict,
    latest_version,
    section_dict,
    spec_of,
    working_rows,
)
from loandesk.fields.models import FieldDefinition, FormSection
from loandesk.fields.registry import RecordType

Change = Callable[..., Any]  # ``_Run.change``: (file, path, summary, do, *args, **kw)


# --- export -------------------------------------------------------------------------------


def ordered_rows(
    session: Session, record_type: str
) -> tuple[list[FormSection], list[FieldDefinition]]:
    """Sections in order, and every custom field (removed ones too) in form order: the basic
    section first, then section by section, by position."""
    sections, rows = working_rows(session, record_type)
    order = {BASIC_SECTION: -1, **{s.key: i for i, s in enumerate(sections)}}
    rows.sort(key=lambda r: (order.get(r.section, -1), r.position, r.key))
    return sections, rows


def export_files(session: Session, record_types: Sequence[RecordType]) -> dict[str, dict[str, Any]]:
    """A file for each record type with custom fields or sections, by file name."""
    files: dict[str, dict[str, Any]] = {}
    for record_type in sorted(record_types, key=lambda t: t.key):
        sections, rows = ordered_rows(session, record_type.key)
        if not sections and not rows:
            continue
        files[fields_file_name(record_type.key)] = {
            "published": not definitions.has_unpublished_changes(session, record_type.key),
            "sections": [section_dict(s) for s in sections],
            "fields": [_entry(r) for r in rows],
        }
    return files


def _entry(row: FieldDefinition) -> dict[str, Any]:
    data = definition_dict(row)
    if row.removed_at is None:
        return data
    return {"key": data.pop("key"), "removed": True, **data}  # seen first when reading


def with_custom_fields(session: Session, record_type: RecordType) -> RecordType:
    """``record_type`` with every custom field of the working copy, removed ones too (a role's
    grant on a removed field is kept for when it is restored), in bundle order."""
    _, rows = ordered_rows(session, record_type.key)
    return record_type.with_fields(tuple(spec_of(r) for r in rows))


# --- check --------------------------------------------------------------------------------


def record_types_after(
    session: Session, bundle: Mapping[str, Mapping[str, Any]], declared: Sequence[RecordType]
) -> dict[str, RecordType]:
    """The enabled record types as they will be once the bundle is applied: with the
    bundle's custom fields where it has a file for them (and the tenant's fields it does not
    name: they stay, removed), else with the tenant's."""
    found: dict[str, RecordType] = {}
    for record_type in declared:
        data = bundle.get(fields_file_name(record_type.key))
        tenants = with_custom_fields(session, record_type)
        if data is None:
            found[record_type.key] = tenants
            continue
        specs = {
            f["key"]: spec_of(_definition(f))
            for f in data["custom_fields"]
            if f["key"] not in record_type.field_keys
        }
        kept = tuple(f for f in tenants.fields if f.custom and f.key not in specs)
        found[record_type.key] = record_type.with_fields((*specs.values(), *kept))
    return found


def problems(
    session: Session, bundle: Mapping[str, Mapping[str, Any]], declared: Sequence[RecordType]
) -> Iterator[str]:
    """What is wrong with the bundle's fields files; ``declared``: the record types of the
    plugins enabled once the bundle is applied."""
    by_key = {t.key: t for t in declared}
    for name, data in bundle.items():
        type_key = record_type_of(name)
        if type_key is None:
            continue
        record_type = by_key.get(type_key)
        if record_type is None:
            yield f"{name}: (top): unknown record type {type_key!r}, or its plugin is not enabled"
            continue
        yield from _file_problems(session, name, record_type, data, sorted(by_key))


def _file_problems(
    session: Session,
    name: str,
    record_type: RecordType,
    data: Mapping[str, Any],
    record_type_keys: Sequence[str],
) -> Iterator[str]:
    sections = [s["key"] for s in data["sections"]]
    for index, key in enumerate(sections):
        if key in sections[:index]:
            yield f"{name}: sections[{index}].key: section {key!r} appears twice"
    fields = data["custom_fields"]
    keys = [f["key"] for f in fields]
    _, rows = working_rows(session, record_type.key)
    stored = {r.key: r for r in rows}
    every = [_definition(f) for f in fields]
    # Fields in use are checked as publishing checks them (against fields in use); a removed
    # one is briefly in use while it is created, so against every field of the bundle.
    live = [d for d, f in zip(every, fields, strict=True) if not f["removed"]]
    for index, field in enumerate(fields):
        where, key = f"{name}: fields[{index}]", field["key"]
        if key in keys[:index]:
            yield f"{where}.key: field {key!r} appears twice"
            continue
        row = stored.get(key)
        if row is not None and row.kind != field["kind"]:
            yield (
                f"{where}.kind: {key!r} is a {row.kind} field in this tenant; a field's kind"
                " cannot change (add a new field)"
            )
            continue
        others = every if field["removed"] else live
        found = definitions.check_definition(
            record_type, every[index], others, sections, record_type_keys
        )
        for attribute, messages in found.items():
            for text in messages:
                yield f"{where}.{attribute}: {text} (field {key!r})"


def _definition(field: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in field.items() if k != "removed"}


# --- apply --------------------------------------------------------------------------------


def apply_file(
    change: Change,
    session: Session,
    name: str,
    record_type: RecordType,
    data: Mapping[str, Any],
    record_types: Sequence[str],
) -> None:
    """Make the working copy of ``record_type`` what file ``name`` says, and publish it when
    it says so and the form in force differs. Fields the file does not name are removed
    (never deleted: records hold their values); sections it does not name are deleted."""
    _Form(change, session, name, record_type, record_types).apply(data)


class _Form:
    def __init__(
        self,
        change: Change,
        session: Session,
        name: str,
        record_type: RecordType,
        record_types: Sequence[str],
    ) -> None:
        self.change, self.session, self.name = change, session, name
        self.record_type, self.record_types = record_type, list(record_types)

    def apply(self, data: Mapping[str, Any]) -> None:
        self.sections(data["sections"])
        deferred = self.fields(data["custom_fields"])
        for index, condition in deferred.items():
            self.do(
                f"fields[{index}]",
                "set condition",
                definitions.update_field,
                data["custom_fields"][index]["key"],
                {"condition": condition},
                record_types=self.record_types,
            )
        self.removals(data["custom_fields"])
        self.arrange(data["sections"], data["custom_fields"])
        if data["published"] and definitions.has_unpublished_changes(
            self.session, self.record_type.key
        ):
            latest = latest_version(self.session, self.record_type.key)
            number = (latest.number if latest else 0) + 1
            self.do(
                "published",
                f"publish version {number}",
                definitions.publish,
                user_id=None,
                record_types=self.record_types,
            )

    def do(
        self, path: str, summary: str, service: Callable[..., Any], *args: Any, **kw: Any
    ) -> Any:
        return self.change(
            self.name, path, summary, service, self.session, self.record_type, *args, **kw
        )

    def sections(self, wanted: Sequence[Mapping[str, Any]]) -> None:
        stored = {s.key: s for s in working_rows(self.session, self.record_type.key)[0]}
        for index, section in enumerate(wanted):
            row = stored.get(section["key"])
            if row is None:
                summary = f"create section {section['key']!r}"
            elif section_dict(row) != dict(section):
                summary = f"rename section {section['key']!r}"
            else:
                continue
            self.do(f"sections[{index}]", summary, definitions.save_section, dict(section))

    def fields(self, wanted: Sequence[Mapping[str, Any]]) -> dict[int, str]:
        """Create, restore and update the fields the file names, each after the fields its
        condition and formula name; the conditions left to set once all exist, by index."""
        rows = {r.key: r for r in working_rows(self.session, self.record_type.key)[1]}
        live = {key for key, row in rows.items() if row.removed_at is None}
        order, waiting = _dependency_order(self.record_type, wanted)
        deferred: dict[int, str] = {}
        for index in order:
            field, path = wanted[index], f"fields[{index}]"
            row = rows.get(field["key"])
            if (
                row is not None
                and row.removed_at is not None
                and field["removed"]
                and definition_dict(row) == _definition(field)
            ):
                continue  # removed, as the file has it
            want = _definition(field)
            if waiting.get(index, set()) - live:
                deferred[index], want["condition"] = want["condition"], ""
            live.add(field["key"])
            if row is None:
                summary = f"create field {field['key']!r} ({field['kind']})"
                self.do(
                    path, summary, definitions.define_field, want, record_types=self.record_types
                )
                continue
            if row.removed_at is not None:
                # back in use to be changed (and removed again below when the file says so)
                self.do(
                    path, f"restore field {field['key']!r}", definitions.restore_field, field["key"]
                )
            current = definition_dict(row)
            differs = sorted(k for k, v in want.items() if current[k] != v)
            if differs:
                self.do(
                    path,
                    "update " + ", ".join(differs),
                    definitions.update_field,
                    field["key"],
                    {k: want[k] for k in differs},
                    record_types=self.record_types,
                )
        return deferred

    def removals(self, wanted: Sequence[Mapping[str, Any]]) -> None:
        """Remove what the file marks removed or does not name, each before the fields its
        condition or formula names (removing a field in use by another is refused)."""
        index = {f["key"]: i for i, f in enumerate(wanted)}
        rows = working_rows(self.session, self.record_type.key)[1]
        going = [
            r
            for r in rows
            if r.removed_at is None and (r.key not in index or wanted[index[r.key]]["removed"])
        ]
        while going:
            named = {
                n for r in going for n in _identifiers(f"{r.condition} {r.expression}") - {r.key}
            }
            row = next((r for r in going if r.key not in named), going[0])
            going.remove(row)
            if row.key in index:
                path, summary = f"fields[{index[row.key]}]", f"remove field {row.key!r}"
            else:
                path, summary = "fields", f"remove field {row.key!r} (not in the bundle)"
            self.do(path, summary, definitions.remove_field, row.key)

    def arrange(
        self, sections: Sequence[Mapping[str, Any]], fields: Sequence[Mapping[str, Any]]
    ) -> None:
        """Order sections and fields as the file lists them; fields it does not name (removed
        above) stay at the end of their section, or of the basic one when their section goes."""
        stored, rows = ordered_rows(self.session, self.record_type.key)
        kept = [s["key"] for s in sections]
        listed = {f["key"] for f in fields}
        others = [r for r in rows if r.key not in listed]
        layout = [
            {
                "section": section,
                "fields": [f["key"] for f in fields if f["section"] == section]
                + [r.key for r in others if r.section == section],
            }
            for section in (BASIC_SECTION, *kept)
        ]
        layout[0]["fields"] += [
            r.key for r in others if r.section != BASIC_SECTION and r.section not in kept
        ]
        current = [
            {"section": section, "fields": [r.key for r in rows if r.section == section]}
            for section in (BASIC_SECTION, *(s.key for s in stored if s.key in kept))
        ]
        if current != layout:
            self.do("fields", "order sections and fields as listed", definitions.arrange, layout)
        for section in stored:
            if section.key not in kept:
                summary = f"delete section {section.key!r} (not in the bundle)"
                self.do("sections", summary, definitions.delete_section, section.key)


def _dependency_order(
    record_type: RecordType, fields: Sequence[Mapping[str, Any]]
) -> tuple[list[int], dict[int, set[str]]]:
    """Indexes of ``fields`` so that each comes after the fields of the bundle its condition
    and formula name (a service refuses a name that does not exist yet); and where that
    cannot be (conditions may name each other in a circle, formulas may not: checking
    refused that), the fields a condition names that may come later, by index."""
    kinds = build(record_type, [], [_definition(f) for f in fields]).expression_kinds
    keys = {f["key"]: i for i, f in enumerate(fields)}

    def needs(text: str, own: str) -> set[int]:
        return {keys[n] for n in _names(text, kinds) if n in keys and n != own}

    formula = [needs(f["expression"], f["key"]) for f in fields]
    condition = [needs(f["condition"], f["key"]) for f in fields]
    order: list[int] = []
    waiting: dict[int, set[str]] = {}
    pending = list(range(len(fields)))
    while pending:
        done = set(order)
        ready = [i for i in pending if formula[i] | condition[i] <= done]
        if not ready:  # a circle of conditions: the first that can wait for its condition
            first = next((i for i in pending if formula[i] <= done), pending[0])
            waiting[first] = {fields[i]["key"] for i in condition[first] - done}
            ready = [first]
        for i in ready:
            order.append(i)
            pending.remove(i)
    return order, waiting


def _names(text: str, kinds: Mapping[str, str]) -> frozenset[str]:
    if not text.strip():
        return frozenset()
    try:
        return compile_expression(text, kinds).names
    except ExpressionError:
        return _identifiers(text)


def _identifiers(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\b[a-z][a-z0-9_]*\b", text))
