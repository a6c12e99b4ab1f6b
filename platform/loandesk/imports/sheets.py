"""Workbooks (.xlsx, openpyxl): the import template of a record type, reading an uploaded
sheet back into field keys and cell values, the workbook of rejected rows, and exports.

A template's first row holds the headers in the user's language (a required field marked
``*``), its second row, hidden, the field keys: a sheet whose headers were translated or
renamed still maps back to its fields. A sheet without the keys row is matched by its headers
(Chinese or English labels). Data starts on the row after.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

# openpyxl is imported where a workbook is built or read, not with this module: it imports
# numpy whenever numpy is installed (scikit-learn brings it), and every process would pay for
# it at start-up
if TYPE_CHECKING:
    from openpyxl import Workbook

from loandesk.fields.registry import FieldSpec
from loandesk.i18n import N_

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REQUIRED_MARK = " *"
DATA_SHEET = "data"
KEYS_MARKER = "#keys"  # first cell of the hidden keys row, so it is found even if moved
TEMPLATE_ROWS = 5000  # rows that carry the drop-downs and formats in a template
MAX_UNPACKED = 400 * 1024 * 1024  # an .xlsx unpacking to more is refused (a zip bomb)
TEXT = "@"
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Kinds typed as text: Excel would turn long digit strings (ID and card numbers) into floats.
TEXT_KINDS = ("mobile", "resident_id", "bank_card", "text", "long_text", "name", "address")

KIND_NAMES = {
    "text": N_("Text"),
    "long_text": N_("Long text"),
    "name": N_("Name"),
    "address": N_("Address"),
    "integer": N_("Whole number"),
    "decimal": N_("Number"),
    "money": N_("Amount (yuan)"),
    "percent": N_("Percent"),
    "date": N_("Date"),
    "datetime": N_("Date and time"),
    "select": N_("One of the options"),
    "multi_select": N_("Several of the options"),
    "boolean": N_("Yes or no"),
    "mobile": N_("Mobile number"),
    "resident_id": N_("Resident ID number"),
    "bank_card": N_("Bank card number"),
    "email": N_("E-mail address"),
    "region": N_("Province / city / district"),
    "user": N_("Staff member (name or e-mail)"),
    "link": N_("Record id"),
}


class UnreadableSheet(ValueError):
    """The upload is no workbook this import can read: ``message`` an English message id."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Column:
    """A sheet column mapped to a field (``key`` None: matches no field, ignored)."""

    index: int  # 0-based
    header: str
    key: str | None

    @property
    def letter(self) -> str:
        from openpyxl.utils import get_column_letter

        return get_column_letter(self.index + 1)


@dataclass(frozen=True)
class Sheet:
    columns: list[Column]
    first_row: int  # the sheet row number of the first data row
    headers: list[Any]  # the header row as it was, for the workbook of rejected rows


# --- the template ------------------------------------------------------------------------


def header(spec: FieldSpec, locale: str) -> str:
    return spec.label(locale) + (REQUIRED_MARK if spec.required else "")


def yes_no(locale: str) -> tuple[str, str]:
    """What a boolean cell offers (the parser takes 是/否 and yes/no alike)."""
    return ("是", "否") if locale.startswith("zh") else ("Yes", "No")


def options_of(spec: FieldSpec, locale: str) -> list[str]:
    return [
        label_zh if locale.startswith("zh") else label_en for _, label_zh, label_en in spec.options
    ]


def template(
    fields: Sequence[FieldSpec],
    *,
    locale: str,
    translate: Any,
    title: str,
) -> bytes:
    """The import template of ``fields`` (in form order); ``translate`` turns a message id
    into the user's language."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = DATA_SHEET
    lists = book.create_sheet("lists")
    lists.sheet_state = "hidden"
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    yes, no = yes_no(locale)
    for index, spec in enumerate(fields, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=header(spec, locale))
        cell.font = bold
        if spec.required:
            cell.fill = required_fill
        sheet.cell(row=2, column=index, value=spec.key)
        sheet.column_dimensions[letter].width = max(12, min(40, 2 * len(header(spec, locale)) + 4))
        number_format = _number_format(spec)
        if number_format:
            sheet.column_dimensions[letter].number_format = number_format
        choices = options_of(spec, locale) if spec.kind in ("select", "multi_select") else []
        if spec.kind == "boolean":
            choices = [yes, no]
        cells = f"{letter}3:{letter}{TEMPLATE_ROWS + 2}"
        if choices and spec.kind != "multi_select":
            for row, choice in enumerate(choices, start=1):
                lists.cell(row=row, column=index, value=choice)
            source = f"{quote_sheetname(lists.title)}!${letter}$1:${letter}${len(choices)}"
            validation = DataValidation(type="list", formula1=source, allow_blank=True)
            validation.error = translate(N_("Choose one of the options."))
            validation.showErrorMessage = True
            validation.add(cells)
            sheet.add_data_validation(validation)
        elif spec.kind == "multi_select":
            hint = DataValidation(type=None, allow_blank=True)  # a prompt only: any text goes
            hint.promptTitle = spec.label(locale)[:32]
            hint.prompt = (
                translate(N_("Separate options with 、 or a comma:")) + " " + "、".join(choices)
            )[:255]
            hint.showInputMessage = True
            hint.add(cells)
            sheet.add_data_validation(hint)
    # the keys row: hidden, found by its marker in a cell after the last field
    sheet.cell(row=2, column=len(fields) + 1, value=KEYS_MARKER)
    sheet.row_dimensions[2].hidden = True
    sheet.freeze_panes = "A3"
    _instructions(book, fields, locale=locale, translate=translate, title=title)
    return _save(book)


def _number_format(spec: FieldSpec) -> str | None:
    kind = spec.value_kind
    if spec.kind in TEXT_KINDS or kind in ("select", "multi_select", "email", "region", "user"):
        return TEXT
    if kind == "money":
        return MONEY_FORMAT
    if kind == "date":
        return DATE_FORMAT
    if kind == "datetime":
        return DATETIME_FORMAT
    if kind == "integer":
        return "0"
    return None


def _instructions(
    book: Workbook, fields: Sequence[FieldSpec], *, locale: str, translate: Any, title: str
) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(translate(N_("Instructions"))[:31])
    bold = Font(bold=True)
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    for line in (
        N_("Fill in one record per row from row 3 of the first sheet; keep the header row."),
        N_("Columns marked * are required. Do not rename, delete or reorder the hidden row 2."),
        N_("Nothing is written until you have checked the preview and confirmed the import."),
    ):
        sheet.append([translate(line)])
    sheet.append([])
    heading = [N_("Column"), N_("Field"), N_("Kind"), N_("Required"), N_("Rules"), N_("Options")]
    sheet.append([translate(h) for h in heading])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    yes, no = yes_no(locale)
    for index, spec in enumerate(fields, start=1):
        sheet.append(
            [
                get_column_letter(index),
                spec.label(locale),
                translate(KIND_NAMES.get(spec.value_kind, N_("Text"))),
                yes if spec.required else no,
                _rules(spec, translate, locale),
                "、".join(options_of(spec, locale))
                if spec.options
                else (f"{yes} / {no}" if spec.kind == "boolean" else ""),
            ]
        )
    for letter, width in zip("ABCDEF", (8, 20, 22, 8, 50, 50), strict=True):
        sheet.column_dimensions[letter].width = width


def _rules(spec: FieldSpec, translate: Any, locale: str) -> str:
    parts = []
    if spec.minimum is not None:
        parts.append(translate(N_("at least %(limit)s"), limit=spec.minimum))
    if spec.maximum is not None:
        parts.append(translate(N_("at most %(limit)s"), limit=spec.maximum))
    if spec.max_length:
        parts.append(translate(N_("up to %(count)s characters"), count=spec.max_length))
    if spec.value_kind == "money":
        parts.append(translate(N_("two decimal places, e.g. 8500.00")))
    if spec.value_kind == "date":
        parts.append(translate(N_("YYYY-MM-DD, e.g. 2026-03-01")))
    if spec.condition:
        parts.append(translate(N_("only when: %(condition)s"), condition=spec.condition))
    help_text = spec.help(locale)
    if help_text:
        parts.append(help_text)
    return "; ".join(parts)


# --- reading ------------------------------------------------------------------------------


def check_package(data: bytes) -> None:
    """Refuse what is no .xlsx package, or one that would unpack to too much."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = package.namelist()
            unpacked = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise UnreadableSheet(N_("This is not an Excel workbook (.xlsx).")) from None
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise UnreadableSheet(N_("This is not an Excel workbook (.xlsx)."))
    if unpacked > MAX_UNPACKED:
        raise UnreadableSheet(N_("This workbook is too large to import."))


def _open(data: bytes) -> Any:
    from openpyxl import load_workbook

    check_package(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged package
        raise UnreadableSheet(N_("This is not an Excel workbook (.xlsx).")) from None
    return book


def _data_sheet(book: Any) -> Any:
    return book[DATA_SHEET] if DATA_SHEET in book.sheetnames else book.worksheets[0]


def _label(value: Any) -> str:
    return str(value).strip().removesuffix("*").strip() if value is not None else ""


def layout(data: bytes, fields: Sequence[FieldSpec]) -> Sheet:
    """How the uploaded sheet maps to ``fields``: by the hidden keys row when there is one,
    else by headers (either language)."""
    book = _open(data)
    try:
        rows = _data_sheet(book).iter_rows(min_row=1, max_row=2, values_only=True)
        first = list(next(rows, ()))
        second = list(next(rows, ()))
    finally:
        book.close()
    if not any(v is not None for v in first):
        raise UnreadableSheet(N_("The first sheet has no header row."))
    keys = {f.key for f in fields}
    labels = {}
    for spec in fields:
        labels[spec.label_zh] = spec.key
        labels[spec.label_en.casefold()] = spec.key
    with_keys = KEYS_MARKER in [str(v).strip() for v in second if v is not None] or (
        any(str(v) in keys for v in second if v is not None)
        and all(v is None or str(v) in keys or str(v) == KEYS_MARKER for v in second)
    )
    columns = []
    seen: set[str] = set()
    for index, value in enumerate(first):
        header_text = _label(value)
        if with_keys:
            raw = second[index] if index < len(second) else None
            key = str(raw).strip() if raw is not None and str(raw).strip() in keys else None
        else:
            key = labels.get(header_text) or labels.get(header_text.casefold())
        if key in seen:
            key = None  # a second column for the same field is ignored
        if key:
            seen.add(key)
        if header_text or key:
            columns.append(Column(index, header_text, key))
    if not any(c.key for c in columns):
        raise UnreadableSheet(N_("No column of the first sheet matches a field; use the template."))
    return Sheet(columns=columns, first_row=3 if with_keys else 2, headers=first)


def rows(data: bytes, sheet: Sheet) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(sheet row number, {field key: cell value})`` of every data row that is not empty."""
    book = _open(data)
    try:
        mapped = [(c.index, c.key) for c in sheet.columns if c.key]
        number = sheet.first_row - 1
        for raw in _data_sheet(book).iter_rows(min_row=sheet.first_row, values_only=True):
            number += 1
            values = {key: cell_value(raw[i] if i < len(raw) else None) for i, key in mapped}
            if all(v is None for v in values.values()):
                continue
            yield number, values
    finally:
        book.close()


def cell_value(value: Any) -> Any:
    """A cell as the field parsers take it. openpyxl reads numbers as float; their shortest
    text is what the cell showed (an amount is never computed with the float)."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return int(value)
        return repr(value)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def raw_rows(data: bytes, wanted: set[int]) -> dict[int, list[Any]]:
    """The cells, as they were, of the header row (1) and the sheet rows in ``wanted``."""
    book = _open(data)
    found: dict[int, list[Any]] = {}
    try:
        for number, raw in enumerate(_data_sheet(book).iter_rows(values_only=True), start=1):
            if number == 1 or number in wanted:
                found[number] = list(raw)
    finally:
        book.close()
    return found


def row_count(data: bytes, sheet: Sheet) -> int:
    """About how many data rows the sheet has (from its stated dimensions; empty rows too)."""
    book = _open(data)
    try:
        last = _data_sheet(book).max_row or 0
    finally:
        book.close()
    return max(0, last - sheet.first_row + 1)


# --- writing ------------------------------------------------------------------------------


def rejected(
    headers: Sequence[Any], rows: Iterable[tuple[int, list[Any], str]], *, error_header: str
) -> bytes:
    """The rejected rows: the original columns, then the row number and the errors."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(DATA_SHEET)
    width = len(headers)
    sheet.append([*headers, error_header])
    for _number, cells, errors in rows:
        padded = [_safe(v) for v in cells[:width]] + [None] * (width - len(cells))
        sheet.append([*padded, errors])
    return _save(book)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, formats: Sequence[str | None]
) -> bytes:
    """A plain table (an export): a header row, then the rows, with per-column formats."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(DATA_SHEET)
    for index, number_format in enumerate(formats, start=1):
        if number_format:
            sheet.column_dimensions[get_column_letter(index)].number_format = number_format
    sheet.append(list(headers))
    for row in rows:
        sheet.append([_safe(v) for v in row])
    return _save(book)


def export_format(spec: FieldSpec) -> str | None:
    return _number_format(spec)


def _safe(value: Any) -> Any:
    """A cell value a spreadsheet shows as a value, never runs as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, Decimal | int | date | datetime | bool) or value is None:
        return value
    return str(value)


def _save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
