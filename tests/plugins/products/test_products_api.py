"""Products through the API: who may keep and read them, versions that keep old terms, the
hook other plugins read terms through, audit and events, and tenant isolation."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from loandesk import sdk
from loandesk.events import OutboxEvent
from tests.helpers import ApiClient, TenantFixture, tenant_session
from tests.plugins.customers.conftest import add_staff, audit_events
from tests.plugins.products.conftest import TERMS, Shop, enable, new_product


def test_risk_managers_keep_products_officers_read_them_collectors_neither(shop: Shop) -> None:
    body = {"code": "XF01", "name": "工薪消费贷", "terms": TERMS}
    assert shop.officer.post("/products", json=body).status_code == 403
    assert shop.staff["collector"].api.get("/products").status_code == 403

    made = new_product(shop.risk)
    assert made["latest_version"] == 1 and made["active"] is True
    assert made["terms"]["annual_rate"] == "0.12" and made["terms"]["min_amount"] == "1000.00"
    # what was not written takes the product defaults
    assert made["terms"]["allocation_order"] == ["penalty", "fees", "interest", "principal"]
    assert made["terms"]["rounding"]["installment"] == "cent_half_up"
    assert [v["number"] for v in made["versions"]] == [1]

    again = shop.risk.post("/products", json=body)
    assert again.status_code == 422 and list(again.get_json()["errors"]) == ["code"]

    for i in range(2, 5):
        new_product(shop.risk, code=f"XF0{i}")
    page = shop.officer.get("/products?per_page=2&page=2").get_json()
    assert page["total"] == 4 and [p["code"] for p in page["items"]] == ["XF03", "XF04"]
    read = shop.officer.get(f"/products/{made['id']}")
    assert read.status_code == 200 and read.get_json()["code"] == "XF01"

    stopped = shop.risk.patch(f"/products/{made['id']}", json={"active": False})
    assert stopped.status_code == 200 and stopped.get_json()["latest_version"] == 1
    assert shop.officer.get("/products?active=true").get_json()["total"] == 3


def test_a_change_publishes_a_version_and_old_versions_keep_their_terms(
    shop: Shop, app: Flask
) -> None:
    made = new_product(shop.risk, fees=[])
    path = f"/products/{made['id']}"
    changed = {
        **TERMS,
        "annual_rate": "0.15",
        "fees": [{"code": "service_fee", "kind": "upfront", "basis": "percent", "value": "0.01"}],
        "penalty": {
            "annual_rate": "0.18",
            "base": "overdue_principal_and_interest",
            "grace_days": 3,
        },
    }
    put = shop.risk.put(path, json={"name": "工薪贷二代", "terms": changed, "note": "调价"})
    assert put.status_code == 200, put.get_json()
    assert (
        put.get_json()["latest_version"] == 2 and put.get_json()["terms"]["annual_rate"] == "0.15"
    )
    posted = shop.risk.post(f"{path}/versions", json={"terms": {**changed, "max_periods": 12}})
    assert posted.status_code == 201 and posted.get_json()["number"] == 3
    assert posted.get_json()["changes"] == {"max_periods": [24, 12]}
    assert posted.get_json()["name"] == "工薪贷二代"  # the name stays unless given

    first = shop.officer.get(f"{path}/versions/1").get_json()
    assert first["terms"]["annual_rate"] == "0.12" and first["terms"]["penalty"] is None
    history = shop.officer.get(f"{path}/versions").get_json()
    assert [v["number"] for v in history] == [3, 2, 1]
    assert history[1]["changes"]["annual_rate"] == ["0.12", "0.15"]
    assert history[1]["changes"]["fees.0.code"] == [None, "service_fee"]
    assert "fees" not in history[1]["changes"]  # a fee's own terms, not an empty list
    assert shop.officer.get(f"{path}/versions/4").status_code == 404

    # other plugins read the terms through the hook: the version asked for, or the latest
    with tenant_session(app, shop.tenant.slug) as session:
        old = sdk.product_terms(session, uuid.UUID(made["id"]), 1)
        latest = sdk.product_terms(session, uuid.UUID(made["id"]))
        assert (old.version, old.annual_rate, old.fees, old.name) == (
            1,
            Decimal("0.12"),
            (),
            "工薪消费贷",
        )
        assert (latest.version, latest.max_periods, latest.penalty.grace_days) == (3, 12, 3)
        assert latest.fees[0].value == Decimal("0.01") and latest.code == "XF01"
        events = session.scalars(select(OutboxEvent.name).order_by(OutboxEvent.created_at)).all()
    assert [e for e in events if e.startswith("product.")] == [
        "product.created", "product.version_published", "product.version_published",
    ]  # fmt: skip
    published = audit_events(app, shop, "products.version.publish")  # type: ignore[arg-type]
    assert published[0].diff["version"] == [1, 2]
    assert published[0].diff["annual_rate"] == ["0.12", "0.15"]
    assert len(audit_events(app, shop, "products.product.create")) == 1  # type: ignore[arg-type]


def test_terms_outside_their_ranges_are_refused_naming_each_field(shop: Shop) -> None:
    def refused(**terms: object) -> list[str]:
        body = {"code": "BAD", "name": "坏产品", "terms": {**TERMS, **terms}}
        response = shop.risk.post("/products", json=body)
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["code"] == "validation_error"
        return sorted(response.get_json()["errors"])

    assert refused(max_amount="500.00") == ["max_amount"]
    assert refused(min_periods=0, max_periods=400) == ["max_periods", "min_periods"]
    assert refused(annual_rate="1.5") == ["annual_rate"]
    assert refused(annual_rate=0.12) == ["annual_rate"]  # a JSON number is no rate
    assert refused(allocation_order=["fees", "fees", "interest", "principal"]) == [
        "allocation_order"
    ]
    assert refused(
        fees=[{"code": "Bad Code", "kind": "monthly", "basis": "fixed", "value": "-1"}]
    ) == ["fees.0.code", "fees.0.kind", "fees.0.value"]
    assert refused(penalty={"annual_rate": "0.2", "grace_days": 400}) == ["penalty.grace_days"]
    assert refused(first_period="broken") == ["due_day"]
    assert refused(interest_only_periods=2) == ["interest_only_periods"]
    assert refused(surprise=1) == ["surprise"]
    assert shop.risk.get("/products").get_json()["total"] == 0  # nothing saved


def test_tenants_see_only_their_own_products(
    shop: Shop, app: Flask, client: FlaskClient, tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    made = new_product(shop.risk)
    enable(api_b)
    company = api_b.get("/org-units").get_json()["items"][0]["id"]
    other = add_staff(app, client, tenant_b, "risk_b", ["risk_manager"], company).api
    assert other.get("/products").get_json()["total"] == 0
    assert other.get(f"/products/{made['id']}").status_code == 404
    assert other.get(f"/products/{made['id']}/versions/1").status_code == 404
    put = other.put(f"/products/{made['id']}", json={"terms": TERMS})
    assert put.status_code == 404
    assert new_product(other)["code"] == "XF01"  # codes are unique per tenant only
    with tenant_session(app, tenant_b.slug) as session:
        with pytest.raises(sdk.NotFound):
            sdk.product_terms(session, uuid.UUID(made["id"]))
    with tenant_session(app, shop.tenant.slug) as session:
        assert sdk.product_terms(session, uuid.UUID(made["id"])).version == 1
    assert shop.risk.get("/products").get_json()["total"] == 1


def test_two_publications_of_the_same_version_number_do_not_both_land(
    shop: Shop, app: Flask
) -> None:
    from loandesk_products import service

    from loandesk.tenancy import service as tenancy
    from loandesk.tenancy import use

    made = new_product(shop.risk)
    ext = app.extensions["loandesk"]
    with app.app_context():
        stale = ext.db.session_factory()  # a second request's session, read before the first
        try:
            tenant = tenancy.get_by_slug(stale, shop.tenant.slug).ref()
            with use(tenant):
                product = service.get_product(stale, uuid.UUID(made["id"]))
                stale.commit()  # keeps the loaded product (no expiry on commit)
                changed = {"terms": {**TERMS, "annual_rate": "0.13"}}
                assert shop.risk.put(f"/products/{made['id']}", json=changed).status_code == 200
                with pytest.raises(sdk.Conflict):
                    service.publish_version(stale, product, {"terms": TERMS})
                stale.rollback()
        finally:
            stale.close()
    history = shop.risk.get(f"/products/{made['id']}/versions").get_json()
    assert [(v["number"], v["terms"]["annual_rate"]) for v in history] == [
        (2, "0.13"),
        (1, "0.12"),
    ]
