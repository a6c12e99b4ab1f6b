"""Customers (客户管理): the borrowers a firm serves, with their personal data protected by
data scopes and field permissions. The first record type other modules attach to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk

PLUGIN = sdk.PluginInfo(
    name="customers",
    title_zh="客户管理",
    title_en="Customers",
    version="1.0.0",
    description_zh="借款客户档案：身份证号、手机号、银行卡等个人信息加密保存，按数据权限和字段权限查看。",
    description_en="Borrower records: ID number, mobile and bank card encrypted, seen under "
    "data scopes and field permissions.",
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_customers.models  # noqa: F401  (the table joins the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_record_types() -> list[sdk.RecordType]:
    from loandesk_customers.record_type import CUSTOMER

    return [CUSTOMER]


@sdk.hookimpl
def loandesk_retention_subjects() -> list[sdk.RetentionSubject]:
    from loandesk_customers.retention import CUSTOMER_RETENTION

    return [CUSTOMER_RETENTION]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_customers import views_related  # noqa: F401  (its routes join the blueprint)
    from loandesk_customers.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_customers import api_related  # noqa: F401  (its routes join the blueprint)
    from loandesk_customers.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem("tenant.customers.index", "客户", "Customers", section="modules", order=10),
        sdk.NavItem(
            "tenant.customers.duplicates",
            "重复客户",
            "Duplicate customers",
            section="administration",
            permission="customers.merge",
            order=60,
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "customers.create", "新建客户", "Create customers", default_roles=("credit_officer",)
        ),
        sdk.Permission(
            "customers.assign",
            "分配客户经理",
            "Assign customers to credit officers",
            default_roles=("risk_manager",),
        ),
        sdk.Permission(
            "customers.close",
            "终止或恢复客户往来",
            "Close or reopen customer relationships",
            default_roles=("risk_manager", "post_loan_admin"),
        ),
        sdk.Permission(
            "customers.consent",
            "登记或撤回客户授权",
            "Record or withdraw customer consents",
            default_roles=("credit_officer", "risk_manager"),
        ),
        sdk.Permission(
            "customers.merge",
            "合并重复客户",
            "Find and merge duplicate customers",
            default_roles=("risk_manager",),
        ),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [
        sdk.EventType("customer.created", "客户已创建", "Customer created", "customer"),
        sdk.EventType("customer.updated", "客户资料已修改", "Customer changed", "customer"),
        sdk.EventType("customer.assigned", "客户已分配", "Customer assigned", "customer"),
        sdk.EventType("customer.closed", "客户已终止往来", "Customer closed", "customer"),
        sdk.EventType("customer.active", "客户已恢复往来", "Customer reopened", "customer"),
        sdk.EventType("customer.merged", "客户已合并", "Customer merged", "customer"),
    ]


@sdk.hookimpl
def loandesk_report_datasets() -> list[sdk.Dataset]:
    from loandesk_customers.reports import CUSTOMERS

    return [CUSTOMERS]


@sdk.hookimpl
def loandesk_customer_registry() -> sdk.CustomerRegistry:
    from loandesk_customers.registry import Registry

    return Registry()


@sdk.hookimpl
def loandesk_borrower_contacts(session: Any, customer_id: Any) -> sdk.BorrowerContacts | None:
    """How to reach a borrower, masked as the viewer's field permissions say (collections)."""
    from loandesk_customers.contacts import borrower_contacts

    return borrower_contacts(session, customer_id)
