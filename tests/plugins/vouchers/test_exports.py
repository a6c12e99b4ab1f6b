"""Export files: the day's vouchers as the Kingdee KIS 凭证引入 Excel (sixteen columns in the
template's order) and the U8 总账工具 text file (comma-separated, GBK), every column of every
row checked against the vouchers; exporting marks them exported."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from tests.plugins.vouchers.conftest import DAY, Seeded

KINGDEE_HEADER = [
    "日期",
    "凭证字",
    "凭证号",
    "附单据数",
    "摘要",
    "科目代码",
    "科目名称",
    "借方金额",
    "贷方金额",
    "币别",
    "汇率",
    "数量",
    "单价",
    "制单人",
    "审核人",
    "过账人",
]


def _ready(seeded: Seeded, kingdee_url: str = "http://127.0.0.1:9/k3cloud/") -> list[dict]:
    seeded.settings(kingdee_url)
    seeded.map_all()
    assert seeded.generate().status_code == 200
    return sorted(seeded.vouchers(), key=lambda v: v["number"])


def _expected_rows(vouchers: list[dict]) -> list[tuple[dict, dict]]:
    return [(v, line) for v in vouchers for line in v["lines"]]


def test_the_kingdee_file_has_every_column_of_the_template(seeded: Seeded) -> None:
    vouchers = _ready(seeded)
    answer = seeded.finance.post(
        "/vouchers/exports", json={"day": DAY.isoformat(), "format": "kingdee"}
    )
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "2025-03-20.xlsx" in answer.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(answer.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == KINGDEE_HEADER
    expected = _expected_rows(vouchers)
    assert len(rows) - 1 == len(expected) > 8
    for row, (voucher, line) in zip(rows[1:], expected, strict=True):
        summary = line["summary"] + (f" {line['aux_code']}" if line["aux_code"] else "")
        assert list(row) == [
            "2025-03-20",
            "记",
            voucher["number"],
            0,
            summary,
            line["subject_code"],
            line["subject_name"],
            line["debit"],
            line["credit"],
            "RMB",
            "1",
            None,
            None,
            "张会计",
            None,
            None,
        ]
    debits = sum(Decimal(r[7]) for r in rows[1:])
    assert debits == sum(Decimal(r[8]) for r in rows[1:])
    assert {v["state"] for v in seeded.vouchers()} == {"exported"}


def test_the_u8_file_has_the_required_fields_in_order(seeded: Seeded) -> None:
    vouchers = _ready(seeded)
    answer = seeded.finance.post("/vouchers/exports", json={"day": DAY.isoformat(), "format": "u8"})
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain"
    text = answer.data.decode("gbk")
    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    expected = _expected_rows(vouchers)
    assert len(lines) == len(expected)
    for row, (voucher, line) in zip(lines, expected, strict=True):
        assert row.split(",") == [
            "2025-03-20",
            "记",
            str(voucher["number"]),
            "0",
            line["summary"],
            line["subject_code"],
            line["debit"],
            line["credit"],
        ]
        # one side is zero, the other carries the amount
        assert (Decimal(line["debit"]) == 0) != (Decimal(line["credit"]) == 0)


def test_exporting_nothing_or_an_unknown_format_is_refused(seeded: Seeded) -> None:
    _ready(seeded)
    empty = seeded.finance.post("/vouchers/exports", json={"day": "2025-03-19", "format": "u8"})
    assert empty.status_code == 404
    unknown = seeded.finance.post(
        "/vouchers/exports", json={"day": DAY.isoformat(), "format": "sap"}
    )
    assert unknown.status_code == 422 and "format" in unknown.get_json()["errors"]
    assert {v["state"] for v in seeded.vouchers()} == {"draft"}
