"""Excel exports of records: only the fields the user may export, masked where their field
permission says so, under their data scope (the caller's query). The caller audits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from loandesk.fields.registry import FieldSpec
from loandesk.imports import sheets
from loandesk.pii.keys import Keyring
from loandesk.rbac.access import RecordAccess


def workbook(
    access: RecordAccess,
    records: Iterable[Any],
    keys: Keyring,
    *,
    locale: str,
    timezone: str,
    translate: Callable[[str], str],
    names: Mapping[str, Mapping[uuid.UUID, str]] | None = None,
) -> tuple[bytes, list[FieldSpec], int]:
    """The workbook, the fields it holds and its row count. ``names`` gives display names of
    user and org-unit values by field key. ``Forbidden`` when the user may export nothing."""
    fields = access.export_fields()
    zone = ZoneInfo(timezone)
    yes, no = sheets.yes_no(locale)
    names = names or {}
    count = 0

    def cell(spec: FieldSpec, value: Any) -> Any:
        if value is None or (isinstance(value, str) and spec.kind not in ("select",)):
            return value
        kind = spec.value_kind
        if kind == "select":
            return spec.option_label(value, locale)
        if kind == "multi_select" and isinstance(value, list):
            return "、".join(spec.option_label(v, locale) for v in value)
        if kind == "boolean":
            return yes if value else no
        if isinstance(value, uuid.UUID):
            return names.get(spec.key, {}).get(value, str(value))
        if isinstance(value, datetime):
            return value.astimezone(zone).replace(tzinfo=None)
        return value

    def rows() -> Iterable[list[Any]]:
        nonlocal count
        for record in records:
            values = access.present(record, keys, fields=fields)
            count += 1
            yield [cell(spec, values.get(spec.key)) for spec in fields]

    data = sheets.table(
        [spec.label(locale) for spec in fields],
        rows(),
        formats=[sheets.export_format(spec) for spec in fields],
    )
    return data, fields, count
