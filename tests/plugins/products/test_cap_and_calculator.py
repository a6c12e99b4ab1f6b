"""The cap on the annualised rate (年化利率上限) measured on the IRR with every fee included,
over a product's whole ranges; and the loan calculator (``POST /schedules/preview``)."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import Flask

from loandesk import sdk
from tests.helpers import ApiClient, tenant_session
from tests.plugins.products.conftest import TERMS, Shop, enable, new_product

# 3% of the principal kept out of the payout: 20% nominal is a 38.88% IRR over 3 months,
# 25.94% over 12 and 23.20% over 24 (finance.build_schedule, 1,000 yuan)
DEDUCTED = {"code": "service_fee", "kind": "upfront", "basis": "percent", "value": "0.03",
            "deducted": True}  # fmt: skip
# 15 yuan every month: 40.88% a year on 1,000 yuan, 10.64% on 50,000 (10% nominal, 12 months)
MONTHLY_FIXED = {"code": "account_fee", "kind": "per_installment", "basis": "fixed",
                 "value": "15.00"}  # fmt: skip


def _post(api: ApiClient, code: str = "P1", **terms: object) -> object:
    return api.post("/products", json={"code": code, "name": "产品", "terms": {**TERMS, **terms}})


def test_the_cap_is_checked_on_the_irr_with_fees_not_on_the_nominal_rate(
    shop: Shop, api_a: ApiClient, app: Flask
) -> None:
    over = _post(shop.risk, annual_rate="0.20", fees=[DEDUCTED])
    assert over.status_code == 422  # type: ignore[attr-defined]
    problem = over.get_json()  # type: ignore[attr-defined]
    assert list(problem["errors"]) == ["annual_rate"]
    # the worst loan: the fewest periods (the exact rate moves a little with the start date)
    assert re.search(
        r"is 3[89]\.\d\d% for 1,000\.00 over 3 periods", problem["errors"]["annual_rate"][0]
    )
    assert "cap of 24.00%" in problem["errors"]["annual_rate"][0]

    # a fixed fee weighs most on the smallest amount
    small = _post(shop.risk, annual_rate="0.10", fees=[MONTHLY_FIXED], min_periods=12)
    assert small.status_code == 422  # type: ignore[attr-defined]
    assert "1,000.00" in small.get_json()["errors"]["annual_rate"][0]  # type: ignore[attr-defined]
    assert shop.risk.get("/products").get_json()["total"] == 0  # nothing saved

    large_only = _post(
        shop.risk, annual_rate="0.10", fees=[MONTHLY_FIXED], min_amount="20000.00", min_periods=12
    )
    assert large_only.status_code == 201  # type: ignore[attr-defined]
    product = large_only.get_json()  # type: ignore[attr-defined]
    # a new version over the cap is refused too, and the one in force stays
    worse = shop.risk.put(
        f"/products/{product['id']}", json={"terms": {**TERMS, "fees": [MONTHLY_FIXED]}}
    )
    assert worse.status_code == 422 and list(worse.get_json()["errors"]) == ["annual_rate"]
    assert shop.risk.get(f"/products/{product['id']}").get_json()["latest_version"] == 1

    # the tenant raises its cap: the same terms now pass
    refused = api_a.put(
        "/plugins/products", json={"enabled": True, "settings": {"annual_rate_cap": "abc"}}
    )
    assert refused.status_code == 422 and "annual_rate_cap" in refused.get_json()["errors"]
    enable(api_a, annual_rate_cap="40")
    with tenant_session(app, shop.tenant.slug):
        assert sdk.rate_cap() == Decimal("0.4")
    again = _post(shop.risk, code="P2", annual_rate="0.20", fees=[DEDUCTED])
    assert again.status_code == 201, again.get_json()  # type: ignore[attr-defined]


def test_the_calculator_quotes_every_installment_with_the_irr_and_apr(shop: Shop) -> None:
    body = {
        "principal": "10000.00",
        "periods": 12,
        "start_date": "2026-03-01",
        "annual_rate": "0.12",
        "frequency": "monthly",
        "method": "equal_installment",
    }
    quoted = shop.officer.post("/schedules/preview", json=body)
    assert quoted.status_code == 200, quoted.get_json()
    found = quoted.get_json()
    rows = found["installments"]
    assert len(rows) == 12 and rows[0]["total"] == "888.49"  # the textbook annuity
    assert rows[0]["due_date"] == "2026-04-01" and rows[-1]["balance"] == "0.00"
    assert sum(Decimal(r["principal"]) for r in rows) == Decimal("10000.00")
    assert found["totals"]["principal"] == "10000.00"
    assert Decimal(found["totals"]["total"]) == sum(Decimal(r["total"]) for r in rows)
    assert found["annual_rate_irr"].startswith("0.12") and found["apr"].startswith("0.12")
    assert found["product_id"] is None and found["rate_cap"] == "0.24"

    over = shop.officer.post(
        "/schedules/preview",
        json={**body, "periods": 3, "annual_rate": "0.20", "fees": [DEDUCTED]},
    )
    assert over.status_code == 422 and list(over.get_json()["errors"]) == ["annual_rate"]
    wrong = shop.officer.post(
        "/schedules/preview", json={**body, "principal": "-5", "method": "balloon"}
    )
    assert wrong.status_code == 422 and sorted(wrong.get_json()["errors"]) == [
        "method",
        "principal",
    ]
    assert shop.staff["collector"].api.post("/schedules/preview", json=body).status_code == 403


def test_a_quote_on_a_product_keeps_to_its_ranges_and_its_versions(shop: Shop) -> None:
    product = new_product(shop.risk)
    loan = {"product_id": product["id"], "principal": "10000.00", "periods": 12,
            "start_date": "2026-03-01"}  # fmt: skip
    first = shop.officer.post("/schedules/preview", json=loan)
    assert first.status_code == 200 and first.get_json()["version"] == 1
    assert first.get_json()["installments"][0]["total"] == "888.49"

    outside = shop.officer.post(
        "/schedules/preview", json={**loan, "principal": "500.00", "periods": 36}
    )
    assert outside.status_code == 422
    assert sorted(outside.get_json()["errors"]) == ["periods", "principal"]
    unknown = shop.officer.post("/schedules/preview", json={**loan, "product_id": "nope"})
    assert unknown.status_code == 422 and list(unknown.get_json()["errors"]) == ["product_id"]

    shop.risk.put(f"/products/{product['id']}", json={"terms": {**TERMS, "annual_rate": "0.15"}})
    latest = shop.officer.post("/schedules/preview", json=loan).get_json()
    assert latest["version"] == 2 and latest["installments"][0]["total"] == "902.58"
    older = shop.officer.post("/schedules/preview", json={**loan, "version": 1}).get_json()
    assert older["version"] == 1 and older["installments"][0]["total"] == "888.49"


def test_due_dates_roll_off_chinese_holidays_and_a_dated_single_payment(shop: Shop) -> None:
    body = {
        "principal": "10000.00",
        "periods": 3,
        "start_date": "2026-09-01",
        "annual_rate": "0.12",
        "frequency": "monthly",
        "method": "equal_principal",
        "date_roll": "following",
    }
    rows = shop.officer.post("/schedules/preview", json=body).get_json()["installments"]
    # 1 October is National Day (国庆节): the first working day after the holiday is the 8th
    assert [r["due_date"] for r in rows] == ["2026-10-08", "2026-11-02", "2026-12-01"]
    assert [r["principal"] for r in rows] == ["3333.33", "3333.33", "3333.34"]

    single = {**body, "periods": 1, "frequency": "single", "method": "single_payment",
              "date_roll": "none", "maturity_date": "2026-12-01"}  # fmt: skip
    answer = shop.officer.post("/schedules/preview", json=single)
    assert answer.status_code == 200, answer.get_json()
    assert [r["due_date"] for r in answer.get_json()["installments"]] == ["2026-12-01"]
    missing = shop.officer.post("/schedules/preview", json={**single, "maturity_date": None})
    assert missing.status_code == 422 and list(missing.get_json()["errors"]) == ["maturity_date"]
    # a product cannot be single-dated: its loans run a number of periods
    refused = shop.risk.post(
        "/products",
        json={"code": "S1", "name": "到期一次还", "terms": {**TERMS, "frequency": "single"}},
    )
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["frequency"]
