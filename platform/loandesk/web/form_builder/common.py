"""What the form builder's pages share: the record type in the URL, the working copy laid out
section by section as the builder shows it, and the labels of field kinds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import render_template
from flask_babel import get_locale
from sqlalchemy.orm import Session

from loandesk.fields.forms import BASIC_SECTION, working_rows
from loandesk.fields.models import FieldDefinition, FormSection
from loandesk.fields.registry import FieldSpec, RecordType
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.web.htmx import htmx

# What each kind is called in the builder (translated where shown).
KIND_LABELS = {
    "text": N_("Text"),
    "long_text": N_("Long text"),
    "integer": N_("Whole number"),
    "decimal": N_("Decimal number"),
    "money": N_("Amount of money"),
    "percent": N_("Percentage"),
    "date": N_("Date"),
    "datetime": N_("Date and time"),
    "select": N_("Choice (one)"),
    "multi_select": N_("Choice (several)"),
    "boolean": N_("Yes / no"),
    "mobile": N_("Mobile number"),
    "resident_id": N_("Resident ID number"),
    "bank_card": N_("Bank card number"),
    "email": N_("E-mail address"),
    "region": N_("Region (province, city, district)"),
    "attachment": N_("File or image"),
    "user": N_("Staff member"),
    "link": N_("Link to another record"),
    "computed": N_("Computed by a formula"),
    "name": N_("Name"),
    "address": N_("Address"),
    "org_unit": N_("Unit"),
}


def locale() -> str:
    return str(get_locale() or "zh")


def record_type_of(key: str) -> RecordType:
    """The enabled record type ``key`` (404 for one no enabled plugin brings)."""
    return plugin_runtime.record_type(key)


def record_type_keys() -> list[str]:
    return [t.key for t in plugin_runtime.record_types()]


@dataclass
class BuilderSection:
    """One section as the builder shows it: the basic section carries the plugin's built-in
    fields (fixed) before its custom ones; ``row`` is None for it."""

    key: str
    label_zh: str
    label_en: str
    row: FormSection | None
    builtin: tuple[FieldSpec, ...] = ()
    fields: list[FieldDefinition] = field(default_factory=list)

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en


def working_layout(session: Session, record_type: RecordType) -> list[BuilderSection]:
    """The working copy, section by section, removed fields in their places."""
    sections, rows = working_rows(session, record_type.key)
    basic = BuilderSection(
        BASIC_SECTION, "基本信息", "Basic information", None, record_type.builtin_fields
    )
    laid = [basic] + [BuilderSection(s.key, s.label_zh, s.label_en, s) for s in sections]
    by_key = {s.key: s for s in laid}
    for row in rows:  # already ordered by position
        by_key.get(row.section, basic).fields.append(row)
    return laid


def arrangement(layout: list[BuilderSection]) -> list[dict[str, Any]]:
    """``layout`` as ``definitions.arrange`` takes it."""
    return [{"section": s.key, "fields": [f.key for f in s.fields]} for s in layout]


def partial() -> bool:
    """Whether the request wants a fragment: htmx, but not a boosted link or form (whose
    answer replaces the whole page)."""
    return bool(htmx) and not htmx.boosted


def render_fragment_or_page(fragment: str, page: str, **context: Any) -> str:
    """The fragment for an htmx request, else the whole page that includes it."""
    return render_template(fragment if partial() else page, partial=partial(), **context)
