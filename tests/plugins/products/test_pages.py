"""The product pages: the catalogue's empty state, the editor (every problem next to its
field, nothing typed lost, the live IRR preview), the version history with what changed,
and the loan calculator's schedule fragment; staff without the permissions are refused."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_from
from tests.plugins.products.conftest import Shop, browser

EN = {"Accept-Language": "en"}
HTMX = {**EN, "HX-Request": "true"}


def product_form(**values: str) -> dict[str, str]:
    """The editor's fields as a browser posts them (every select has a value)."""
    form = {
        "code": "XF01", "name": "工薪消费贷", "active": "on", "note": "",
        "min_amount": "1000.00", "max_amount": "50000.00", "min_periods": "3",
        "max_periods": "24", "annual_rate": "12", "method": "equal_installment",
        "frequency": "monthly", "interest_only_periods": "", "day_count": "30/360",
        "first_period": "full", "due_day": "", "date_roll": "none",
        "fees-0-code": "", "fees-0-kind": "upfront", "fees-0-basis": "percent", "fees-0-value": "",
        "fees-1-code": "", "fees-1-kind": "upfront", "fees-1-basis": "percent", "fees-1-value": "",
        "penalty-annual_rate": "", "penalty-base": "overdue_principal", "penalty-grace_days": "0",
        "allocation_order-0": "penalty", "allocation_order-1": "fees",
        "allocation_order-2": "interest", "allocation_order-3": "principal",
        "early_repayment-allowed": "on", "early_repayment-fee_percent": "0",
        "early_repayment-min_periods_paid": "0", "rounding-installment": "cent_half_up",
        "rounding-remainder": "last", "rounding-interest_on_rounded_balance": "on",
    }  # fmt: skip
    return {**form, **values}


def _post(web: FlaskClient, path: str, data: dict[str, Any], headers: Any = None) -> Any:
    token = csrf_from(web, path if "/rates" not in path else path.replace("/rates", "/new"))
    return web.post(path, data={"csrf_token": token, **data}, headers=headers or EN)


def _error_of(html: str, field: str) -> str:
    found = re.search(rf'id="f-{field}-error">(.*?)</div>\s*</div>', html, re.S)
    assert found, f"no error shown at {field}"
    return re.sub(r"<[^>]+>", " ", found.group(1))


def test_the_editor_refuses_in_place_publishes_and_shows_the_history(
    shop: Shop, app: Flask
) -> None:
    web = browser(app, shop, "risk")
    base = f"/t/{shop.tenant.slug}/products"
    empty = web.get(f"{base}/", headers=EN).get_data(as_text=True)
    assert "No loan products yet" in empty and f"{base}/new" in empty
    page = web.get(f"{base}/new", headers=EN).get_data(as_text=True)
    for name in (
        "penalty-annual_rate",
        "allocation_order-3",
        "fees-1-value",
        "rounding-installment",
    ):
        assert f'name="{name}"' in page

    # 20% nominal, under the cap; a 3% fee kept out of the payout takes the IRR over it
    over = _post(web, f"{base}/new", product_form(**{
        "annual_rate": "20", "fees-0-code": "service_fee", "fees-0-value": "3",
        "fees-0-deducted": "on", "max_amount": "500",
    }))  # fmt: skip
    assert over.status_code == 422
    html = over.get_data(as_text=True)
    assert "Enter at least the smallest amount." in _error_of(html, "max_amount")
    assert 'value="service_fee"' in html and 'value="20"' in html  # nothing typed is lost
    capped = _post(web, f"{base}/new", product_form(**{
        "annual_rate": "20", "fees-1-code": "service_fee", "fees-1-value": "3",
        "fees-1-deducted": "on",
    }))  # fmt: skip
    assert capped.status_code == 422
    assert "over the cap of 24.00%" in _error_of(capped.get_data(as_text=True), "annual_rate")
    bad_fee = _post(
        web, f"{base}/new", product_form(**{"fees-1-code": "Bad!", "fees-1-value": "3"})
    )
    assert "Use lowercase letters" in _error_of(bad_fee.get_data(as_text=True), "fees-1-code")
    assert "No loan products yet" in web.get(f"{base}/", headers=EN).get_data(as_text=True)

    saved = _post(web, f"{base}/new", product_form())
    assert saved.status_code == 302, saved.get_data(as_text=True)
    detail_path = saved.headers["Location"]
    edit = web.get(f"{detail_path}/edit", headers=EN).get_data(as_text=True)
    assert 'value="12"' in edit  # the rate in force, as a percentage
    published = _post(web, f"{detail_path}/edit", product_form(annual_rate="15", note="调价"))
    assert published.status_code == 302
    detail = web.get(detail_path, headers=EN).get_data(as_text=True)
    assert "v2" in detail and "调价" in detail
    assert re.search(r"<del>12%</del>.*?<ins>15%</ins>", detail, re.S)
    old = web.get(f"{detail_path}/versions/1", headers=EN).get_data(as_text=True)
    assert "Superseded by v2" in old and "12%" in old

    preview = _post(web, f"{base}/rates", product_form(annual_rate="12"), headers=HTMX)
    assert preview.status_code == 200
    assert "Within the cap" in preview.get_data(as_text=True)
    too_dear = _post(web, f"{base}/rates", product_form(annual_rate="30"), headers=HTMX)
    assert "Over the cap" in too_dear.get_data(as_text=True)


def test_officers_read_and_quote_collectors_do_neither(shop: Shop, app: Flask) -> None:
    officer = browser(app, shop, "officer")
    base = f"/t/{shop.tenant.slug}/products"
    with officer.session_transaction() as state:
        state["locale"] = "zh_CN"
    chinese = officer.get(f"{base}/").get_data(as_text=True)
    assert "产品目录" in chinese and "贷款计算器" in chinese  # the menu, Chinese first
    with officer.session_transaction() as state:
        state["locale"] = "en"
    listing = officer.get(f"{base}/", headers=EN).get_data(as_text=True)
    assert f"{base}/new" not in listing
    assert officer.get(f"{base}/new", headers=EN).status_code == 403
    collector = browser(app, shop, "collector")
    assert collector.get(f"{base}/", headers=EN).status_code == 403
    assert collector.get(f"{base}/calculator", headers=EN).status_code == 403


def test_the_calculator_answers_a_printable_schedule(shop: Shop, app: Flask) -> None:
    officer = browser(app, shop, "officer")
    path = f"/t/{shop.tenant.slug}/products/calculator"
    page = officer.get(path, headers=EN)
    assert page.status_code == 200 and 'name="principal"' in page.get_data(as_text=True)
    for asset in ("products.css", "products.js"):  # the print styles and the Print button
        assert f"/products/static/{asset}" in page.get_data(as_text=True)
        served = officer.get(f"/t/{shop.tenant.slug}/products/static/{asset}")
        assert served.status_code == 200 and b"print" in served.data
    loan = product_form(principal="10000", periods="12", start_date="2026-03-01", product_id="")
    answer = _post(officer, path, loan, headers=HTMX)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="quote"')  # the fragment only
    assert html.count("888.49") >= 11 and "2026-04-01" in html and "data-print" in html
    assert "12.00%" in html  # the annualised rate

    wrong = _post(officer, path, {**loan, "principal": "0", "annual_rate": "30"}, headers=HTMX)
    assert wrong.status_code == 422
    problems = wrong.get_data(as_text=True)
    assert 'data-field="principal"' in problems
    full = _post(officer, path, {**loan, "principal": "0"})
    assert full.status_code == 422 and 'id="f-principal-error"' in full.get_data(as_text=True)
