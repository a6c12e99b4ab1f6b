"""Reading a bank statement (银行流水): CSV in UTF-8 or GBK/GB18030 (what Chinese banks export)
or an Excel workbook (.xlsx), laid out as one bank's export (a preset) or as a firm's own
saved column mapping. Amounts go from the text straight to ``Decimal`` (never a float) and
more than two decimals is refused. No Flask, no database.

The header row is found, not counted: exports start with a few title rows (the bank's name,
the account, the period) whose number changes with the period and the options chosen, so the
reader takes the first of the top rows that holds the format's date and amount columns."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from loandesk.sdk import N_, ValidationFailed, message

MAX_BYTES = 10 * 1024 * 1024
MAX_LINES = 50_000
MAX_UNPACKED = 200 * 1024 * 1024  # an .xlsx unpacking to more is refused (a zip bomb)
HEADER_SEARCH = 30  # title rows an export may have above its header row
ROLES = ("date", "credit", "debit", "amount", "direction", "name", "account", "memo", "serial")
TOTAL_WORDS = ("合计", "总计", "小计", "本页", "累计", "共计")


@dataclass(frozen=True)
class Layout:
    """Which header is which: ``date`` and either ``credit`` (贷方 / 收入, with ``debit``) or a
    signed ``amount`` (with an optional ``direction`` column saying 借/贷) are required;
    ``memo`` may join several columns (摘要, 附言, 用途)."""

    key: str
    label_zh: str
    label_en: str
    date: tuple[str, ...]
    credit: tuple[str, ...] = ()
    debit: tuple[str, ...] = ()
    amount: tuple[str, ...] = ()
    direction: tuple[str, ...] = ()
    name: tuple[str, ...] = ()
    account: tuple[str, ...] = ()
    memo: tuple[str, ...] = ()
    serial: tuple[str, ...] = ()
    source: str = ""  # where the layout comes from

    def columns(self) -> dict[str, list[str]]:
        return {role: list(getattr(self, role)) for role in ROLES}


# Corporate online-banking (企业网银) exports of the firm's receiving account. Each role lists
# the headers it may have; the first one found in the header row is used.
PRESETS: dict[str, Layout] = {
    p.key: p
    for p in (
        Layout(
            "icbc", "工商银行", "ICBC",
            date=("交易时间", "交易日期", "入账日期"),
            credit=("贷方发生额",), debit=("借方发生额",), direction=("借/贷",),
            name=("对方单位名称", "对方户名"), account=("对方账号",),
            memo=("摘要", "用途", "个性化信息"), serial=(),
            source="ICBC 企业网银 → 账户管理 → 明细查询 → 下载 (历史明细)",
        ),
        Layout(
            "ccb", "建设银行", "CCB",
            date=("记账日期", "交易时间"),
            credit=("贷方发生额(收入)", "贷方发生额"), debit=("借方发生额(支取)", "借方发生额"),
            name=("对方户名",), account=("对方账号",), memo=("摘要", "备注"),
            serial=("账户明细编号-交易流水号", "交易流水号"),
            source="CCB 企业网银 → 账户查询 → 交易明细 → 下载",
        ),
        Layout(
            "abc", "农业银行", "ABC",
            date=("交易日期",),
            credit=("收入金额",), debit=("支出金额",),
            name=("对方户名",), account=("对方账号",),
            memo=("交易摘要", "交易附言", "交易用途", "交易说明"), serial=("交易流水号",),
            source="ABC 企业网银 → 账户管理 → 账户明细查询 → 下载",
        ),
        Layout(
            "boc", "中国银行", "BOC",
            date=("交易日期",),
            amount=("交易金额",),
            name=("付款人名称",), account=("付款人账号",),
            memo=("摘要", "用途", "备注"), serial=("交易流水号",),
            source="BOC 企业网银 → 账户管理 → 交易明细查询 → 下载 (中英文表头)",
        ),
        Layout(
            "cmb", "招商银行", "CMB",
            date=("交易日",),
            credit=("贷方金额",), debit=("借方金额",),
            name=("收(付)方名称",), account=("收(付)方帐号", "收(付)方账号"),
            memo=("摘要", "用途", "业务摘要", "其它摘要"), serial=("流水号",),
            source="CMB 企业银行 → 账务查询 → 交易查询 → 导出",
        ),
    )
}  # fmt: skip


@dataclass
class Line:
    """One transaction line as read, before matching. ``occurrence`` counts the identical
    lines above it in the file (the same date, amount, payer account and memo)."""

    row_number: int
    booked_on: dt.date
    amount: Decimal
    direction: str  # credit (money in) or debit (money out)
    name: str = ""
    account: str = ""
    memo: str = ""
    serial: str = ""
    occurrence: int = 0


@dataclass
class Statement:
    layout: Layout
    lines: list[Line] = field(default_factory=list)


def refuse(field_name: str, text: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(
        N_("Some fields need attention."), errors={field_name: [message(text, **params)]}
    )


def header_key(value: Any) -> str:
    """A header as compared: no spaces, half-width brackets, without an English part in
    square brackets (中国银行 writes ``交易日期[ Transaction Date ]``) or a trailing ``*``."""
    text = str(value or "").translate(_FULL_WIDTH)
    text = re.sub(r"\[[^\]]*\]", "", text)
    return re.sub(r"\s+", "", text).rstrip("*")


_FULL_WIDTH = str.maketrans({"（": "(", "）": ")", "【": "[", "】": "]", "：": ":", "／": "/"})


def layout_of(columns: Mapping[str, Any], *, key: str = "custom", label: str = "") -> Layout:
    """A firm's saved mapping (role -> header or list of headers) as a layout; refused naming
    the role when a required one is missing."""
    found: dict[str, tuple[str, ...]] = {}
    for role in ROLES:
        raw = columns.get(role) or ()
        names = [raw] if isinstance(raw, str) else list(raw)
        found[role] = tuple(str(n).strip() for n in names if str(n).strip())
    if not found["date"]:
        raise refuse("columns.date", N_("Name the column of the transaction date."))
    if not found["credit"] and not found["amount"]:
        raise refuse(
            "columns.credit", N_("Name the credit (money in) column, or a signed amount column.")
        )
    return Layout(key, label or key, label or key, **found)  # type: ignore[arg-type]


def read(data: bytes, filename: str, layout: Layout | None) -> Statement:
    """The statement in ``data``: its lines in file order (debits included: the caller
    skips them). ``layout`` None tries every preset. ``ValidationFailed`` on ``file`` when it
    is empty, too big, not a statement, or lacks the layout's columns; on ``file`` naming
    the row when a line's date or amount cannot be read."""
    if not data:
        raise refuse("file", N_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise refuse(
            "file", N_("The file is larger than %(size)s MB."), size=MAX_BYTES // 1024 // 1024
        )
    rows = list(_rows(data, filename))
    layouts = [layout] if layout is not None else list(PRESETS.values())
    for candidate in layouts:
        header = _find_header(rows, candidate)
        if header is not None:
            return _lines(rows, header, candidate)
    if layout is not None:
        raise refuse(
            "file",
            N_("No header row with the columns of %(format)s (%(columns)s) was found."),
            format=layout.label_zh,
            columns=" / ".join(layout.date + layout.credit + layout.amount),
        )
    raise refuse(
        "file", N_("This file is not a bank statement of a known format: choose its format.")
    )


def _rows(data: bytes, filename: str) -> Iterator[tuple[int, list[Any]]]:
    if data[:2] == b"PK":
        yield from _sheet_rows(data)
        return
    if filename.lower().endswith((".xls", ".xlsx")) or b"\x00" in data[:4096]:
        raise refuse("file", N_("Save the statement as CSV or Excel (.xlsx) and upload that."))
    text = _decode(data)
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        if number > MAX_LINES + HEADER_SEARCH + 10:
            raise refuse(
                "file", N_("A statement may hold at most %(count)s lines."), count=MAX_LINES
            )
        yield number, [c.strip().strip("\t") for c in row]


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else GB18030, which reads GBK and GB2312
    files as they are: Chinese banks' CSV exports are GBK."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise refuse("file", N_("The file is neither UTF-8 nor GBK text."))


def _sheet_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = package.namelist()
            unpacked = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise refuse("file", N_("This is not an Excel workbook (.xlsx).")) from None
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise refuse("file", N_("This is not an Excel workbook (.xlsx)."))
    if unpacked > MAX_UNPACKED:
        raise refuse("file", N_("This workbook is too large to import."))
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged package
        raise refuse("file", N_("This is not an Excel workbook (.xlsx).")) from None
    try:
        for number, raw in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            if number > MAX_LINES + HEADER_SEARCH + 10:
                raise refuse(
                    "file", N_("A statement may hold at most %(count)s lines."), count=MAX_LINES
                )
            yield number, list(raw)
    finally:
        book.close()


def _find_header(rows: Sequence[tuple[int, list[Any]]], layout: Layout) -> dict[str, Any] | None:
    for index, (_number, row) in enumerate(rows[:HEADER_SEARCH]):
        keys = [header_key(c) for c in row]
        found: dict[str, Any] = {"index": index}
        for role in ROLES:
            wanted = [header_key(h) for h in getattr(layout, role)]
            if role == "memo":
                found[role] = [keys.index(w) for w in wanted if w in keys]
            else:
                found[role] = next((keys.index(w) for w in wanted if w in keys), None)
        has_amount = found["credit"] is not None or found["amount"] is not None
        if found["date"] is not None and has_amount:
            return found
    return None


def _lines(
    rows: Sequence[tuple[int, list[Any]]], header: dict[str, Any], layout: Layout
) -> Statement:
    statement = Statement(layout)
    seen: dict[tuple[Any, ...], int] = {}
    problems: list[str] = []
    for number, row in rows[header["index"] + 1 :]:
        texts = [str(c).strip() for c in row if c is not None and str(c).strip()]
        if not texts:
            continue
        if texts[0].startswith(TOTAL_WORDS) or _cell(row, header, "date") in (None, ""):
            continue  # a totals row, or a footer note under the table
        try:
            line = _line(number, row, layout, header)
        except ValueError as problem:
            problems.append(f"{number}: {problem}")
            if len(problems) >= 10:
                break
            continue
        if line is None:
            continue
        same = (line.booked_on, line.amount, line.direction, line.account, line.memo)
        line.occurrence = seen.get(same, 0)
        seen[same] = line.occurrence + 1
        statement.lines.append(line)
        if len(statement.lines) > MAX_LINES:
            raise refuse(
                "file", N_("A statement may hold at most %(count)s lines."), count=MAX_LINES
            )
    if problems:
        raise refuse(
            "file",
            N_("Some lines cannot be read (row: problem): %(rows)s"),
            rows="; ".join(problems),
        )
    if not statement.lines:
        raise refuse("file", N_("The statement has no transaction lines."))
    return statement


def _cell(row: list[Any], header: dict[str, Any], role: str) -> Any:
    index = header[role]
    return row[index] if index is not None and index < len(row) else None


def _line(number: int, row: list[Any], layout: Layout, header: dict[str, Any]) -> Line | None:
    booked_on = parse_date(_cell(row, header, "date"))
    if header["amount"] is not None and header["credit"] is None:
        signed = parse_amount(_cell(row, header, "amount"))
        if signed is None:
            return None
        marker = str(_cell(row, header, "direction") or "").strip().upper()
        if marker in ("借", "D", "DR", "支出", "付"):
            signed = -abs(signed)
        elif marker in ("贷", "C", "CR", "收入", "收"):
            signed = abs(signed)
        direction, amount = ("credit" if signed > 0 else "debit"), abs(signed)
    else:
        credit = parse_amount(_cell(row, header, "credit"))
        debit = parse_amount(_cell(row, header, "debit"))
        if credit:
            direction, amount = ("credit", credit) if credit > 0 else ("debit", -credit)
        elif debit:
            direction, amount = "debit", abs(debit)
        else:
            return None  # neither side: an information line, no money moved
    if amount == 0:
        return None
    memo = " ".join(
        str(row[i]).strip()
        for i in header["memo"]
        if i < len(row) and row[i] is not None and str(row[i]).strip()
    )
    return Line(
        row_number=number,
        booked_on=booked_on,
        amount=amount,
        direction=direction,
        name=_text(_cell(row, header, "name"), 100),
        account=re.sub(r"[\s-]", "", _text(_cell(row, header, "account"), 40)),
        memo=memo[:500],
        serial=_text(_cell(row, header, "serial"), 100),
    )


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an account number Excel stored as a number
    return str(value).strip().strip("'\t")[:limit]


_AMOUNT = re.compile(r"^[+-]?\d+(\.\d+)?$")


def parse_amount(value: Any) -> Decimal | None:
    """An amount as a bank writes it (``¥1,234.50``, ``-300.00``, ``+12``, ``(50.00)``,
    ``1 234,00`` is not one) straight to ``Decimal``; None for an empty cell. ``ValueError``
    for anything else and for more than two decimals: a cent is the smallest unit."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("not an amount")
    if isinstance(value, int):
        return Decimal(value).quantize(Decimal("0.01"))
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)  # the shortest text that reads back as this cell: what it showed
    else:
        text = str(value)
    text = text.strip().translate(_FULL_WIDTH)
    for noise in ("¥", "￥", "RMB", "CNY", "元", ",", "，", " ", "\u00a0"):
        text = text.replace(noise, "")
    if text in ("", "-", "--", "0", "0.00"):
        return None if text in ("", "-", "--") else Decimal("0.00")
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()")
    if not _AMOUNT.match(text):
        raise ValueError(f"not an amount: {value}")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {value}") from None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError(f"more than two decimals: {value}")
    amount = amount.quantize(Decimal("0.01"))
    return -amount if negative else amount


_DATE = re.compile(r"^(\d{4})(?:(\d{2})(\d{2})|[-/.年](\d{1,2})[-/.月](\d{1,2})日?)(?:\s|T|$)")


def parse_date(value: Any) -> dt.date:
    """``2025-03-01``, ``2025/3/1``, ``20250301``, ``2025年03月01日``, with or without a time
    after it, or an Excel date cell."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value))  # 20250301 typed as a number
    text = str(value or "").strip()
    found = _DATE.match(text)
    if found is None:
        raise ValueError(f"not a date: {text}")
    month, day = (found[2], found[3]) if found[2] else (found[4], found[5])
    try:
        return dt.date(int(found[1]), int(month), int(day))
    except ValueError:
        raise ValueError(f"not a date: {text}") from None
