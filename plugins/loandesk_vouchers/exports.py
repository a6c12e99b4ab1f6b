"""Vouchers as files the finance systems import (凭证引入):

- ``kingdee``: 金蝶 KIS 凭证引入 Excel (标准版/专业版 "引入凭证" from Excel), one row per
  line with the template's sixteen columns in its order — 日期, 凭证字, 凭证号, 附单据数,
  摘要, 科目代码, 科目名称, 借方金额, 贷方金额, 币别, 汇率, 数量, 单价, 制单人, 审核人,
  过账人 (the template as published in KIS guides, see docs/connectors.md);
- ``u8``: 用友 U8 总账工具 凭证引入 text file: one line per entry, fields separated by commas,
  the required head — 制单日期, 凭证类别字, 业务(凭证)号, 附单据数, 摘要, 科目编码,
  金额借方, 金额贷方 — [制单日期 + 凭证类别字 + 业务号] naming one voucher, GBK encoded as
  the tool reads it (trailing optional fields are left out, which the format allows).

Amounts are written from ``Decimal`` as text with two places, never through a float."""

from __future__ import annotations

import io
from decimal import Decimal

from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_vouchers import service
from loandesk_vouchers.models import Voucher

KINGDEE_COLUMNS = (
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
)
U8_FIELDS = (
    "制单日期",
    "凭证类别字",
    "业务号",
    "附单据数",
    "摘要",
    "科目编码",
    "金额借方",
    "金额贷方",
)
FORMATS = ("kingdee", "u8")
MIMETYPES = {"kingdee": sdk.XLSX_MIMETYPE, "u8": "text/plain; charset=gbk"}


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _preparer() -> str:
    return str(sdk.plugin_settings("vouchers").get("preparer") or "")


def kingdee_xlsx(session: Session, vouchers: list[Voucher]) -> bytes:
    # imported here: openpyxl imports numpy when it is installed, which the app keeps out of
    # its start-up (tests/plugins/warning/test_startup.py)
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "凭证"
    sheet.append(list(KINGDEE_COLUMNS))
    preparer = _preparer()
    for voucher in vouchers:
        for line in service.lines_of(session, voucher):
            sheet.append(
                [
                    voucher.day.isoformat(),
                    voucher.word,
                    voucher.number,
                    0,
                    f"{line.summary}{' ' + line.aux_code if line.aux_code else ''}",
                    line.subject_code,
                    line.subject_name,
                    _amount(line.debit),
                    _amount(line.credit),
                    "RMB",
                    "1",
                    "",
                    "",
                    preparer,
                    "",
                    "",
                ]
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def u8_text(session: Session, vouchers: list[Voucher]) -> bytes:
    rows = []
    for voucher in vouchers:
        for line in service.lines_of(session, voucher):
            summary = line.summary.replace(",", "，")  # a comma would split the field
            rows.append(
                ",".join(
                    (
                        voucher.day.isoformat(),
                        voucher.word,
                        str(voucher.number),
                        "0",
                        summary,
                        line.subject_code,
                        _amount(line.debit),
                        _amount(line.credit),
                    )
                )
            )
    return ("\r\n".join(rows) + "\r\n").encode("gbk") if rows else b""


def export(session: Session, vouchers: list[Voucher], file_format: str) -> tuple[bytes, str, str]:
    """The file's bytes, name and content type; the vouchers are marked exported."""
    if file_format not in FORMATS:
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={"format": [sdk.message(sdk.N_("Choose kingdee or u8."))]},
        )
    if not vouchers:
        raise sdk.NotFound(sdk.N_("No vouchers for that day: generate them first."))
    day = vouchers[0].day.isoformat()
    if file_format == "kingdee":
        content, name = kingdee_xlsx(session, vouchers), f"金蝶凭证-{day}.xlsx"
    else:
        content, name = u8_text(session, vouchers), f"用友凭证-{day}.txt"
    service.mark_exported(session, vouchers, file_format)
    return content, name, MIMETYPES[file_format]
