"""Contracts (借款合同): templates per product with the firm's letterhead, contracts of
pending loans rendered to PDF and numbered per tenant, signing through an e-signature
provider or the built-in click-to-sign, expiry and reminders, the borrower's page, and the
rule that a loan is paid out only with a signed contract."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk
from loandesk_contracts.settings import ContractsSettings

PLUGIN = sdk.PluginInfo(
    name="contracts",
    title_zh="借款合同",
    title_en="Contracts",
    version="1.0.0",
    description_zh="按产品设置合同模板（含机构信头），为待放款贷款生成合同PDF并按机构编号；"
    "电子签章（接入服务商或内置点击签署），签署期限与提醒，借款人专属页面；未签署合同不得放款。",
    description_en="Contract templates per product with the firm's letterhead, numbered "
    "contract PDFs for loans waiting for payout, e-signature through a provider or the "
    "built-in click-to-sign, expiry and reminders, the borrower's page; no payout without "
    "a signed contract.",
    settings_schema=ContractsSettings,
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_contracts.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_contracts.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_contracts.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.contracts.index",
            "借款合同",
            "Contracts",
            section="modules",
            order=30,
            permission="contracts.view",
        ),
        sdk.NavItem(
            "tenant.contracts.templates",
            "合同模板",
            "Contract templates",
            section="administration",
            order=60,
            permission="contracts.templates",
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "contracts.view",
            "查看借款合同",
            "View contracts",
            default_roles=("credit_officer", "risk_manager", "finance", "auditor"),
        ),
        sdk.Permission(
            "contracts.manage",
            "生成、发送、作废借款合同",
            "Make, send and void contracts",
            default_roles=("credit_officer", "finance"),
        ),
        sdk.Permission(
            "contracts.templates",
            "编辑合同模板和信头",
            "Edit contract templates and the letterhead",
            default_roles=("risk_manager",),
        ),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [
        sdk.EventType(f"contract.{name}", zh, en, "contract")
        for name, zh, en in (
            ("created", "借款合同已生成", "Contract created"),
            ("sent", "借款合同已发送签署", "Contract sent for signing"),
            ("signed", "借款合同已签署", "Contract signed"),
            ("voided", "借款合同已作废", "Contract voided"),
            ("expired", "借款合同已过期", "Contract expired"),
        )
    ]


@sdk.hookimpl
def loandesk_jobs() -> list[sdk.JobSpec]:
    from loandesk_contracts.jobs import expire_and_remind

    return [sdk.JobSpec("contracts.expire_and_remind", expire_and_remind, max_attempts=3)]


@sdk.hookimpl
def loandesk_schedules() -> list[sdk.Schedule]:
    # 09:05 local: expiry counts whole days, and reminders should not wake anyone
    return [sdk.Schedule("contracts.daily", "5 9 * * *", "contracts.expire_and_remind")]


@sdk.hookimpl(trylast=True)
def loandesk_signature_providers() -> list[Any]:
    from loandesk_contracts.clicksign import ClickToSign

    return [ClickToSign()]


@sdk.hookimpl
def loandesk_payout_blockers(session: Any, loan_id: uuid.UUID) -> list[str] | None:
    from flask_babel import gettext

    from loandesk_contracts import service, settings

    if not settings.current()["require_signed"]:
        return None
    if service.signed_contract(session, loan_id) is not None:
        return None
    return [gettext("The loan's contract is not signed yet.")]


@sdk.hookimpl
def loandesk_record_sections(
    session: Any, record_type: str, record_id: uuid.UUID
) -> list[sdk.ProfileSection] | None:
    if record_type != "loan":
        return None
    from loandesk_contracts.views import loan_section

    return [loan_section(session, record_id)]


@sdk.hookimpl
def loandesk_dossier_sections(session: Any, loan_id: uuid.UUID) -> list[sdk.DossierSection] | None:
    """The litigation dossier's contract: its number, status and signing dates, and the signed
    PDF as it was kept (nothing while the loan has no signed contract)."""
    from loandesk_contracts import service

    contract = service.signed_contract(session, loan_id)
    if contract is None or contract.signed_pdf_id is None:
        return None
    signed_at = contract.signed_at.date().isoformat() if contract.signed_at else ""
    sent_at = contract.sent_at.date().isoformat() if contract.sent_at else ""
    return [
        sdk.DossierSection(
            key="contracts.signed",
            title_zh="借款合同",
            title_en="Loan contract",
            columns=(
                ("合同编号", "Contract number"),
                ("借款人", "Borrower"),
                ("发送签署", "Sent for signing"),
                ("签署完成", "Signed"),
                ("签署方式", "Signed through"),
                ("文件校验值(SHA-256)", "File SHA-256"),
            ),
            rows=(
                (
                    contract.number,
                    contract.borrower_name,
                    sent_at,
                    signed_at,
                    contract.provider,
                    contract.signed_pdf_sha256,
                ),
            ),
            files=(
                sdk.DossierFile(
                    name=f"借款合同-{contract.number}.pdf",
                    content_type="application/pdf",
                    data=sdk.attachment_bytes(contract.signed_pdf_id),
                ),
            ),
            order=10,
        )
    ]
