"""Asset preservation (资产保全): each loan's five-tier class (五级分类: 正常, 关注, 次级, 可疑,
损失) from its days past due, restated set-based whenever the repayment plugin reports positions
(``loandesk_loan_positions``), with a risk manager's audited override; provisions (拨备) per
class at the tenant's rates; write-off (核销) with maker-checker, done through the loan book,
and the recoveries after it; the litigation dossier (诉讼材料包) per loan as PDF and Excel,
with a demand letter (催收函) and what other plugins contribute (``loandesk_dossier_sections``);
the class-migration and recovery datasets for the report engine."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk
from loandesk_assets.settings import AssetsSettings

PLUGIN = sdk.PluginInfo(
    name="assets",
    title_zh="资产保全",
    title_en="Asset preservation",
    version="1.0.0",
    description_zh="五级分类（按逾期天数，可人工调整并留痕）、按分类计提拨备、核销（申请人与复核人分离）"
    "及核销后回收跟踪、每笔贷款的诉讼材料包（PDF 与 Excel，含催收函）。",
    description_en="Five-tier loan classification from days past due with an audited manual "
    "override, provisions per class, write-off with maker-checker and recoveries after it, "
    "and a litigation dossier per loan (PDF and Excel, with a demand letter).",
    depends_on=("repayment",),
    settings_schema=AssetsSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_assets.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_loan_positions(session: Any, positions: list[sdk.LoanPosition]) -> None:
    from loandesk_assets.classify import positions_moved

    positions_moved(session, positions)


@sdk.hookimpl
def loandesk_jobs() -> list[sdk.JobSpec]:
    from loandesk_assets.classify import CLASSIFY_ALL_JOB, classify_all_job

    return [sdk.JobSpec(CLASSIFY_ALL_JOB, classify_all_job, timeout=3600)]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_assets.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_assets.api import blp

    return [blp]


def _queue_count(user: Any) -> list[sdk.NavCount]:
    from loandesk_assets.views import queue_count

    return queue_count(user)


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.assets.provisions",
            "资产保全",
            "Asset preservation",
            section="modules",
            order=60,
            permission="assets.view",
        ),
        sdk.NavItem(
            "tenant.assets.queue",
            "核销复核",
            "Write-offs to review",
            section="modules",
            order=61,
            permission="assets.write_off_approve",
            counts=_queue_count,
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "assets.view",
            "查看五级分类、拨备与核销",
            "View classes, provisions and write-offs",
            default_roles=("risk_manager", "post_loan_admin", "finance", "auditor"),
        ),
        sdk.Permission(
            "assets.classify",
            "调整五级分类",
            "Override loan classes",
            default_roles=("risk_manager",),
        ),
        sdk.Permission(
            "assets.write_off_request",
            "申请核销",
            "Request write-offs",
            default_roles=("post_loan_admin", "finance"),
        ),
        sdk.Permission(
            "assets.write_off_approve",
            "复核核销",
            "Approve write-offs",
            default_roles=("risk_manager",),
        ),
        sdk.Permission(
            "assets.dossier",
            "导出诉讼材料包",
            "Export litigation dossiers",
            default_roles=("risk_manager", "post_loan_admin"),
        ),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [
        sdk.EventType(
            "loan.class_overridden", "五级分类已人工调整", "Loan class overridden", "loan"
        ),
        sdk.EventType(
            "loan.class_override_cleared",
            "五级分类人工调整已取消",
            "Loan class override cleared",
            "loan",
        ),
        sdk.EventType("write_off.requested", "核销已申请", "Write-off requested", "loan"),
        sdk.EventType("write_off.approved", "核销已复核通过", "Write-off approved", "loan"),
        sdk.EventType("write_off.rejected", "核销已驳回", "Write-off rejected", "loan"),
        sdk.EventType("write_off.cancelled", "核销申请已撤回", "Write-off withdrawn", "loan"),
    ]


@sdk.hookimpl
def loandesk_report_datasets() -> list[sdk.Dataset]:
    from loandesk_assets.reports import DATASETS

    return list(DATASETS)


@sdk.hookimpl
def loandesk_builtin_reports() -> list[sdk.BuiltinReport]:
    from loandesk_assets.reports import BUILTIN_REPORTS

    return list(BUILTIN_REPORTS)


@sdk.hookimpl
def loandesk_record_sections(
    session: Any, record_type: str, record_id: uuid.UUID
) -> list[sdk.ProfileSection] | None:
    """A loan's page: its class (and how it came to be), and the way to its asset page."""
    if record_type != "loan":
        return None
    from loandesk_assets.views import loan_section

    return loan_section(session, record_id)
