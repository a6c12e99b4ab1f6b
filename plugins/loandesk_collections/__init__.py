"""Collections (催收管理): a case per overdue loan, opened, re-assigned and closed as the loan's
arrears move (``loandesk_loan_positions``), put into queues by ordered rules (bucket, amount,
product, unit) and balanced among the queue's collectors; agencies (委外机构) see only their
cases; collectors log actions and promises to pay, broken promises raise to-dos. Waivers and
write-offs are the assets plugin's, not ours."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk
from loandesk_collections.settings import CollectionsSettings

PLUGIN = sdk.PluginInfo(
    name="collections",
    title_zh="催收管理",
    title_en="Collections",
    version="1.0.0",
    description_zh="逾期贷款自动立案，按分案规则进入催收队列并均衡分配；催收记录、承诺还款与违约提醒、委外机构。",
    description_en="A case per overdue loan, put into queues by rules and balanced among "
    "collectors; actions, promises to pay and broken-promise to-dos; outside agencies.",
    depends_on=("customers", "repayment"),
    settings_schema=CollectionsSettings,
)

PROMISE_JOB = "collections.promises_check"


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_collections.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_record_types() -> list[sdk.RecordType]:
    from loandesk_collections.record_type import COLLECTION_CASE

    return [COLLECTION_CASE]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_collections import setup_views  # noqa: F401  (its pages join bp)
    from loandesk_collections.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_collections.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.collections.index",
            "催收工作台",
            "Collections",
            section="modules",
            order=40,
            permission="collections.view",
        ),
        sdk.NavItem(
            "tenant.collections.queues",
            "催收队列与分案",
            "Collection queues",
            section="administration",
            order=47,
            permission="collections.manage",
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "collections.view",
            "查看催收案件",
            "View collection cases",
            default_roles=("collector", "post_loan_admin", "auditor", "risk_manager"),
        ),
        sdk.Permission(
            "collections.work",
            "催收作业（记录与承诺还款）",
            "Work collection cases (actions and promises)",
            default_roles=("collector", "post_loan_admin"),
        ),
        sdk.Permission(
            "collections.manage",
            "管理催收队列、分案规则、话术与委外机构",
            "Manage collection queues, rules, scripts and agencies",
            default_roles=("post_loan_admin",),
        ),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [
        sdk.EventType("collection.case_opened", "催收案件已立案", "Collection case opened",
                      "collection_case"),
        sdk.EventType("collection.case_assigned", "催收案件已分配", "Collection case assigned",
                      "collection_case"),
        sdk.EventType("collection.promise_made", "已登记承诺还款", "Promise to pay made",
                      "collection_case"),
        sdk.EventType("collection.promise_broken", "承诺还款未兑现", "Promise to pay broken",
                      "collection_case"),
        sdk.EventType("collection.promise_kept", "承诺还款已兑现", "Promise to pay kept",
                      "collection_case"),
        sdk.EventType("collection.case_closed", "催收案件已结案", "Collection case closed",
                      "collection_case"),
    ]  # fmt: skip


@sdk.hookimpl
def loandesk_loan_positions(session: Any, positions: list[sdk.LoanPosition]) -> None:
    """Open, re-assign, restate and close cases for the loans whose arrears moved, and keep
    their month-end snapshots (roll rates)."""
    from loandesk_collections import month_ends
    from loandesk_collections.tracking import follow

    follow(session, positions)
    month_ends.record(session, positions)


@sdk.hookimpl
def loandesk_automation_actions() -> list[sdk.ActionType]:
    from loandesk_collections.automation import ASSIGN

    return [ASSIGN]


@sdk.hookimpl
def loandesk_jobs() -> list[sdk.JobSpec]:
    from loandesk_collections.jobs import promises_check_job

    return [sdk.JobSpec(PROMISE_JOB, promises_check_job)]


@sdk.hookimpl
def loandesk_schedules() -> list[sdk.Schedule]:
    """Broken promises, checked early each morning in the tenant's time (after close of
    business has moved loans to the new day)."""
    return [sdk.Schedule("collections.promises_daily", "30 1 * * *", PROMISE_JOB)]


@sdk.hookimpl
def loandesk_report_datasets() -> list[sdk.Dataset]:
    from loandesk_collections.reports import PERFORMANCE
    from loandesk_collections.roll_rates import ROLL_RATES

    return [PERFORMANCE, ROLL_RATES]


@sdk.hookimpl
def loandesk_builtin_reports() -> list[sdk.BuiltinReport]:
    from loandesk_collections import reports, roll_rates

    return [*reports.BUILTIN_REPORTS, *roll_rates.BUILTIN_REPORTS]


@sdk.hookimpl
def loandesk_dossier_sections(session: Any, loan_id: uuid.UUID) -> list[sdk.DossierSection] | None:
    """The case's action log and promises to pay, for the litigation dossier."""
    from loandesk_collections.dossier import sections

    return sections(session, loan_id)


@sdk.hookimpl
def loandesk_customer_merged(session: Any, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> None:
    """A merged customer's cases follow their loans to the surviving record."""
    from sqlalchemy import select, update

    from loandesk_collections.models import Case

    moved = [str(i) for i in session.scalars(select(Case.id).where(Case.customer_id == merged_id))]
    if moved:
        session.execute(
            update(Case).where(Case.customer_id == merged_id).values(customer_id=survivor_id)
        )
        sdk.audit_record(
            session, "collection_case.customer_merged", "collection_case", None,
            {"records": moved, "customer_id": [str(merged_id), str(survivor_id)]},
        )  # fmt: skip


@sdk.hookimpl
def loandesk_bundle_files() -> list[sdk.BundleFile]:
    """``collections.yaml``: agencies, queues, assignment rules and scripts as configuration."""
    from loandesk_collections.bundle import BUNDLE_FILE

    return [BUNDLE_FILE]
