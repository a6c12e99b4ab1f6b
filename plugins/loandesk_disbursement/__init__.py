"""Disbursement (放款): orders that pay out a pending loan — requested by one staff member
and approved by another (申请人/复核人), paid through a payout connector or marked paid by
hand with the bank's reference — after which the loan is active with its schedule from the
day the money left. Loans are read and activated through the loan book (``sdk.loan_book``).
Payouts a channel leaves ``paying`` are asked about every 10 minutes; a "paid" an order cannot
take is an alert (需核查) until someone checks it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk

PLUGIN = sdk.PluginInfo(
    name="disbursement",
    title_zh="放款管理",
    title_en="Disbursement",
    version="1.0.0",
    description_zh="放款单：申请、复核（申请人与复核人不能为同一人）、通过放款通道或手工登记放款，"
    "放款后贷款按实际放款日生成还款计划。",
    description_en="Disbursement orders: requested, approved by another person, paid through "
    "a payout channel or recorded by hand; the loan's schedule then starts on the day paid.",
    depends_on=("customers",),
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_disbursement.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_record_types() -> list[sdk.RecordType]:
    from loandesk_disbursement.record_type import DISBURSEMENT

    return [DISBURSEMENT]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_disbursement.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_disbursement.api import blp

    return [blp]


def _queue_count(user: Any) -> list[sdk.NavCount]:
    from loandesk_disbursement.views import queue_count

    return queue_count(user)


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.disbursement.index",
            "放款管理",
            "Disbursements",
            section="modules",
            order=45,
            permission="disbursement.view",
            counts=_queue_count,
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "disbursement.view",
            "查看放款单",
            "View disbursement orders",
            default_roles=("credit_officer", "risk_manager", "finance", "auditor"),
        ),
        sdk.Permission(
            "disbursement.request",
            "申请放款",
            "Request payouts",
            default_roles=("credit_officer", "finance"),
        ),
        sdk.Permission(
            "disbursement.approve",
            "复核放款",
            "Approve payouts",
            default_roles=("finance",),
        ),
        sdk.Permission(
            "disbursement.pay",
            "执行放款",
            "Pay out",
            default_roles=("finance",),
        ),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    events = (
        ("requested", "放款已申请", "Payout requested"),
        ("approved", "放款已复核", "Payout approved"),
        ("rejected", "放款已驳回", "Payout rejected"),
        ("cancelled", "放款已取消", "Payout cancelled"),
        ("paid", "已放款", "Paid out"),
        ("failed", "放款失败", "Payout failed"),
        ("payout_alert", "放款需核查", "Payout needs checking"),
    )
    return [sdk.EventType(f"disbursement.{key}", zh, en, "disbursement") for key, zh, en in events]


@sdk.hookimpl
def loandesk_jobs() -> list[sdk.JobSpec]:
    from loandesk_disbursement.jobs import poll_payouts

    # one attempt: the next run is 10 minutes on, and each order's error is its own
    return [sdk.JobSpec("disbursement.poll_payouts", poll_payouts, max_attempts=1, timeout=540)]


@sdk.hookimpl
def loandesk_schedules() -> list[sdk.Schedule]:
    return [sdk.Schedule("disbursement.poll", "*/10 * * * *", "disbursement.poll_payouts")]


@sdk.hookimpl
def loandesk_record_sections(
    session: Any, record_type: str, record_id: uuid.UUID
) -> list[sdk.ProfileSection] | None:
    """A loan's page: its disbursement orders, and a link to request one while it waits."""
    if record_type != "loan":
        return None
    from loandesk_disbursement.views import loan_section

    return loan_section(session, record_id)


@sdk.hookimpl
def loandesk_report_datasets() -> list[sdk.Dataset]:
    from loandesk_disbursement.reports import DISBURSED

    return [DISBURSED]


@sdk.hookimpl
def loandesk_builtin_reports() -> list[sdk.BuiltinReport]:
    from loandesk_disbursement.reports import DISBURSED_AMOUNT

    return [DISBURSED_AMOUNT]


@sdk.hookimpl
def loandesk_retention_subjects() -> list[sdk.RetentionSubject]:
    from loandesk_disbursement.retention import ORDERS

    return [ORDERS]
