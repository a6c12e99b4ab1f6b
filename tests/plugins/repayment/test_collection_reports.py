# ruff: noqa: F811  (fixtures imported from the repayment tests are used by name)
"""Collections against what was due (应收实收对比, issue 10 item 8): the built-in reports by
due month and by product give the figures worked out by hand for the loan book of
``report_portfolio`` — a reversed payment collecting nothing, a late payment collected but
not on time, unpaid installments overdue — under the viewer's data scope, on the reports
page in Chinese and in the export."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal
from html import unescape
from typing import Any

from tests.helpers import ApiClient
from tests.platform.reports.test_designer_web import table_cells
from tests.plugins.repayment.conftest import desk  # noqa: F401
from tests.plugins.repayment.report_portfolio import (  # noqa: F401
    Portfolio,
    may_export,
    portfolio,
)

BY_MONTH = "repayment.collections_by_month"
BY_PRODUCT = "repayment.collections_by_product"
FIGURES = (
    "due",
    "collected",
    "collection_rate",
    "collected_on_time",
    "on_time_rate",
    "outstanding",
    "overdue_outstanding",
)


def rate(numerator: str, denominator: str) -> str:
    quotient = Decimal(numerator) / Decimal(denominator)
    return str(quotient.quantize(Decimal("0.0001"), ROUND_HALF_UP))


def expected(due: str, collected: str, on_time: str | None, owed: str) -> dict[str, Any]:
    """A row's figures: a sum over no installment is None (nothing was on time, none
    overdue), a ratio's missing numerator 0."""
    return {
        "due": due,
        "collected": collected,
        "collection_rate": rate(collected, due),
        "collected_on_time": on_time,
        "on_time_rate": rate(on_time or "0", due),
        "outstanding": owed,
        "overdue_outstanding": owed if Decimal(owed) else None,
    }


# due month → installments of A (XF01) and B (XF02) due then
MONTHS = {
    # A 1030.07 + B 1030.00, both paid on the day
    "2025-02-01": expected("2060.07", "2060.07", "2060.07", "0.00"),
    # A 1030.07 paid late (03-20), B 1020.00 on the day
    "2025-03-01": expected("2050.07", "2050.07", "1020.00", "0.00"),
    # A 1030.06: 333.33 paid (the 100.00 reversed); B 1010.00: 500.01 paid
    "2025-04-01": expected("2040.06", "833.34", None, "1206.72"),
}
PRODUCTS = {
    # 1030.07 + 1030.07 + 1030.06 due; 1030.07 + 1030.07 + 333.33 collected
    "XF01": expected("3090.20", "2393.47", "1030.07", "696.73"),
    # 1030.00 + 1020.00 + 1010.00 due; 1030.00 + 1020.00 + 500.01 collected
    "XF02": expected("3060.00", "2550.01", "2050.00", "509.99"),
}


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: {k: row[k] for k in FIGURES} for row in rows}


def test_collections_by_due_month_are_the_hand_worked_figures(portfolio: Portfolio) -> None:
    found = _by(portfolio.run("finance", BY_MONTH), "due_date")
    assert found == MONTHS
    # the rates as worked out: 1020.00 / 2050.07 and 833.34 / 2040.06
    assert found["2025-03-01"]["on_time_rate"] == "0.4975"
    assert found["2025-04-01"]["collection_rate"] == "0.4085"


def test_collections_by_product_are_the_hand_worked_figures(portfolio: Portfolio) -> None:
    found = _by(portfolio.run("finance", BY_PRODUCT), "product")
    assert found == PRODUCTS
    assert (found["XF01"]["collection_rate"], found["XF02"]["on_time_rate"]) == (
        "0.7745",
        "0.6699",
    )


def test_the_parts_and_counts_add_up(portfolio: Portfolio) -> None:
    """Each part due and collected, and how the installments stand, by product."""
    spec = {
        "dataset": "repayment.collections",
        "dimensions": [{"key": "product"}, {"key": "standing"}],
        "measures": [
            "installments",
            "principal_due",
            "principal_collected",
            "interest_collected",
            "fees_collected",
            "penalty_collected",
            "overdue_installments",
        ],
    }
    answer = portfolio.reader("finance").post("/reports/query", json=spec)
    assert answer.status_code == 200, answer.get_json()
    found = {
        (r["product"], r["standing"]): tuple(r[m] for m in spec["measures"])
        for r in answer.get_json()["rows"]
    }
    assert found == {
        ("XF01", "on_time"): (1, "990.07", "990.07", "30.00", "10.00", "0.00", 0),
        ("XF01", "late"): (1, "999.97", "999.97", "20.10", "10.00", "0.00", 0),
        # 333.33 = fees 10.00 + interest 10.10 + principal 313.23
        ("XF01", "overdue"): (1, "1009.96", "313.23", "10.10", "10.00", "0.00", 1),
        ("XF02", "on_time"): (2, "2000.00", "2000.00", "50.00", "0.00", "0.00", 0),
        ("XF02", "overdue"): (1, "1000.00", "490.01", "10.00", "0.00", "0.00", 1),
    }


def test_a_credit_officer_sees_only_their_loans(portfolio: Portfolio) -> None:
    assert _by(portfolio.run("officer1", BY_PRODUCT), "product") == {"XF01": PRODUCTS["XF01"]}
    assert _by(portfolio.run("officer3", BY_PRODUCT), "product") == {"XF02": PRODUCTS["XF02"]}
    # officer2 (一组, like officer1) owns no loan
    assert portfolio.run("officer2", BY_MONTH) == []
    officer1 = _by(portfolio.run("officer1", BY_MONTH), "due_date")
    assert officer1["2025-03-01"] == expected("1030.07", "1030.07", None, "0.00")


def test_the_reports_page_lists_and_shows_them_in_chinese(portfolio: Portfolio) -> None:
    web = portfolio.web("finance")
    listing = unescape(web.get("/reports").get_data(as_text=True))
    for key in (BY_MONTH, BY_PRODUCT):
        assert f'id="builtin-{key.replace(".", "-")}"' in listing
    assert "应收实收对比" in listing and "应收实收对比（按产品）" in listing
    page = web.get(f"/reports/builtin/{BY_MONTH}")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = unescape(page.get_data(as_text=True))
    for label in ("应还日期", "应收金额", "实收金额", "回收率", "按时实收金额", "逾期未还金额"):
        assert label in html, label
    assert table_cells(html) == [
        ["2025-02", "2060.07", "2060.07", "100.00%", "2060.07", "100.00%", "0.00", "–"],
        ["2025-03", "2050.07", "2050.07", "100.00%", "1020.00", "49.75%", "0.00", "–"],
        ["2025-04", "2040.06", "833.34", "40.85%", "–", "0.00%", "1206.72", "1206.72"],
    ]


def test_the_export_carries_the_same_numbers(portfolio: Portfolio, api_a: ApiClient) -> None:
    """By the loan's unit (一组: loan A, 二组: loan B), the file holds the page's figures."""
    may_export(api_a)
    spec = {
        "dataset": "repayment.collections",
        "dimensions": [{"key": "org_unit_id"}],
        "measures": list(FIGURES),
        "format": "csv",
    }
    reader = portfolio.reader("finance")
    answer = reader.post("/reports/export", json=spec, headers={"Accept-Language": "zh-CN"})
    assert answer.status_code == 200, answer.get_json()
    header, *rows = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    assert header == ["所属部门", "应收金额", "实收金额", "回收率", "按时实收金额", "按时回收率",
                      "未还金额", "逾期未还金额"]  # fmt: skip
    found = {row[0]: row[1:] for row in rows}

    def written(figures: dict[str, Any]) -> list[str]:
        """As the file writes them: exact decimals, nothing as an empty cell."""
        return ["" if figures[k] is None else figures[k] for k in FIGURES]

    assert found == {"一组": written(PRODUCTS["XF01"]), "二组": written(PRODUCTS["XF02"])}


def test_the_builtin_report_exports_from_its_page(portfolio: Portfolio, api_a: ApiClient) -> None:
    may_export(api_a)
    download = portfolio.web("finance").get(f"/reports/builtin/{BY_PRODUCT}/export.csv")
    assert download.status_code == 200
    header, *rows = list(csv.reader(io.StringIO(download.get_data().decode("utf-8-sig"))))
    assert header[:3] == ["产品", "应收金额", "实收金额"]
    found = {row[0]: row[1:3] for row in rows}
    assert found == {p: [f["due"], f["collected"]] for p, f in PRODUCTS.items()}
