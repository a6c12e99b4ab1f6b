"""Credit data (征信数据): external credit and anti-fraud variables of a customer, through a
connector chosen per tenant, only with the customer's credit-query consent; results reused for
the tenant's validity, every external call counted with its cost; and the customer's own
history as variables too. ``service.variables(session, customer_id)`` is what risk rules read.

The connector contract is ``loandesk_credit.connectors`` (the ``loandesk_credit_connectors``
hook); the built-in connector speaks the HTTP JSON bureau API of ``docs/connectors.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_credit.settings import CreditSettings

PLUGIN = sdk.PluginInfo(
    name="credit",
    title_zh="征信数据",
    title_en="Credit data",
    version="1.0.0",
    description_zh="经客户授权查询外部征信与反欺诈数据（多头借贷等），结果按有效期缓存，"
    "每次外部查询计费；客户在本机构的历史也作为变量。",
    description_en="External credit and anti-fraud data with the customer's consent, cached "
    "for a validity period, each external query counted with its cost; the customer's own "
    "history as variables too.",
    depends_on=("customers",),
    settings_schema=CreditSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_credit.models  # noqa: F401  (the table joins the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_credit.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_credit.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.credit.queries",
            "征信查询记录",
            "Credit queries",
            permission="credit.view_queries",
            order=45,
        )
    ]


@sdk.hookimpl
def loandesk_credit_connectors() -> list[Any]:
    from loandesk_credit.bureau import BUREAU

    return [BUREAU]


@sdk.hookimpl
def loandesk_connectors() -> list[sdk.Connector]:
    from loandesk_credit.bureau import BUREAU, probe

    return [sdk.Connector(BUREAU.key, BUREAU.label_zh, BUREAU.label_en, "credit", probe)]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "credit.query",
            "查询客户征信数据",
            "Query customers' credit data",
            default_roles=("credit_officer", "risk_manager"),
        ),
        sdk.Permission(
            "credit.view_queries",
            "查看征信查询记录与费用",
            "See credit queries and their cost",
            default_roles=("finance", "risk_manager", "auditor"),
        ),
    ]


@sdk.hookimpl
def loandesk_risk_variable_kinds(record_type: sdk.RecordType) -> dict[str, str] | None:
    from loandesk_credit import service

    return service.variable_kinds() if record_type.key == "application" else None


@sdk.hookimpl
def loandesk_risk_variables(
    session: Session, record_type: sdk.RecordType, record: Any
) -> dict[str, Any] | None:
    from loandesk_credit import service

    customer_id = getattr(record, "customer_id", None)
    if record_type.key != "application" or customer_id is None:
        return None
    return dict(service.decision_variables(session, customer_id))
