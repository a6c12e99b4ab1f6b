"""Imports every core model, so that ``Base.metadata`` is complete (Alembic, tests)."""

from loandesk.audit.models import AuditEvent, AuditHead
from loandesk.auth.external_accounts import StaffExternalAccount
from loandesk.auth.models import ApiClient, ApiToken, RecoveryCode, User
from loandesk.auth.sso_models import SsoConfig, UserIdentity
from loandesk.automations.models import AutomationRule, RuleFiring
from loandesk.connectors.models import ConnectorStatus
from loandesk.events import EventBacklog, EventDelivery, OutboxEvent
from loandesk.fields.models import FieldDefinition, FieldSearchValue, FormSection, FormVersion
from loandesk.fields.saved_views import ListView
from loandesk.flows.models import (
    FlowAction,
    FlowCopy,
    FlowDefinition,
    FlowInstance,
    FlowStep,
    FlowTask,
    FlowVersion,
)
from loandesk.imports.models import ImportBatch, ImportedRow, ImportRow
from loandesk.jobs.database import Job
from loandesk.jobs.schedules import ScheduleState
from loandesk.notifications.models import InAppNotification, Message, Preference, QuietHours
from loandesk.pii.models import TenantDataKey
from loandesk.plugins.models import TenantPlugin
from loandesk.privacy.models import DataRequest, DataRequestChange, PrivacySettings, RetentionPeriod
from loandesk.rbac.models import Role, UserRole
from loandesk.reports.dashboard_models import Dashboard, RoleDashboard
from loandesk.reports.models import Report
from loandesk.reports.subscriptions import ReportDelivery, ReportSubscription
from loandesk.security.models import RateLimitCounter
from loandesk.storage.models import Attachment
from loandesk.tenancy.models import Tenant
from loandesk.todos.models import Todo
from loandesk.web.sessions import WebSession
from loandesk.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiClient",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "AuditHead",
    "AutomationRule",
    "ConnectorStatus",
    "Dashboard",
    "DataRequest",
    "DataRequestChange",
    "EventBacklog",
    "EventDelivery",
    "FieldDefinition",
    "FieldSearchValue",
    "FlowAction",
    "FlowCopy",
    "FlowDefinition",
    "FlowInstance",
    "FlowStep",
    "FlowTask",
    "FlowVersion",
    "FormSection",
    "FormVersion",
    "ImportBatch",
    "ImportRow",
    "ImportedRow",
    "InAppNotification",
    "Job",
    "ListView",
    "Message",
    "OutboxEvent",
    "Preference",
    "PrivacySettings",
    "QuietHours",
    "RateLimitCounter",
    "RecoveryCode",
    "Report",
    "ReportDelivery",
    "ReportSubscription",
    "RetentionPeriod",
    "Role",
    "RoleDashboard",
    "RuleFiring",
    "ScheduleState",
    "SsoConfig",
    "StaffExternalAccount",
    "Tenant",
    "TenantDataKey",
    "TenantPlugin",
    "Todo",
    "User",
    "UserIdentity",
    "UserRole",
    "WebSession",
    "WebhookDelivery",
    "WebhookSubscription",
]
