"""The htmx web shell: layout, navigation, language, CSRF, error pages, and the core's pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request, session
from flask_babel import Babel, get_locale

from loandesk import extension
from loandesk.i18n import LOCALES, normalise_locale
from loandesk.imports import views as import_views
from loandesk.plugins import runtime as plugin_runtime
from loandesk.plugins.host import PluginHost
from loandesk.plugins.info import SECTIONS, NavCount, NavItem
from loandesk.tenancy.web import tenant_blueprint
from loandesk.web import (
    account_views,
    admin_views,
    approvals,
    attachment_views,
    audit_views,
    auth_views,
    automation_views,
    connector_views,
    csrf,
    dashboard_views,
    data_request_views,
    errors,
    flow_designer,
    form_builder,
    home_views,
    jobs_views,
    list_views,
    notification_admin_views,
    notification_views,
    org_views,
    plugin_views,
    privacy_views,
    provider_sign_in,
    public_views,
    region_views,
    report_export_views,
    report_views,
    roles_views,
    security_views,
    sign_in,
    sso_views,
    todo_views,
    webhook_views,
)

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


# The core's entries; plugins add theirs through ``loandesk_nav_items``.
CORE_NAV = (
    NavItem("tenant.home.index", "首页", "Home", section="workspace", order=0),
    NavItem(
        "tenant.approvals.inbox",
        "审批",
        "Approvals",
        "workspace",
        None,
        5,
        counts=approvals.nav_counts,
    ),
    NavItem(
        "tenant.todos.index",
        "待办事项",
        "To-dos",
        "workspace",
        None,
        6,
        counts=todo_views.nav_counts,
    ),
    NavItem(
        "tenant.notifications.index",
        "通知",
        "Notifications",
        "workspace",
        None,
        7,
        counts=notification_views.nav_counts,
    ),
    NavItem(
        "tenant.reports.index",
        "报表",
        "Reports",
        "workspace",
        None,
        8,
        shown=report_views.can_report,
    ),
    NavItem(
        "tenant.dashboards.index",
        "看板",
        "Dashboards",
        "workspace",
        None,
        9,
        shown=report_views.can_report,
    ),
    NavItem(
        "tenant.data_requests.requests",
        "个人信息权利请求",
        "Data-subject requests",
        "workspace",
        "data_requests.read",
        50,
    ),
    NavItem("tenant.admin.users", "员工账号", "Users", "administration", "users.read", 10),
    NavItem(
        "tenant.admin_roles.roles", "角色与权限", "Roles", "administration", "roles.manage", 15
    ),
    NavItem("tenant.admin_org.org", "组织架构", "Organisation", "administration", "org.manage", 12),
    NavItem(
        "tenant.admin_forms.forms",
        "字段与表单",
        "Fields and forms",
        "administration",
        "fields.manage",
        16,
    ),
    NavItem(
        "tenant.admin_flows.flows",
        "审批流程",
        "Approval flows",
        "administration",
        "flows.manage",
        17,
    ),
    NavItem(
        "tenant.admin_automations.rules",
        "自动化规则",
        "Automations",
        "administration",
        "automations.manage",
        17,
    ),
    # Tenant admins only: "tenant_admin" is no grantable permission, and admins hold them all.
    NavItem(
        "tenant.admin_sso.settings",
        "单点登录",
        "Single sign-on",
        "administration",
        "tenant_admin",
        18,
    ),
    NavItem(
        "tenant.admin.api_clients",
        "API 客户端",
        "API clients",
        "administration",
        "api_clients.manage",
        20,
    ),
    NavItem(
        "tenant.admin_plugins.plugins",
        "功能模块",
        "Plugins",
        "administration",
        "plugins.manage",
        30,
    ),
    NavItem(
        "tenant.admin_connectors.index",
        "连接器",
        "Connectors",
        "administration",
        "plugins.manage",
        31,
    ),
    NavItem(
        "tenant.admin_security.settings",
        "安全设置",
        "Security settings",
        "administration",
        "security.manage",
        35,
    ),
    NavItem(
        "tenant.admin_webhooks.index",
        "事件推送",
        "Webhooks",
        "administration",
        "automations.manage",
        37,
    ),
    NavItem(
        "tenant.admin_notifications.quiet_hours",
        "免打扰时段",
        "Quiet hours",
        "administration",
        "notifications.manage",
        36,
    ),
    NavItem(
        "tenant.admin_notifications.sms_templates",
        "短信模板",
        "SMS templates",
        "administration",
        "notifications.manage",
        36,
    ),
    NavItem(
        "tenant.admin_jobs.jobs",
        "后台任务",
        "Background jobs",
        "administration",
        "jobs.manage",
        40,
    ),
    NavItem(
        "tenant.admin_audit.audit", "操作日志", "Audit log", "administration", "audit.read", 50
    ),
    NavItem(
        "tenant.admin_notifications.messages",
        "借款人消息记录",
        "Messages to borrowers",
        "administration",
        "notifications.read_log",
        52,
    ),
    NavItem(
        "tenant.admin_privacy.privacy",
        "个人信息保护",
        "Personal data",
        "administration",
        "privacy.manage",
        55,
    ),
)


@dataclass(frozen=True)
class ShownNavItem:
    endpoint: str
    label: str
    section: str
    # called by the layout when it draws the entry (never for a page without navigation)
    badges: Callable[[], Sequence[NavCount]] = field(default=lambda: ())
    counted: bool = False  # the entry has counts (its badges may change after an action)

    @property
    def badge_id(self) -> str:
        """The id of the entry's badges, for an htmx answer that updates them out of band."""
        return "nav-counts-" + self.endpoint.replace(".", "-")


def select_locale() -> str:
    if request.path.startswith(("/api/", "/oauth/")):
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        return normalise_locale(best) or "en"
    for candidate in (
        request.args.get("lang"),
        session.get("locale"),
        getattr(g.get("user"), "locale", None),
        getattr(g.get("tenant"), "locale", None),
    ):
        if (locale := normalise_locale(candidate)) is not None:
            return locale
    return extension.get().settings.default_locale


def select_timezone() -> str:
    """Times show in the tenant's timezone (DESIGN §5: UTC in the database)."""
    tenant = g.get("tenant")
    return tenant.timezone if tenant is not None else "Asia/Shanghai"


def _nav_items(user: Any) -> list[ShownNavItem]:
    if user is None:
        return []
    locale = str(get_locale() or "zh")
    sections = list(SECTIONS)
    items = sorted(
        (
            i
            for i in (*CORE_NAV, *plugin_runtime.nav_items())
            if (i.permission is None or user.can(i.permission))
            and (i.shown is None or i.shown(user))
        ),
        key=lambda i: (sections.index(i.section), i.order, i.endpoint),
    )
    section_label = {k: (zh if locale.startswith("zh") else en) for k, (zh, en) in SECTIONS.items()}
    return [
        ShownNavItem(
            i.endpoint,
            i.label(locale),
            section_label[i.section],
            _badges(i, user),
            i.counts is not None,
        )
        for i in items
    ]


def _badges(item: NavItem, user: Any) -> Callable[[], Sequence[NavCount]]:
    """The item's counts, computed once per request the first time the layout asks."""
    counts = item.counts
    if counts is None:
        return lambda: ()

    def badges() -> Sequence[NavCount]:
        cache: dict[str, Sequence[NavCount]] = g.setdefault("loandesk_nav_counts", {})
        if item.endpoint not in cache:
            cache[item.endpoint] = [c for c in counts(user) if c.value > 0]
        return cache[item.endpoint]

    return badges


def _shell_context() -> dict[str, Any]:
    user = g.get("user")
    return {
        "current_tenant": g.get("tenant"),
        "current_user": user,
        "nav_items": _nav_items(user),
        "locales": LOCALES,
    }


def _vary_on_htmx(response: Response) -> Response:
    # One URL serves a full page or, to htmx, a fragment: caches must keep them apart.
    if not request.path.startswith(("/api/", "/oauth/", "/static/")):
        response.vary.add("HX-Request")
    return response


def money(value: Any) -> str:
    """``{{ amount|money }}``: an amount (a Decimal, or the string the API schemas give) with
    thousands separators and two places, exactly (through Decimal, never a float)."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(str(value)):,.2f}"


def init_app(app: Flask, plugin_host: PluginHost) -> None:
    Babel(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(TRANSLATIONS),
    )
    csrf.init_app(app)
    errors.init_app(app)
    sign_in.init_app(app)
    app.context_processor(_shell_context)
    app.after_request(_vary_on_htmx)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["money"] = money

    pages = tenant_blueprint(app.extensions["loandesk"].settings.single_tenant)
    pages.before_request(auth_views.load_user)
    pages.before_request(plugin_runtime.check_request_plugin)
    core_pages = (
        auth_views.bp,
        home_views.bp,
        admin_views.bp,
        plugin_views.bp,
        jobs_views.bp,
        audit_views.bp,
        roles_views.bp,
        org_views.bp,
        account_views.bp,
        security_views.bp,
        sso_views.bp,
        sso_views.admin_bp,
        provider_sign_in.bp,
        privacy_views.bp,
        data_request_views.bp,
        attachment_views.bp,
        region_views.bp,
        list_views.bp,
        form_builder.bp,
        flow_designer.bp,
        automation_views.bp,
        report_views.bp,
        dashboard_views.bp,
        import_views.bp,
        approvals.bp,
        todo_views.bp,
        notification_views.bp,
        notification_admin_views.bp,
        webhook_views.bp,
        connector_views.bp,
        report_export_views.bp,
    )
    for blueprint in core_pages:
        pages.register_blueprint(blueprint)
    for contribution in plugin_host.contributions.values():
        for blueprint in contribution.web_blueprints:
            pages.register_blueprint(blueprint)
    app.register_blueprint(pages)
    app.register_blueprint(public_views.bp)
