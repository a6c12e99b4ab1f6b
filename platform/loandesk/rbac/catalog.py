"""The core's permissions and the built-in roles every tenant starts with."""

from __future__ import annotations

from dataclasses import dataclass

from loandesk.plugins.info import Permission

ADMIN_ROLE = "tenant_admin"

CORE_PERMISSIONS = (
    Permission("users.read", "查看员工账号", "View staff accounts"),
    Permission("users.write", "邀请、编辑、停用员工账号", "Invite, edit and deactivate staff"),
    Permission("roles.manage", "管理角色与授权", "Manage roles and grants"),
    Permission("org.manage", "管理组织架构", "Manage the organisation tree"),
    Permission("fields.manage", "管理自定义字段与表单", "Manage custom fields and forms"),
    Permission("flows.manage", "设计并发布审批流程", "Design and publish approval flows"),
    Permission("automations.manage", "设置自动化规则", "Set up automation rules"),
    Permission(
        "reports.manage",
        "查看、修改所有保存的报表",
        "See and change every saved report",
    ),
    Permission("reports.export", "导出报表", "Export reports"),
    Permission("records.import", "从 Excel 批量导入业务记录", "Import business records from Excel"),
    Permission("api_clients.manage", "管理 API 客户端", "Manage API clients"),
    Permission(
        "security.manage",
        "管理安全设置（两步验证、会话时长）",
        "Manage security settings (two-factor sign-in, session timeouts)",
    ),
    Permission("plugins.manage", "启用功能模块、修改模块设置", "Enable plugins, change settings"),
    Permission("jobs.manage", "查看并重试后台任务", "View and retry background jobs"),
    Permission("audit.read", "查看操作日志", "Read the audit log"),
    Permission("audit.export", "导出操作日志", "Export the audit log"),
    Permission("data_requests.read", "查看个人信息权利请求", "View data-subject requests"),
    Permission(
        "data_requests.manage",
        "登记和处理个人信息权利请求",
        "Record and answer data-subject requests",
    ),
    Permission(
        "notifications.manage",
        "设置免打扰时段与短信模板、重发失败的消息",
        "Set quiet hours and SMS templates, send failed messages again",
    ),
    Permission(
        "notifications.read_log",
        "查看发给借款人的消息记录",
        "Read the log of messages to borrowers",
    ),
    Permission(
        "privacy.manage",
        "设置个人信息保存期限和请求处理时限",
        "Set personal-data retention periods and request deadlines",
    ),
)


@dataclass(frozen=True)
class BuiltinRole:
    key: str
    name_zh: str
    name_en: str
    permissions: tuple[str, ...]  # core permissions; plugins add theirs by default_roles


# The tenant admin holds every permission, present and future (checked in code, not stored).
BUILTIN_ROLES = (
    BuiltinRole(ADMIN_ROLE, "机构管理员", "Tenant admin", ()),
    BuiltinRole("credit_officer", "信审专员", "Credit officer", ()),
    BuiltinRole(
        "risk_manager",
        "风控主管",
        "Risk manager",
        (
            "users.read",
            "data_requests.read",
            "data_requests.manage",
            "reports.manage",
            "reports.export",
        ),
    ),
    BuiltinRole("finance", "财务", "Finance", ()),
    BuiltinRole(
        "post_loan_admin",
        "贷后管理员",
        "Post-loan admin",
        ("users.read", "data_requests.read", "data_requests.manage", "notifications.read_log"),
    ),
    BuiltinRole("collector", "催收员", "Collector", ()),
    BuiltinRole(
        "auditor",
        "审计",
        "Auditor",
        ("users.read", "audit.read", "data_requests.read", "notifications.read_log"),
    ),
    BuiltinRole("read_only", "只读", "Read-only", ()),
    # an outside agent bringing leads (loandesk_channels): sees only their own records
    BuiltinRole("channel_agent", "渠道代理", "Channel agent", ()),
)
