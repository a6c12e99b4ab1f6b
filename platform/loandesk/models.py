"""Imports every core model, so that ``Base.metadata`` is complete (Alembic, tests)."""

from loandesk.auth.models import ApiClient, ApiToken, User
from loandesk.events import EventBacklog, EventDelivery, OutboxEvent
from loandesk.jobs.database import Job
from loandesk.jobs.schedules import ScheduleState
from loandesk.plugins.models import TenantPlugin
from loandesk.tenancy.models import Tenant
from loandesk.web.sessions import WebSession

__all__ = [
    "ApiClient",
    "ApiToken",
    "EventBacklog",
    "EventDelivery",
    "Job",
    "OutboxEvent",
    "ScheduleState",
    "Tenant",
    "TenantPlugin",
    "User",
    "WebSession",
]
