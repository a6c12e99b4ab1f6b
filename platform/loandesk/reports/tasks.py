"""The approval tasks of a record type as a dataset's rows (审批任务): ``approval_tasks(key)``
gives the ``Source`` a plugin declares its tasks dataset with (``intake.approval_tasks``), so
any record type that goes through approval flows can report on them the same way.

A row is one ``FlowTask`` (one assignee's part in one visit of an approver node), joined to
its step, its flow instance and the record the instance approves — on the tenant and the
record's id — so the viewer's scope over the *record* narrows the tasks: an officer who sees
only their own applications sees only the tasks of those.

The columns it adds:

- ``approver`` (the task's assignee), ``step`` (the node's name);
- ``decision``: ``approved`` / ``rejected`` by the assignee, ``returned`` (the assignee sent
  the record back; the engine cancels the task, the timeline's ``sent_back`` entry tells),
  ``auto_approved`` (approved by the system when the step timed out), ``transferred``,
  ``pending`` (pending or waiting for an added-before signer), ``cancelled`` (another's
  decision settled the step);
- ``assigned_at`` and ``decided_at`` (the decision's moment; a send-back's is its timeline
  entry's);
- ``decide_seconds``: whole seconds from assignment to the assignee's own decision (approved,
  rejected, returned), NULL otherwise — both timestamps truncated to the second, so
  PostgreSQL (``EXTRACT(EPOCH ...)``) and SQLite (``strftime('%s', ...)`` of the naive UTC
  text ``UTCDateTime`` stores) give the same integer;
- ``deadline``: ``overdue`` when the task's step timed out while the task was open
  (``FlowStep.timed_out_at``), else ``on_time``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, String, and_, case, cast, extract, func, literal
from sqlalchemy.orm import aliased, join

from loandesk.flows.models import FlowAction, FlowInstance, FlowStep, FlowTask
from loandesk.reports.datasets import Source, SourceColumn

# The timeline entry of a task's assignee sending the record back from the task's step (at
# most one: a send-back closes the step).
_SENT_BACK = aliased(FlowAction, name="task_sent_back")

DECISIONS = (
    ("approved", "同意", "Approved"),
    ("rejected", "拒绝", "Rejected"),
    ("returned", "退回", "Sent back"),
    ("auto_approved", "超时自动通过", "Approved on timeout"),
    ("transferred", "转办", "Transferred"),
    ("pending", "待处理", "Pending"),
    ("cancelled", "已取消", "Cancelled"),
)
# What the assignee decided themselves: the decisions an approver's speed is measured on.
OWN_DECISIONS = ("approved", "rejected", "returned")
DEADLINES = (("overdue", "超时", "Overdue"), ("on_time", "未超时", "On time"))


def record_key(id_column: Any, dialect: str) -> Any:
    """A record's id as ``FlowInstance.record_id`` holds it (``str(uuid)``), to join on.
    SQLite keeps a ``Uuid`` as 32 hex digits: there the instance's text loses its dashes."""
    if dialect == "postgresql":
        return cast(id_column, String)
    return (
        func.substr(id_column, 1, 8)
        + "-"
        + func.substr(id_column, 9, 4)
        + "-"
        + (func.substr(id_column, 13, 4) + "-" + func.substr(id_column, 17, 4) + "-")
        + func.substr(id_column, 21, 12)
    )


def approval_tasks(record_type: str) -> Source:
    """The approval tasks of ``record_type``'s records, with the columns the module lists."""

    def select_from(model: Any, dialect: str) -> Any:
        return (
            join(
                FlowTask,
                FlowStep,
                and_(FlowStep.tenant_id == FlowTask.tenant_id, FlowStep.id == FlowTask.step_id),
            )
            .join(
                FlowInstance,
                and_(
                    FlowInstance.tenant_id == FlowTask.tenant_id,
                    FlowInstance.id == FlowTask.instance_id,
                ),
            )
            .join(
                model,
                and_(
                    model.tenant_id == FlowInstance.tenant_id,
                    FlowInstance.record_type == record_type,
                    FlowInstance.record_id == record_key(model.id, dialect),
                ),
            )
            .outerjoin(
                _SENT_BACK,
                and_(
                    _SENT_BACK.tenant_id == FlowTask.tenant_id,
                    _SENT_BACK.step_id == FlowTask.step_id,
                    _SENT_BACK.actor_id == FlowTask.assignee_id,
                    _SENT_BACK.action == "sent_back",
                ),
            )
        )

    return Source(
        select_from,
        (
            SourceColumn("approver", "审批人", "Approver", "user", lambda d: FlowTask.assignee_id),
            SourceColumn("step", "审批节点", "Step", "text", lambda d: FlowStep.node_name),
            SourceColumn("decision", "处理结果", "Decision", "select", _decision, DECISIONS),
            SourceColumn(
                "assigned_at", "到达时间", "Assigned", "datetime", lambda d: FlowTask.created_at
            ),
            SourceColumn("decided_at", "处理时间", "Decided", "datetime", _decided_at),
            SourceColumn(
                "decide_seconds", "处理用时（秒）", "Seconds to decide", "integer", _seconds
            ),
            SourceColumn("deadline", "是否超时", "Deadline", "select", _deadline, DEADLINES),
        ),
    )


def _decision(dialect: str) -> Any:
    person = FlowTask.decided_by_id.is_not(None)
    return case(
        (_SENT_BACK.id.is_not(None), literal("returned")),
        (FlowTask.state.in_(("approved", "rejected")) & person, FlowTask.state),
        (FlowTask.state == "approved", literal("auto_approved")),
        (FlowTask.state == "waiting", literal("pending")),
        else_=FlowTask.state,
    )


def _decided_at(dialect: str) -> Any:
    return func.coalesce(FlowTask.decided_at, _SENT_BACK.created_at)


def _seconds(dialect: str) -> Any:
    decided = _decided_at(dialect)
    own = _decision(dialect).in_(OWN_DECISIONS)
    return case((own, _epoch(decided, dialect) - _epoch(FlowTask.created_at, dialect)))


def _epoch(value: Any, dialect: str) -> Any:
    """Whole seconds since 1970 of a UTC timestamp, truncated."""
    if dialect == "postgresql":
        return cast(extract("epoch", func.date_trunc("second", value)), BigInteger)
    return cast(func.strftime("%s", value), BigInteger)


def _deadline(dialect: str) -> Any:
    timed_out = FlowStep.timed_out_at
    decided = _decided_at(dialect)
    open_then = and_(
        timed_out.is_not(None),
        FlowTask.created_at <= timed_out,
        (decided.is_(None)) | (decided >= timed_out),
    )
    return case((open_then, literal("overdue")), else_=literal("on_time"))
