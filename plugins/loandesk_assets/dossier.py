"""The litigation dossier (诉讼材料包) of one loan, ready for a lawyer: the loan, its class
and write-off, the schedule, the payments, what other plugins contribute
(``sdk.dossier_sections``: the signed contract, collection records) and a demand letter
(催收函) this plugin writes. One export, as an Excel workbook (a sheet per part) and as a PDF
(the parts, the demand letter on its own page, then the contributed PDF files as they were
kept), or both in a ZIP with the contributed files. Built in the caller's transaction,
writing nothing but the audit record of the export. No Flask."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_assets import classify, settings
from loandesk_assets.models import WriteOff

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ENV = Environment(
    loader=PackageLoader("loandesk_assets", "templates/assets/dossier"),
    autoescape=select_autoescape(default=True),
)


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class Dossier:
    loan: sdk.LoanSummary
    made_on: dt.date
    facts: list[tuple[str, str]]
    tables: list[Table]
    files: list[sdk.DossierFile] = field(default_factory=list)
    letter: dict[str, Any] = field(default_factory=dict)


def _money(value: Decimal | None) -> str:
    return f"{value or Decimal(0):,.2f}"


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


STATUS = {"pending": "待放款", "active": "还款中", "settled": "已结清", "written_off": "已核销"}
INSTALLMENT_STATUS = {"pending": "未还", "partial": "部分已还", "paid": "已还清"}
PAYMENT_STATUS = {"posted": "已入账", "reversed": "已冲正"}


def build(session: Session, loan: sdk.LoanSummary) -> Dossier:
    """Everything the dossier holds for ``loan`` (already checked against the viewer's scope)."""
    book = sdk.loan_book()
    today = classify.local_today()
    lines = book.installments(session, loan.id)
    payments = book.payments(session, loan.id)
    row = classify.get_row(session, loan.id)
    loan_class = (
        row.loan_class if row else settings.class_for(loan.days_past_due, settings.limits())
    )
    from sqlalchemy import select

    written = session.scalar(
        select(WriteOff).where(WriteOff.loan_id == loan.id, WriteOff.status == "approved")
    )
    owed = sum((line.outstanding for line in lines), Decimal(0))
    overdue = sum((line.outstanding for line in lines if line.due_date < today), Decimal(0))
    facts = [
        ("贷款编号", loan.number),
        ("产品", loan.product_terms.name),
        ("贷款本金（元）", _money(loan.principal)),
        ("期数", str(loan.periods)),
        ("年化利率(IRR)", f"{loan.annual_rate_irr * 100:.2f}%" if loan.annual_rate_irr else ""),
        ("放款日期", _day(loan.disbursed_on)),
        ("贷款状态", STATUS.get(loan.status, loan.status)),
        ("逾期天数", str(loan.days_past_due)),
        ("逾期阶段", loan.bucket),
        ("五级分类", settings.label(loan_class, True)),
        ("逾期金额（元）", _money(loan.overdue_amount)),
        ("未还总额（元）", _money(owed)),
        ("数据截至", _day(loan.cob_date or today)),
    ]
    if row is not None and row.override_class:
        facts.append(("分类调整原因", row.override_reason or ""))
    if written is not None:
        facts += [
            ("核销日期", _day(written.written_off_on)),
            ("核销金额（元）", _money(written.total)),
            ("核销后回收（元）", _money(written.recovered)),
        ]
    tables = [
        Table(
            "还款计划",
            (
                "期次",
                "应还日期",
                "应还本金",
                "应还利息",
                "应还费用",
                "罚息",
                "已还",
                "未还",
                "状态",
            ),
            tuple(
                (
                    str(x.number),
                    _day(x.due_date),
                    _money(x.principal_due),
                    _money(x.interest_due),
                    _money(x.fees_due),
                    _money(x.penalty_due),
                    _money(x.paid),
                    _money(x.outstanding),
                    INSTALLMENT_STATUS.get(x.status, x.status),
                )
                for x in lines
            ),
        ),
        Table(
            "还款记录",
            ("收款日期", "金额", "状态", "参考号"),
            tuple(
                (
                    _day(p.received_on),
                    _money(p.amount),
                    PAYMENT_STATUS.get(p.status, p.status),
                    p.reference or "",
                )
                for p in payments
            ),
        ),
        Table(
            "五级分类变动",
            ("日期", "原分类", "新分类", "原因", "逾期天数", "说明"),
            tuple(
                (
                    _day(c.changed_on),
                    settings.label(c.from_class, True),
                    settings.label(c.to_class, True),
                    CAUSE_ZH.get(c.cause, c.cause),
                    str(c.days_past_due),
                    c.reason or "",
                )
                for c in reversed(classify.history(session, loan.id))
            ),
        ),
    ]
    files: list[sdk.DossierFile] = []
    for section in sdk.dossier_sections(session, loan.id):
        tables.append(
            Table(
                section.title_zh,
                tuple(zh for zh, _ in section.columns),
                tuple(tuple(r) for r in section.rows),
            )
        )
        files.extend(section.files)
    # the arrears as close of business last stated them (its business date), else as of today
    as_of = loan.cob_date or today
    letter = {
        "tenant": sdk.current().name,
        "loan": loan,
        "made_on": today,
        "as_of": as_of,
        "overdue": _money(loan.overdue_amount if loan.cob_date else overdue),
        "owed": _money(owed),
        "pay_by": today + dt.timedelta(days=7),
        "oldest_due": next((x.due_date for x in lines if x.outstanding > 0), None),
    }
    return Dossier(loan, today, facts, tables, files, letter)


CAUSE_ZH = {"dpd": "按逾期天数", "override": "人工调整", "override_cleared": "取消人工调整"}


def workbook(dossier: Dossier) -> bytes:
    """The dossier as .xlsx: 贷款概况, one sheet per table, and the demand letter's text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "贷款概况"
    for key, value in dossier.facts:
        sheet.append([_text(key), _text(value)])
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 40
    used = {sheet.title}
    for table in dossier.tables:
        name = _sheet_name(table.title, used)
        ws = book.create_sheet(name)
        ws.append(list(table.columns))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for values in table.rows:
            ws.append([_cell(v) for v in values])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
    letter = book.create_sheet("催收函")
    for line in demand_letter_text(dossier).splitlines():
        letter.append([_text(line)])
    letter.column_dimensions["A"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(title: str, used: set[str]) -> str:
    name = "".join(ch for ch in title if ch not in "[]:*?/\\")[:28] or "Sheet"
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name}{n}", n + 1
    used.add(candidate)
    return candidate


def _cell(value: str) -> Any:
    """Amounts as numbers a lawyer's spreadsheet can add (from their text: never a float
    in between), other values as text, without the control characters a worksheet cannot
    hold (a reason typed through the API may have them)."""
    text = value.replace(",", "")
    try:
        number = Decimal(text)
    except ArithmeticError:
        return _text(value)
    return number if number.is_finite() and "." in text and text.count(".") == 1 else value


def _text(value: Any) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def demand_letter_text(dossier: Dossier) -> str:
    return _ENV.get_template("letter.txt").render(**dossier.letter)


def pdf(dossier: Dossier) -> bytes:
    """The dossier as one PDF: the parts and the demand letter rendered with the core's CJK
    font, then each contributed PDF file appended page by page as it was kept."""
    from pypdf import PdfReader, PdfWriter

    html = _ENV.get_template("dossier.html").render(d=dossier, letter=demand_letter_text(dossier))
    css = f'body {{ font-family: "{sdk.PDF_FONT_FAMILY}"; font-size: 9.5pt; }}'
    rendered = sdk.html_to_pdf(html, css + _ENV.get_template("dossier.css").render())
    attached = [f for f in dossier.files if f.content_type == "application/pdf"]
    if not attached:
        return rendered
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(rendered)))
    for file in attached:
        writer.append(PdfReader(io.BytesIO(file.data)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def bundle(dossier: Dossier) -> bytes:
    """A ZIP of the PDF, the workbook and every contributed file."""
    out = io.BytesIO()
    number = dossier.loan.number
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"诉讼材料包-{number}.pdf", pdf(dossier))
        archive.writestr(f"诉讼材料包-{number}.xlsx", workbook(dossier))
        for file in dossier.files:
            archive.writestr(f"附件/{file.name}", file.data)
    return out.getvalue()


FORMATS = {
    "pdf": ("application/pdf", pdf),
    "xlsx": (XLSX, workbook),
    "zip": ("application/zip", bundle),
}


def export(session: Session, loan: sdk.LoanSummary, kind: str) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of the dossier in ``kind`` (pdf, xlsx, zip); the
    export is audited (a lawyer's copy holds personal data)."""
    content_type, render = FORMATS[kind]
    dossier = build(session, loan)
    data = render(dossier)
    sdk.audit_record(
        session,
        "assets.dossier.export",
        "loan",
        loan.id,
        {"format": kind, "sections": [t.title for t in dossier.tables]},
    )
    return f"诉讼材料包-{loan.number}.{kind}", content_type, data
