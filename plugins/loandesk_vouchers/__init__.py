"""Vouchers (记账凭证) for the finance system — 金蝶 Kingdee and 用友 Yonyou — made from the
loan ledger (the source of truth, read through ``sdk.loan_book().ledger_totals``): one
voucher per business day and kind (disbursement, repayment, penalty, credit, write-off,
reschedule), balanced to the cent, through a per-tenant chart-of-accounts mapping (科目映射).
Vouchers are exported as Kingdee KIS Excel or U8 text import files, pushed to Kingdee Cloud
星空 through its WebAPI (``kingdee``), and reconciled against the ledger each day (对账).
See docs/connectors.md, "Vouchers"."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk
from loandesk_vouchers.settings import VouchersSettings

PLUGIN = sdk.PluginInfo(
    name="vouchers",
    title_zh="记账凭证",
    title_en="Vouchers",
    version="1.0.0",
    description_zh="按日从贷款分户账生成记账凭证（放款、还款本息罚费、罚息计提、核销等），按科目映射"
    "借贷平衡；导出金蝶、用友凭证引入文件，推送金蝶云星空，并逐日对账。",
    description_en="Daily vouchers from the loan ledger (disbursements, repayments by part, "
    "penalty interest, write-offs), balanced through the tenant's chart-of-accounts mapping; "
    "Kingdee and Yonyou import files, a push to Kingdee Cloud, and a daily reconciliation.",
    depends_on=("repayment",),
    settings_schema=VouchersSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_vouchers.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_vouchers.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_vouchers.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.vouchers.index",
            "记账凭证",
            "Vouchers",
            section="modules",
            order=60,
            permission="vouchers.view",
        ),
        sdk.NavItem(
            "tenant.vouchers.reconciliation",
            "凭证对账",
            "Voucher reconciliation",
            section="modules",
            order=61,
            permission="vouchers.view",
        ),
        sdk.NavItem(
            "tenant.vouchers.mappings",
            "科目映射",
            "Chart-of-accounts mapping",
            section="administration",
            order=60,
            permission="vouchers.mappings",
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "vouchers.view",
            "查看记账凭证与对账",
            "View vouchers and reconciliation",
            default_roles=("finance", "auditor"),
        ),
        sdk.Permission(
            "vouchers.manage",
            "生成、导出与推送凭证",
            "Generate, export and push vouchers",
            default_roles=("finance",),
        ),
        sdk.Permission(
            "vouchers.mappings",
            "维护科目映射",
            "Edit the chart-of-accounts mapping",
            default_roles=("finance",),
        ),
    ]


@sdk.hookimpl
def loandesk_jobs() -> list[sdk.JobSpec]:
    from loandesk_vouchers.jobs import DAILY, generate_daily
    from loandesk_vouchers.push import BACKOFF, JOB, MAX_ATTEMPTS, push_job

    return [
        sdk.JobSpec(DAILY, generate_daily, max_attempts=3, backoff=(300, 1800)),
        sdk.JobSpec(JOB, push_job, max_attempts=MAX_ATTEMPTS, backoff=BACKOFF, timeout=1800),
    ]


@sdk.hookimpl
def loandesk_schedules() -> list[sdk.Schedule]:
    # 02:00 local: after close of business (midnight) has booked the night's penalty interest
    return [sdk.Schedule("vouchers.daily", "0 2 * * *", "vouchers.generate_daily")]


@sdk.hookimpl
def loandesk_bundle_files() -> list[sdk.BundleFile]:
    """``vouchers.yaml``: the chart-of-accounts mapping as configuration."""
    from loandesk_vouchers.bundle import BUNDLE_FILE

    return [BUNDLE_FILE]


@sdk.hookimpl
def loandesk_connectors() -> list[sdk.Connector]:
    from loandesk_vouchers.push import test

    if not sdk.plugin_settings("vouchers").get("kingdee_base_url"):
        return []  # files only: no provider to talk to
    return [sdk.Connector("vouchers", "金蝶云星空", "Kingdee Cloud", "vouchers", test)]
