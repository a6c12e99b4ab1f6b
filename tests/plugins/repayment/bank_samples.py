"""Statement files as the banks' corporate online banking (企业网银) exports them, built in the
tests: a few title rows, the header row, the lines, sometimes a totals row; CSV in GBK (as
the banks write it) or .xlsx. ``Txn`` is one line; each builder lays it out as its bank."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook

ACCOUNT = "31050161393600000123"  # the firm's receiving account


@dataclass(frozen=True)
class Txn:
    day: dt.date
    amount: Decimal  # positive: money in; negative: money out
    name: str = ""
    account: str = ""
    memo: str = ""
    serial: str = ""


def luhn_card(body: str) -> str:
    """``body`` with its Luhn check digit: a card number the customers' validation takes."""
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return body + str((10 - total % 10) % 10)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _csv(rows: Sequence[Sequence[object]], encoding: str = "gbk") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def ccb(txns: Sequence[Txn], encoding: str = "gbk") -> bytes:
    """建设银行: title rows, then 账号, 账户名称, 交易时间, 借方发生额（支取）,
    贷方发生额（收入）, 余额, 币种, 对方户名, 对方账号, 对方开户机构, 记账日期, 摘要, 备注,
    账户明细编号-交易流水号 ..."""
    rows: list[list[object]] = [
        ["中国建设银行单位账户交易明细"],
        [f"账号:{ACCOUNT}", "账户名称:某某小额贷款有限公司"],
        ["起始日期:20250101", "结束日期:20251231"],
        [
            "账号",
            "账户名称",
            "交易时间",
            "借方发生额（支取）",
            "贷方发生额（收入）",
            "余额",
            "币种",
            "对方户名",
            "对方账号",
            "对方开户机构",
            "记账日期",
            "摘要",
            "备注",
            "账户明细编号-交易流水号",
            "企业流水号",
            "凭证种类",
            "凭证号",
        ],
    ]
    for t in txns:
        out, in_ = (_money(-t.amount), "") if t.amount < 0 else ("", _money(t.amount))
        rows.append(
            [
                ACCOUNT,
                "某某小额贷款有限公司",
                t.day.strftime("%Y%m%d") + " 10:21:07",
                out,
                in_,
                "1,000,000.00",
                "人民币",
                t.name,
                t.account,
                "中国建设银行上海分行",
                t.day.strftime("%Y%m%d"),
                "跨行转入" if t.amount > 0 else "转账支取",
                t.memo,
                t.serial,
                "",
                "",
                "",
            ]
        )
    return _csv(rows, encoding)


def icbc(txns: Sequence[Txn]) -> bytes:
    """工商银行: 凭证号, 本方账号, 对方账号, 交易时间, 借/贷, 借方发生额, 贷方发生额,
    对方行号, 摘要, 用途, 对方单位名称, 余额, 个性化信息; no transaction serial number."""
    rows: list[list[object]] = [
        ["中国工商银行 历史明细"],
        [f"账号：{ACCOUNT}", "币种：人民币"],
        [
            "凭证号",
            "本方账号",
            "对方账号",
            "交易时间",
            "借/贷",
            "借方发生额",
            "贷方发生额",
            "对方行号",
            "摘要",
            "用途",
            "对方单位名称",
            "余额",
            "个性化信息",
        ],
    ]
    for t in txns:
        side = "贷" if t.amount > 0 else "借"
        out, in_ = (_money(-t.amount), "") if t.amount < 0 else ("", _money(t.amount))
        rows.append(
            [
                "",
                ACCOUNT,
                t.account,
                t.day.strftime("%Y-%m-%d %H:%M:%S"),
                side,
                out,
                in_,
                "102100099996",
                "转账",
                t.memo,
                t.name,
                "1,000,000.00",
                "",
            ]
        )
    rows.append(["合计", "", "", "", "", "", "", "", "", "", "", "", ""])
    return _csv(rows)


def abc(txns: Sequence[Txn]) -> bytes:
    """农业银行: 交易日期, 交易时间, 收入金额, 支出金额, 本次余额, 手续费总额, 交易方式, 交易行名,
    交易类别, 对方省市, 对方账号, 对方户名, 交易说明, 交易摘要, 交易附言, 交易流水号."""
    rows: list[list[object]] = [
        ["中国农业银行账户明细"],
        [
            "交易日期",
            "交易时间",
            "收入金额",
            "支出金额",
            "本次余额",
            "手续费总额",
            "交易方式",
            "交易行名",
            "交易类别",
            "对方省市",
            "对方账号",
            "对方户名",
            "交易说明",
            "交易摘要",
            "交易附言",
            "交易流水号",
        ],
    ]
    for t in txns:
        in_, out = ("+" + _money(t.amount), "") if t.amount > 0 else ("", _money(t.amount))
        rows.append(
            [
                t.day.strftime("%Y%m%d"),
                "093015",
                in_,
                out,
                "500,000.00",
                "0.00",
                "网银",
                "农行上海分行",
                "转账",
                "上海",
                t.account,
                t.name,
                "",
                "跨行汇款",
                t.memo,
                t.serial,
            ]
        )
    return _csv(rows)


def boc(txns: Sequence[Txn]) -> bytes:
    """中国银行: bilingual headers, one signed 交易金额; the payer is 付款人 on money in."""
    rows: list[list[object]] = [
        [
            "交易类型[ Transaction Type ]",
            "业务类型[ Business type ]",
            "付款人账号[ Debit Account No. ]",
            "付款人名称[ Payer's Name ]",
            "收款人账号[ Payee's Account Number ]",
            "收款人名称[ Payee's Name ]",
            "交易日期[ Transaction Date ]",
            "交易货币[ Trade Currency ]",
            "交易金额[ Trade Amount ]",
            "交易后余额[ After-transaction balance ]",
            "交易流水号[ Transaction reference number ]",
            "用途[ Purpose ]",
            "摘要[ Remark ]",
        ],
    ]
    for t in txns:
        payer, payee = (
            ((t.account, t.name), (ACCOUNT, "某某小贷"))
            if t.amount > 0
            else ((ACCOUNT, "某某小贷"), (t.account, t.name))
        )
        rows.append(
            [
                "来账" if t.amount > 0 else "往账",
                "转账",
                payer[0],
                payer[1],
                payee[0],
                payee[1],
                t.day.strftime("%Y%m%d"),
                "人民币",
                f"{t.amount:.2f}",
                "888,000.00",
                t.serial,
                t.memo,
                "",
            ]
        )
    return _csv(rows)


def cmb_xlsx(txns: Sequence[Txn]) -> bytes:
    """招商银行 as an Excel workbook: 交易日, 交易时间, 起息日, 交易类型, 借方金额, 贷方金额, 余额,
    摘要, 流水号, 流程实例号, 业务名称, 用途, 业务参考号, 业务摘要, 其它摘要, 收(付)方分行名,
    收(付)方名称, 收(付)方帐号; amounts as numbers, as Excel keeps them."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["招商银行交易明细"])
    sheet.append([f"账号：{ACCOUNT}"])
    sheet.append(
        [
            "交易日",
            "交易时间",
            "起息日",
            "交易类型",
            "借方金额",
            "贷方金额",
            "余额",
            "摘要",
            "流水号",
            "流程实例号",
            "业务名称",
            "用途",
            "业务参考号",
            "业务摘要",
            "其它摘要",
            "收(付)方分行名",
            "收(付)方名称",
            "收(付)方帐号",
        ]
    )
    for t in txns:
        out, in_ = (float(-t.amount), None) if t.amount < 0 else (None, float(t.amount))
        sheet.append(
            [
                t.day.strftime("%Y%m%d"),
                "10:00:00",
                t.day.strftime("%Y%m%d"),
                "汇入",
                out,
                in_,
                100000.0,
                "汇入汇款",
                t.serial,
                "",
                "",
                t.memo,
                "",
                "",
                "",
                "上海分行",
                t.name,
                t.account,
            ]
        )
    out_file = io.BytesIO()
    book.save(out_file)
    return out_file.getvalue()
