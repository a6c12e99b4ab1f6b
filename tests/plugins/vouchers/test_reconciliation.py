"""Daily reconciliation (对账): ledger, vouchers and what was exported or pushed agree for a
generated and exported day; a voucher missing, a line altered, or a ledger that moved after
the export is flagged on the row it touches, in the API and on the page."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import delete, select, update

from tests.plugins.repayment.conftest import signed_in_as
from tests.plugins.vouchers.conftest import DAY, Seeded


def _reconcile(seeded: Seeded) -> dict:
    answer = seeded.finance.get(f"/vouchers/reconciliation?day={DAY.isoformat()}")
    assert answer.status_code == 200, answer.get_json()
    return dict(answer.get_json())


def _row(report: dict, kind: str, account: str) -> dict:
    (row,) = [r for r in report["rows"] if (r["kind"], r["account"]) == (kind, account)]
    return dict(row)


def _exported(seeded: Seeded) -> None:
    seeded.map_all()
    assert seeded.generate().status_code == 200
    answer = seeded.finance.post("/vouchers/exports", json={"day": DAY.isoformat(), "format": "u8"})
    assert answer.status_code == 200


def test_an_exported_day_agrees(seeded: Seeded) -> None:
    _exported(seeded)
    report = _reconcile(seeded)
    assert report["matches"] is True
    nets = seeded.ledger_nets()
    assert Decimal(_row(report, "repayment", "cash")["ledger"]) == nets[("payment", "cash")]
    assert all(r["sent_state"] == "exported" for r in report["rows"])
    assert len(report["rows"]) >= 10


def test_an_altered_line_and_a_missing_voucher_are_flagged(seeded: Seeded) -> None:
    from loandesk_vouchers.models import Voucher, VoucherLine

    _exported(seeded)
    by_kind = {v["kind"]: v for v in seeded.vouchers()}
    interest = next(
        line for line in by_kind["repayment"]["lines"] if line["account"] == "receivable_interest"
    )
    with seeded.session() as session:  # someone edits a line in the database
        session.execute(
            update(VoucherLine)
            .where(
                VoucherLine.voucher_id == uuid.UUID(by_kind["repayment"]["id"]),
                VoucherLine.account == "receivable_interest",
            )
            .values(credit=Decimal(interest["credit"]) - Decimal("1.00"))
        )
        doomed = uuid.UUID(by_kind["write_off"]["id"])
        session.execute(delete(VoucherLine).where(VoucherLine.voucher_id == doomed))
        session.execute(delete(Voucher).where(Voucher.id == doomed))
    report = _reconcile(seeded)
    assert report["matches"] is False
    altered = _row(report, "repayment", "receivable_interest")
    assert altered["voucher_differs"] and altered["sent_differs"]
    assert Decimal(altered["vouchers"]) - Decimal(altered["ledger"]) == Decimal("1.00")
    missing = _row(report, "write_off", "written_off")
    assert missing["voucher_differs"] and Decimal(missing["vouchers"]) == 0
    assert Decimal(missing["ledger"]) == seeded.written_off_total
    assert _row(report, "disbursement", "funds_disbursed")["matches"]
    page = signed_in_as(seeded.desk).get(
        f"/t/{seeded.desk.firm.tenant.slug}/vouchers/reconciliation?day={DAY.isoformat()}"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-matches="no"' in html and "badge-danger" in html


def test_a_ledger_that_moved_after_the_export_is_flagged(seeded: Seeded) -> None:
    from loandesk_vouchers.models import Voucher

    _exported(seeded)
    more = seeded.desk.pay(seeded.paid_id, "100.00", DAY)  # posted late, for the same day
    assert more.status_code == 201
    report = _reconcile(seeded)
    cash = _row(report, "repayment", "cash")
    assert cash["voucher_differs"] and not cash["sent_differs"]
    # generating again leaves the exported voucher as it was sent
    assert seeded.generate().get_json()["kept"] == 4
    with seeded.session() as session:
        assert {v.state for v in session.scalars(select(Voucher))} == {"exported"}
    assert _row(_reconcile(seeded), "repayment", "cash")["voucher_differs"]
