"""Reading bank statements: each bank preset on a realistic sample of its corporate online
banking export (title rows above the header, totals below, GBK), found without being told
the format; amounts straight to Decimal with thousands separators, ¥ and signs, more than two
decimals refused; bad files refused with a message on ``file``.

Where the layouts come from: the column names are those of the banks' corporate online
banking (企业网银) "交易明细 / 历史明细" downloads as staff receive them; no bank publishes a
specification. Public parsers of the same banks' (personal-account) exports agree on the
naming — e.g. deb-sig/double-entry-generator ``pkg/provider/icbc`` (记账日期, 对方户名,
收入/支出) and jiegec/china_bean_importers (建设银行 and 招商银行 exports are GBK CSV with
title rows above the header)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from loandesk_repayment import bank_formats
from loandesk_repayment.bank_formats import parse_amount, read

from loandesk.sdk import ValidationFailed
from tests.plugins.repayment import bank_samples
from tests.plugins.repayment.bank_samples import Txn

DAY = dt.date(2025, 3, 15)
SAMPLE = [
    Txn(DAY, Decimal("1076.19"), "李四", "6222020200112233445", "还款 DK2025011500001", "S0001"),
    Txn(DAY, Decimal("-2500.00"), "上海某某科技有限公司", "31001234", "服务费", "S0002"),
    Txn(
        dt.date(2025, 3, 16),
        Decimal("12345.60"),
        "王五",
        "6228480010000000001",
        "DK2025011500007",
        "S0003",
    ),
]


def _errors(problem: ValidationFailed) -> str:
    return str(problem.errors)


@pytest.mark.parametrize(
    ("builder", "expected_format", "serials"),
    [
        (bank_samples.ccb, "ccb", True),
        (bank_samples.icbc, "icbc", False),
        (bank_samples.abc, "abc", True),
        (bank_samples.boc, "boc", True),
        (bank_samples.cmb_xlsx, "cmb", True),
    ],
)
def test_each_bank_preset_reads_its_export(builder, expected_format, serials) -> None:  # type: ignore[no-untyped-def]
    data = builder(SAMPLE)
    name = "statement.xlsx" if expected_format == "cmb" else "statement.csv"
    found = read(data, name, None)  # found without being told
    assert found.layout.key == expected_format
    told = read(data, name, bank_formats.PRESETS[expected_format])
    assert [(x.row_number, x.amount) for x in told.lines] == [
        (x.row_number, x.amount) for x in found.lines
    ]
    lines = found.lines
    assert [(x.booked_on, x.amount, x.direction) for x in lines] == [
        (DAY, Decimal("1076.19"), "credit"),
        (DAY, Decimal("2500.00"), "debit"),
        (dt.date(2025, 3, 16), Decimal("12345.60"), "credit"),
    ]
    assert all(isinstance(x.amount, Decimal) for x in lines)
    assert lines[0].name == "李四" and lines[0].account == "6222020200112233445"
    assert "DK2025011500001" in lines[0].memo and "DK2025011500007" in lines[2].memo
    assert [x.serial for x in lines] == (["S0001", "S0002", "S0003"] if serials else ["", "", ""])


def test_gbk_and_utf8_files_read_alike() -> None:
    gbk = read(bank_samples.ccb(SAMPLE, "gbk"), "a.csv", None)
    utf8 = read(bank_samples.ccb(SAMPLE, "utf-8-sig"), "a.csv", None)
    assert bank_samples.ccb(SAMPLE, "gbk") != bank_samples.ccb(SAMPLE, "utf-8-sig")
    assert [(x.name, x.amount, x.memo) for x in gbk.lines] == [
        (x.name, x.amount, x.memo) for x in utf8.lines
    ]
    assert gbk.lines[0].name == "李四"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.50", Decimal("1234.50")),
        ("¥1,234.5", Decimal("1234.50")),
        ("￥ 12,000.00", Decimal("12000.00")),
        ("+300", Decimal("300.00")),
        ("-2,500.00", Decimal("-2500.00")),
        ("(50.00)", Decimal("-50.00")),
        ("RMB 88.80", Decimal("88.80")),
        (1076.19, Decimal("1076.19")),  # an Excel number: its shortest text, not the binary float
        (12000, Decimal("12000.00")),
        ("", None),
    ],
)
def test_amounts_go_straight_to_decimal(text: object, expected: Decimal | None) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize("text", ["12.345", "1,0.00.1", "abc", 0.1 + 0.2])
def test_more_than_two_decimals_or_no_number_is_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_amount(text)


def test_a_line_with_three_decimals_refuses_the_file_naming_the_row() -> None:
    data = bank_samples.ccb([Txn(DAY, Decimal("10.00"), "李四", "", "", "S1")])
    assert b",10.00," in data
    with pytest.raises(ValidationFailed) as refused:
        read(data.replace(b",10.00,", b",10.005,"), "a.csv", None)
    assert "5:" in _errors(refused.value) and "decimals" in _errors(refused.value)


def test_bad_files_are_refused_with_a_message_on_file() -> None:
    cases = {
        b"": "empty",
        b"name,age\nzhang,30\n": "not a bank statement",
        b"PK\x03\x04 not really a zip": "not an Excel workbook",
        b"\xd0\xcf\x11\xe0\x00\x00 old xls": "CSV or Excel",
        b"x" * (bank_formats.MAX_BYTES + 1): "larger than",
    }
    for data, words in cases.items():
        with pytest.raises(ValidationFailed) as refused:
            read(data, "statement.xls" if data.startswith(b"\xd0") else "s.csv", None)
        assert "file" in refused.value.errors and words in _errors(refused.value), words


def test_a_chosen_format_whose_columns_are_missing_says_which() -> None:
    with pytest.raises(ValidationFailed) as refused:
        read(bank_samples.icbc(SAMPLE), "a.csv", bank_formats.PRESETS["cmb"])
    assert "交易日" in _errors(refused.value)


def test_a_saved_mapping_reads_an_export_no_preset_knows() -> None:
    text = (
        "流水明细\n日期,收入,支出,付款方,付款账号,附言,备注\n"
        '2025/3/1,"1,000.00",,李四,6222,DK2025011500001,网银\n'
    )
    layout = bank_formats.layout_of(
        {
            "date": "日期",
            "credit": "收入",
            "debit": "支出",
            "name": "付款方",
            "account": "付款账号",
            "memo": ["附言", "备注"],
        }
    )
    found = read(text.encode("gb18030"), "x.csv", layout)
    (line,) = found.lines
    assert (line.booked_on, line.amount, line.memo) == (
        dt.date(2025, 3, 1), Decimal("1000.00"), "DK2025011500001 网银",
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        read(text.encode(), "x.csv", None)
    assert "known format" in _errors(refused.value)
    with pytest.raises(ValidationFailed) as missing:
        bank_formats.layout_of({"date": "日期"})
    assert "columns.credit" in missing.value.errors
