"""The core's own jobs, event types and periodic work."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from loandesk import events
from loandesk.events import EventType
from loandesk.imports import jobs as import_jobs
from loandesk.jobs import JobContext, JobSpec
from loandesk.jobs.runtime import enqueue
from loandesk.jobs.schedules import Schedule

EVENT_TYPES = [
    EventType("user.created", "新增员工账号", "User created", "user"),
    EventType("user.deactivated", "停用员工账号", "User deactivated", "user"),
    EventType("plugin.enabled", "启用功能模块", "Plugin enabled", "plugin"),
    EventType("plugin.disabled", "停用功能模块", "Plugin disabled", "plugin"),
    EventType("flow.published", "审批流程已发布", "Approval flow published", "flow"),
    # flow events about a record carry the record's own type; ``instance`` in the payload
    EventType("flow.started", "审批已发起", "Approval started", "flow"),
    EventType("flow.assigned", "待办审批已分派", "Approval task assigned", "flow"),
    EventType("flow.task_approved", "审批人已同意", "Approver approved", "flow"),
    EventType("flow.task_rejected", "审批人已拒绝", "Approver rejected", "flow"),
    EventType("flow.sent_back", "审批已退回", "Approval sent back", "flow"),
    EventType("flow.resubmitted", "审批已重新提交", "Approval resubmitted", "flow"),
    EventType("flow.transferred", "审批已转办", "Approval transferred", "flow"),
    EventType("flow.signer_added", "审批已加签", "Signer added", "flow"),
    EventType("flow.commented", "审批有新评论", "Approval comment", "flow"),
    EventType("flow.copied", "审批已抄送", "Approval copied (CC)", "flow"),
    EventType("flow.overdue", "审批已超时", "Approval overdue", "flow"),
    EventType("flow.blocked", "审批无人可审", "Approval has no approver", "flow"),
    EventType("flow.finished", "审批已结束", "Approval finished", "flow"),
    EventType("todo.created", "新增待办事项", "To-do created", "todo"),
    EventType("todo.done", "待办事项已完成", "To-do done", "todo"),
    EventType("todo.reopened", "待办事项已重新打开", "To-do reopened", "todo"),
]


def deliver_events(ctx: JobContext) -> None:
    from loandesk.plugins import runtime as plugin_runtime

    registry: events.EventRegistry = current_app.extensions["loandesk.events"]
    events.deliver(ctx, registry.handlers, plugin_runtime.enabled())


def sweep_events(ctx: JobContext, older_than_seconds: int = 60) -> None:
    """Redeliver what waited too long (a worker died, or a delivery job was lost)."""
    older_than = timedelta(seconds=older_than_seconds)
    for tenant_id in events.stale_backlog(ctx.session, older_than):
        enqueue("core.deliver_events", tenant_id)


def purge_sessions(ctx: JobContext) -> None:
    from loandesk.web.sessions import purge_expired

    purge_expired(current_app.extensions["loandesk"].db)


def apply_retention(ctx: JobContext) -> None:
    """Anonymise the tenant's records whose retention period has run out (daily)."""
    from loandesk.plugins import runtime as plugin_runtime
    from loandesk.privacy import retention

    assert ctx.tenant is not None
    retention.run(
        ctx.session,
        retention.subjects(plugin_runtime.host(), plugin_runtime.enabled()),
        timezone=ctx.tenant.timezone,
        progress=ctx.report_progress,
    )


def automations_for_event(ctx: JobContext, event: events.Event) -> None:
    """Record the firings of the rules ``event`` triggers (the core's handler of every event)."""
    from loandesk.automations import engine
    from loandesk.plugins import runtime as plugin_runtime

    record_types = {t.key: t for t in plugin_runtime.record_types()}
    engine.on_event(ctx.session, event, record_types)


def run_firings(ctx: JobContext) -> None:
    """Run the tenant's pending rule firings that are due (after the commit that recorded
    them, and every minute for retries and anything not enqueued)."""
    from loandesk.automations import engine
    from loandesk.plugins import runtime as plugin_runtime

    record_types = {t.key: t for t in plugin_runtime.record_types()}
    engine.run_pending(ctx.session, record_types, plugin_runtime.automation_actions())


def timed_rules(ctx: JobContext) -> None:
    """Record the firings of rules whose time has come: time-relative ones due today and
    schedule ones whose cron came due (tenant time)."""
    from loandesk import pii
    from loandesk.automations import relative, scheduled
    from loandesk.plugins import runtime as plugin_runtime

    assert ctx.tenant is not None
    record_types = {t.key: t for t in plugin_runtime.record_types()}
    relative.run(ctx.session, record_types, ctx.tenant.timezone)
    scheduled.run(ctx.session, record_types, ctx.tenant.timezone, pii.for_current_tenant())


def send_messages(ctx: JobContext) -> None:
    """Send the tenant's due messages through their channels (after the commit that queued
    them, and every minute for retries and the end of quiet hours)."""
    from loandesk import pii
    from loandesk.notifications import service
    from loandesk.plugins import runtime as plugin_runtime

    service.send_due(ctx.session, plugin_runtime.notification_channels(), pii.for_current_tenant())


def forget_message_counts(ctx: JobContext) -> None:
    """Forget the daily-limit counts of days before yesterday (tenant time)."""
    from loandesk.db import utcnow
    from loandesk.notifications import limits

    assert ctx.tenant is not None
    limits.forget_old(ctx.session, ctx.tenant.timezone, utcnow())


def report_subscriptions(ctx: JobContext) -> None:
    """Send the tenant's report subscriptions whose cron came due (tenant time), each
    recipient their own numbers."""
    from loandesk import pii
    from loandesk.plugins import runtime as plugin_runtime
    from loandesk.reports import subscriptions

    assert ctx.tenant is not None
    channels = plugin_runtime.notification_channels()
    subscriptions.run(ctx.session, ctx.tenant, channels, pii.for_current_tenant())


def webhooks_for_event(ctx: JobContext, event: events.Event) -> None:
    """Record a delivery of ``event`` for each webhook subscription that wants it."""
    from loandesk.webhooks import service

    service.on_event(ctx.session, event)


def send_webhooks(ctx: JobContext) -> None:
    """Send the tenant's due webhook deliveries (after the commit that made them, and every
    minute for retries)."""
    from loandesk import pii
    from loandesk.webhooks import service

    service.send_due(ctx.session, pii.for_current_tenant())


# the core's handlers of every event (idempotent: a firing, a delivery per event and target)
EVENT_HANDLERS = [
    events.EventHandler(events.ANY, "automations", automations_for_event, idempotent=True),
    events.EventHandler(events.ANY, "webhooks", webhooks_for_event, idempotent=True),
]


def flow_deadlines(ctx: JobContext) -> None:
    """Perform the timeout action of approval steps whose deadline has passed."""
    from loandesk.flows import deadlines

    deadlines.run_due(ctx.session)


def sync_field_search(ctx: JobContext) -> None:
    """Bring the search rows of searchable custom fields in step with the published forms
    (as the owner role, each tenant as itself)."""
    from sqlalchemy import create_engine

    from loandesk.fields import search_values
    from loandesk.plugins import runtime as plugin_runtime

    settings = current_app.extensions["loandesk"].settings
    engine = create_engine(settings.owner_database_url)
    try:
        host = plugin_runtime.host()
        search_values.sync(engine, host.record_types(sorted(host.contributions)))
    finally:
        engine.dispose()


JOBS = [
    JobSpec(
        "core.deliver_events",
        deliver_events,
        queue="events",
        max_attempts=10,
        backoff=(5, 30, 120, 600),
    ),
    JobSpec("core.sweep_events", sweep_events, queue="events", max_attempts=1),
    JobSpec("core.purge_sessions", purge_sessions, max_attempts=1),
    JobSpec("core.apply_retention", apply_retention, max_attempts=3, timeout=3600),
    JobSpec(
        "core.sync_field_search",
        sync_field_search,
        max_attempts=5,
        backoff=(10, 60),
        timeout=7200,
    ),
    JobSpec("core.flow_deadlines", flow_deadlines, max_attempts=3, backoff=(30,)),
    # a firing keeps its own attempts and backoff: the job itself is not retried
    JobSpec("core.run_firings", run_firings, max_attempts=1),
    # a message keeps its own attempts and backoff: the job itself is not retried
    JobSpec("core.send_messages", send_messages, max_attempts=1, timeout=3600),
    JobSpec("core.forget_message_counts", forget_message_counts, max_attempts=3),
    # a webhook delivery keeps its own attempts and backoff: the job itself is not retried
    JobSpec("core.send_webhooks", send_webhooks, max_attempts=1, timeout=3600),
    JobSpec("core.timed_rules", timed_rules, max_attempts=3, backoff=(60,), timeout=3600),
    JobSpec(
        "core.report_subscriptions",
        report_subscriptions,
        max_attempts=3,
        backoff=(60,),
        timeout=3600,
    ),
    *import_jobs.JOBS,
]

SCHEDULES = [
    Schedule("core.sweep_events", "* * * * *", "core.sweep_events", per_tenant=False),
    Schedule("core.purge_sessions", "17 * * * *", "core.purge_sessions", per_tenant=False),
    # at night in each tenant's own timezone, when nobody is working on the records
    Schedule("core.retention", "30 3 * * *", "core.apply_retention"),
    Schedule("core.flow_deadlines", "* * * * *", "core.flow_deadlines"),
    Schedule("core.run_firings", "* * * * *", "core.run_firings"),
    Schedule("core.send_messages", "* * * * *", "core.send_messages"),
    Schedule("core.send_webhooks", "* * * * *", "core.send_webhooks"),
    Schedule("core.forget_message_counts", "25 4 * * *", "core.forget_message_counts"),
    # a rule's time of day is met within five minutes; each rule looks once a day
    Schedule("core.timed_rules", "*/5 * * * *", "core.timed_rules"),
    # a subscription's cron is at least 15 minutes apart: met within five minutes
    Schedule("core.report_subscriptions", "*/5 * * * *", "core.report_subscriptions"),
]
