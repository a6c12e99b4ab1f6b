"""Intake (进件): loan applications against a customer, shaped by the tenant's application
form (its own fields, sections and conditions), saved as drafts and submitted for review."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk


def _amount(value: object) -> None:
    if str(value or "").strip() == "":
        return
    from decimal import Decimal, InvalidOperation

    try:
        amount = Decimal(str(value)) if isinstance(value, str | int) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        raise ma.ValidationError(sdk.N_("Enter an amount such as 200000.00."))


class IntakeSettings(ma.Schema):
    max_exposure = ma.fields.String(
        load_default="",
        validate=_amount,
        metadata=sdk.setting_labels(
            "单一借款人授信上限（元）",
            "Exposure limit per borrower (yuan)",
            "同一身份证号的在途申请（及贷款）合计不得超过此金额；产品可另设上限；留空表示不限",
            "Open applications (and loans) of one ID number may not pass it; a product may set "
            "its own; empty: no limit",
        ),
    )


PLUGIN = sdk.PluginInfo(
    name="intake",
    title_zh="进件管理",
    title_en="Applications",
    version="1.0.0",
    description_zh="借款申请：按机构自定义的申请表填写、校验、保存草稿并提交审批。",
    description_en="Loan applications: filled in on the firm's own application form, "
    "checked, saved as drafts and submitted for review.",
    depends_on=("customers",),
    settings_schema=IntakeSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_intake.models  # noqa: F401  (the table joins the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_record_types() -> list[sdk.RecordType]:
    from loandesk_intake.record_type import APPLICATION

    return [APPLICATION]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_intake.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_intake.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem("tenant.intake.index", "借款申请", "Applications", section="modules", order=20),
        sdk.NavItem(
            "tenant.intake.products",
            "贷款产品",
            "Loan products",
            section="administration",
            order=40,
            permission="intake.products",
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "intake.create",
            "新建借款申请",
            "Create loan applications",
            default_roles=("credit_officer",),
        ),
        sdk.Permission(
            "intake.products",
            "管理贷款产品",
            "Manage loan products",
            default_roles=("risk_manager",),
        ),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [
        sdk.EventType(
            "application.created", "借款申请已创建", "Application created", "application"
        ),
        sdk.EventType(
            "application.updated", "借款申请已修改", "Application changed", "application"
        ),
        sdk.EventType(
            "application.submitted", "借款申请已提交", "Application submitted", "application"
        ),
        sdk.EventType(
            "application.in_review", "借款申请审核中", "Application in review", "application"
        ),
        sdk.EventType(
            "application.returned", "借款申请被退回", "Application sent back", "application"
        ),
        sdk.EventType(
            "application.approved", "借款申请已批准", "Application approved", "application"
        ),
        sdk.EventType(
            "application.rejected", "借款申请已拒绝", "Application rejected", "application"
        ),
        sdk.EventType(
            "application.withdrawn", "借款申请已撤回", "Application withdrawn", "application"
        ),
        sdk.EventType(
            "application.contracted", "借款申请已签约", "Application contracted", "application"
        ),
    ]


@sdk.hookimpl
def loandesk_event_handlers() -> list[sdk.EventHandler]:
    from loandesk_intake.lending import on_contract_signed

    # the contracts plugin's event: a signed contract of a loan booked from an application
    return [
        sdk.EventHandler("contract.signed", "mark_contracted", on_contract_signed, idempotent=True)
    ]


@sdk.hookimpl
def loandesk_application_for_loan(
    session: Any, application_id: uuid.UUID
) -> sdk.ApplicationSummary | None:
    from loandesk_intake.lending import summary

    return summary(session, application_id)


@sdk.hookimpl
def loandesk_application_intake() -> sdk.ApplicationIntake:
    from loandesk_intake.lending import Intake

    return Intake()


@sdk.hookimpl
def loandesk_before_submit(
    session: Any, record_type: sdk.RecordType, record: Any, form: sdk.Form, values: Any
) -> Mapping[str, Any] | None:
    """However an application is submitted (an automation rule's "start the approval"
    included), it must be complete: raising refuses the submission and rolls it back."""
    if record_type.key == "application":
        from loandesk_intake.service import check_complete

        check_complete(session, form, record)
    return None


@sdk.hookimpl
def loandesk_report_datasets() -> list[sdk.Dataset]:
    from loandesk_intake.reports import APPLICATIONS, APPROVAL_TASKS

    return [APPLICATIONS, APPROVAL_TASKS]


@sdk.hookimpl
def loandesk_builtin_reports() -> list[sdk.BuiltinReport]:
    from loandesk_intake.reports import BUILTIN_REPORTS

    return list(BUILTIN_REPORTS)


# --- customers: merging duplicates and the 360° page (hooks the customers plugin calls) -------

_PROFILE_COLUMNS = ("number", "amount", "term_months", "status", "created_at")


@sdk.hookimpl
def loandesk_customer_merged(session: Any, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> None:
    """A merged customer's applications move to the surviving record (audited)."""
    from sqlalchemy import select, update

    from loandesk_intake.models import Application

    moved = [
        str(i)
        for i in session.scalars(select(Application.id).where(Application.customer_id == merged_id))
    ]
    if moved:
        session.execute(
            update(Application)
            .where(Application.customer_id == merged_id)
            .values(customer_id=survivor_id)
        )
        sdk.audit_record(
            session, "application.customer_merged", "application", None,
            {"records": moved, "customer_id": [str(merged_id), str(survivor_id)]},
        )  # fmt: skip


@sdk.hookimpl
def loandesk_customer_360_sections(
    session: Any, customer_id: uuid.UUID
) -> list[sdk.ProfileSection] | None:
    """The customer's applications that the viewer's data scope reaches, newest first, with
    the fields their permissions show."""
    from flask import url_for
    from flask_babel import format_datetime, get_locale
    from sqlalchemy import select

    from loandesk_intake.models import Application

    access = sdk.record_access("application")
    if not access.can_read:
        return None
    zh = str(get_locale() or "zh").startswith("zh")
    specs = [f for f in access.visible_fields() if f.key in _PROFILE_COLUMNS]
    query = (
        access.where(select(Application))
        .where(Application.customer_id == customer_id)
        .order_by(Application.created_at.desc())
        .limit(50)
    )
    rows = []
    for application in session.scalars(query):
        values = access.present(application, sdk.keyring(), fields=specs)
        cells = []
        for spec in specs:
            value = values.get(spec.key)
            if isinstance(value, Decimal):
                text = f"¥{value:,.2f}"
            elif isinstance(value, datetime):
                text = format_datetime(value, "short")
            else:
                text = "" if value is None else str(value)
            labels = {o[0]: (o[1] if zh else o[2]) for o in spec.options}
            cells.append(labels.get(text, text))
        url = url_for("tenant.intake.detail", application_id=application.id)
        rows.append(sdk.ProfileRow(tuple(cells), url))
    return [
        sdk.ProfileSection(
            key="applications",
            title_zh="借款申请",
            title_en="Applications",
            columns=tuple((f.label_zh, f.label_en) for f in specs),
            rows=tuple(rows),
            order=10,
        )
    ]
