"""Channels (渠道管理): where leads come from — channels and sub-channels, agents with their
personal links, the public lead form — the leads themselves, their conversion into
applications, what each channel costs, and the channel funnel report."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from loandesk import sdk

PLUGIN = sdk.PluginInfo(
    name="channels",
    title_zh="渠道管理",
    title_en="Channels",
    version="0.1.0",
    description_zh="渠道与子渠道、渠道代理及其专属推广链接、公开的线索登记页、线索转进件、渠道费用与渠道漏斗报表。",
    description_en="Channels and sub-channels, agents and their personal links, the public lead "
    "form, converting leads into applications, channel costs and the channel funnel report.",
    depends_on=("customers", "intake"),
)


@sdk.hookimpl
def loandesk_migrations() -> str:
    import loandesk_channels.models  # noqa: F401  (the tables join the metadata)

    return str(Path(__file__).parent / "migrations")


@sdk.hookimpl
def loandesk_record_types() -> list[sdk.RecordType]:
    from loandesk_channels.record_type import LEAD

    return [LEAD]


@sdk.hookimpl
def loandesk_retention_subjects() -> list[sdk.RetentionSubject]:
    from loandesk_channels.retention import LEAD_RETENTION

    return [LEAD_RETENTION]


@sdk.hookimpl
def loandesk_web_blueprints() -> list[Blueprint]:
    from loandesk_channels.views import bp

    return [bp]


@sdk.hookimpl
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    from loandesk_channels.api import blp

    return [blp]


@sdk.hookimpl
def loandesk_nav_items() -> list[sdk.NavItem]:
    return [
        sdk.NavItem(
            "tenant.channels.leads",
            "线索",
            "Leads",
            section="modules",
            order=5,
            shown=lambda user: sdk.record_access("lead").can_read,
        ),
        sdk.NavItem(
            "tenant.channels.index",
            "渠道管理",
            "Channels",
            section="administration",
            order=60,
            permission="channels.manage",
        ),
    ]


@sdk.hookimpl
def loandesk_permissions() -> list[sdk.Permission]:
    return [
        sdk.Permission(
            "channels.manage",
            "管理渠道、渠道代理与渠道费用",
            "Manage channels, agents and channel costs",
            default_roles=("risk_manager",),
        ),
        sdk.Permission(
            "channels.convert",
            "跟进线索、将线索转为借款申请",
            "Follow up leads and convert them into applications",
            default_roles=("credit_officer", "channel_agent"),
        ),
    ]


@sdk.hookimpl
def loandesk_event_types() -> list[sdk.EventType]:
    return [
        sdk.EventType("lead.created", "新线索", "Lead received", "lead"),
        sdk.EventType("lead.converted", "线索已转进件", "Lead converted", "lead"),
    ]


@sdk.hookimpl
def loandesk_report_datasets() -> list[sdk.Dataset]:
    from loandesk_channels.reports import FUNNEL

    return [FUNNEL]


@sdk.hookimpl
def loandesk_builtin_reports() -> list[sdk.BuiltinReport]:
    from loandesk_channels.reports import CHANNEL_FUNNEL

    return [CHANNEL_FUNNEL]
