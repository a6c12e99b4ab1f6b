"""Risk (风控): rule sets and scorecards a risk manager edits and publishes, and the decision
(auto-approve / refer / auto-reject) they make on every application at its submission, which
the approval flow reads as ``risk_outcome``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint
from sqlalchemy.orm import Session

from loandesk import sdk

PLUGIN = sdk.PluginInfo(
    name="risk",
    title_zh="风控规则",
    title_en="Risk rules",
    version="0.1.0",
    description_zh="规则集与评分卡：提交申请时自动决策（自动通过、转人工、自动拒绝），供审批流程使用。",
    description_en="Rule sets and scorecards: an automatic decision (approve, refer, reject) on "
    "each application at submission, for the approval flow to use.",
    depends_on=("intake",),
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_risk.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_risk.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_risk.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.risk.index", "风控规则", "Risk rules", permission="risk.manage", order=40
        )
    ]


@sdk.hookimpl
def loandesk_jobs() -> list[sdk.JobSpec]:
    from loandesk_risk.backtests import JOB, back_test_job

    return [sdk.JobSpec(JOB, back_test_job, max_attempts=1, timeout=3600)]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "risk.manage",
            "管理风控规则",
            "Manage risk rules",
            default_roles=("risk_manager",),
        ),
    ]


@sdk.hookimpl
def loandesk_before_submit(
    session: Session, record_type: sdk.RecordType, record: Any, form: sdk.Form, values: Any
) -> Mapping[str, Any] | None:
    from loandesk_risk import service

    if record_type.key != "application":
        return None
    decision = service.decide(session, form, record, values)
    # without a decision the given fields are emptied: a value typed in by staff never
    # stands in for the rules' own
    given = service.given_values(decision) if decision else dict.fromkeys(service.GIVEN)
    kept = {k: v for k, v in given.items() if form.has(k) and form.field(k).custom}
    if kept:
        sdk.store_custom(record, form, kept, sdk.keyring())
    return given


@sdk.hookimpl
def loandesk_risk_variable_kinds(record_type: sdk.RecordType) -> Mapping[str, str] | None:
    from loandesk_risk import history

    return history.kinds(record_type)


@sdk.hookimpl
def loandesk_risk_variables(
    session: Session, record_type: sdk.RecordType, record: Any
) -> Mapping[str, Any] | None:
    from loandesk_risk import history

    return history.variables(session, record_type, record)


@sdk.hookimpl
def loandesk_record_sections(
    session: Session, record_type: str, record_id: Any
) -> list[sdk.ProfileSection] | None:
    """An application's page shows its risk decisions, newest first, each opening the
    decision's page (inputs, hits, scores, the borrower's explanation and review)."""
    from loandesk_risk.views import decision_section

    return decision_section(session, record_type, record_id)
