"""Early warning (逾期预警): signals before a payment is missed. Rules (first payment default
risk, partial payments, contact changes, many bureau enquiries, repeated broken promises) and
a model each tenant trains on its own repayment history (logistic regression, retrained
weekly, versioned, evaluated by AUC and KS on held-out loans) score every active loan daily
into the watch list (预警名单) with the reasons; ``warning.flagged`` and ``warning.cleared``
on the ``warning`` record type let automation rules act (an extra reminder, assignment to
early collection). Loans are read through the loan book (``sdk.loan_book().histories``)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk
from loandesk_warning.settings import WarningSettings

PLUGIN = sdk.PluginInfo(
    name="warning",
    title_zh="逾期预警",
    title_en="Early warning",
    version="1.0.0",
    description_zh="在借款人错过还款之前发出预警：首期违约风险、部分还款、联系方式变更、多头查询、"
    "多次违约承诺等规则，加上用本机构还款历史训练的模型（逻辑回归，按周重训，显示AUC与KS），"
    "每日生成预警名单并可通过自动化规则加发提醒或分配早期催收。",
    description_en="Signals before a payment is missed: rules (first payment default risk, "
    "partial payments, contact changes, many bureau enquiries, repeated broken promises) and "
    "a model trained on the firm's own repayment history (logistic regression, retrained "
    "weekly, AUC and KS shown) make a daily watch list that automation rules act on.",
    depends_on=("repayment",),
    settings_schema=WarningSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_warning.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_record_types() -> list[sdk.RecordType]:
    from loandesk_warning.record_type import WATCH_ENTRY

    return [WATCH_ENTRY]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_warning.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_warning.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.warning.index",
            "逾期预警",
            "Early warning",
            section="modules",
            order=34,
            permission="warning.view",
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "warning.view",
            "查看逾期预警",
            "View early warnings",
            default_roles=("risk_manager", "collector", "post_loan_admin", "auditor"),
        ),
        sdk.Permission(
            "warning.manage",
            "管理预警模型",
            "Manage the early-warning model",
            default_roles=("risk_manager",),
        ),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [
        sdk.EventType("warning.flagged", "贷款进入预警名单", "Loan flagged", "warning"),
        sdk.EventType("warning.cleared", "贷款解除预警", "Loan cleared", "warning"),
        sdk.EventType(
            "warning.model_trained", "预警模型已训练", "Warning model trained", "warning_model"
        ),
    ]


@sdk.hookimpl
def loandesk_event_handlers() -> list[sdk.EventHandler]:
    from loandesk_warning import handlers

    return [
        sdk.EventHandler(
            "payment.posted", "partial_payment", handlers.on_payment_posted, idempotent=True
        ),
        sdk.EventHandler(
            "customer.updated", "contact_change", handlers.on_customer_updated, idempotent=True
        ),
        # the collections plugin's event about a collection case (payload: loan_id)
        sdk.EventHandler(
            "collection.promise_broken",
            "promise_broken",
            handlers.on_promise_broken,
            idempotent=True,
            optional=True,
        ),
    ]


@sdk.hookimpl
def loandesk_jobs() -> list[sdk.JobSpec]:
    from loandesk_warning import jobs

    return [
        sdk.JobSpec(jobs.SCORE_JOB, jobs.score_job, max_attempts=3, timeout=4 * 3600),
        sdk.JobSpec(jobs.TRAIN_JOB, jobs.train_job, max_attempts=2, timeout=4 * 3600),
    ]


@sdk.hookimpl
def loandesk_schedules() -> list[sdk.Schedule]:
    """Scoring after close of business (local midnight); retraining early each Monday."""
    return [
        sdk.Schedule("warning.score_daily", "0 6 * * *", "warning.score"),
        sdk.Schedule("warning.train_weekly", "0 3 * * 1", "warning.train"),
    ]


@sdk.hookimpl
def loandesk_report_datasets() -> list[sdk.Dataset]:
    from loandesk_warning.reports import WATCHLIST

    return [WATCHLIST]
