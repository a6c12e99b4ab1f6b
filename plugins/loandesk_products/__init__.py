"""Products (贷款产品): the catalogue of loan products with their versioned terms, the
tenant's cap on the annualised rate (年化利率上限), and the loan calculator (贷款计算器)
that quotes a customer a schedule from a product or from terms typed in."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk


def _cap_percent(value: object) -> None:
    if value is None or str(value).strip() == "":
        return
    try:
        cap = Decimal(str(value).strip())
    except InvalidOperation:
        cap = Decimal(-1)
    if not cap.is_finite() or not Decimal(0) < cap <= Decimal(100):
        raise ma.ValidationError(sdk.N_("Enter a percentage above 0 and at most 100, such as 24."))


class ProductsSettings(ma.Schema):
    annual_rate_cap = ma.fields.String(
        load_default="24",
        allow_none=True,
        validate=_cap_percent,
        metadata=sdk.setting_labels(
            "年化利率上限（%）",
            "Cap on the annualised rate (%)",
            "按包含全部费用的IRR计算；任何产品版本和试算都不得超过；留空为24",
            "Measured as the IRR with every fee included; no product version or quote may "
            "exceed it; empty: 24",
        ),
    )


PLUGIN = sdk.PluginInfo(
    name="products",
    title_zh="贷款产品",
    title_en="Loan products",
    version="1.0.0",
    description_zh="贷款产品目录：额度与期限范围、利率、还款方式、费用、罚息、冲销顺序、提前还款和"
    "取整规则，按版本发布；年化利率上限；贷款计算器。",
    description_en="The loan product catalogue: amount and period ranges, rate, repayment "
    "method, fees, penalty interest, allocation order, early repayment and rounding, published "
    "in versions; the cap on the annualised rate; the loan calculator.",
    settings_schema=ProductsSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_products.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_products.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_products.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.products.index",
            "产品目录",
            "Product catalogue",
            section="modules",
            order=25,
            permission="products.view",
        ),
        sdk.NavItem(
            "tenant.products.calculator",
            "贷款计算器",
            "Loan calculator",
            section="modules",
            order=26,
            permission="products.view",
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "products.view",
            "查看贷款产品、使用贷款计算器",
            "View loan products and use the loan calculator",
            default_roles=("credit_officer", "risk_manager", "finance", "auditor"),
        ),
        sdk.Permission(
            "products.manage",
            "新建贷款产品、发布新版本",
            "Create loan products and publish new versions",
            default_roles=("risk_manager",),
        ),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [
        sdk.EventType("product.created", "贷款产品已创建", "Product created", "product"),
        sdk.EventType(
            "product.version_published",
            "贷款产品新版本已发布",
            "Product version published",
            "product",
        ),
    ]


@sdk.hookimpl
def loandesk_product_terms(
    session: Any, product_id: uuid.UUID, version: int | None
) -> sdk.ProductTerms | None:
    from loandesk_products.service import product_terms

    return product_terms(session, product_id, version)


@sdk.hookimpl
def loandesk_product_catalogue(
    session: Any, include_inactive: bool
) -> list[sdk.ProductTerms] | None:
    """The products at their version in force: the active ones, or every one."""
    from loandesk_products.service import catalogue

    return catalogue(session, include_inactive=include_inactive)


@sdk.hookimpl
def loandesk_rate_cap() -> Decimal | None:
    """The ``annual_rate_cap`` setting (a percentage) as a fraction."""
    raw = sdk.plugin_settings("products").get("annual_rate_cap")
    if raw is None or str(raw).strip() == "":
        return None
    return Decimal(str(raw).strip()) / 100
