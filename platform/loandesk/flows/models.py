"""Tables of the approval flow engine.

A tenant's flow for a record type is a ``FlowDefinition`` (its working copy, edited in the
designer) and its published ``FlowVersion`` snapshots. A submitted record runs a
``FlowInstance`` pinned to the version it started on. Each visit of an approver node is a
``FlowStep`` holding one ``FlowTask`` per assignee; ``FlowAction`` rows are the instance's
timeline (who did what, when, with which comment and files) and ``FlowCopy`` rows the CC
notices.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow

INSTANCE_STATES = ("running", "returned", "approved", "rejected", "withdrawn")
STEP_STATES = ("active", "approved", "rejected", "returned", "cancelled")
TASK_STATES = ("waiting", "pending", "approved", "rejected", "transferred", "cancelled")
MODES = ("any", "all", "sequence", "ratio")


def _states(column: str, states: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(s) for s in states)})"


class FlowDefinition(TenantOwned, Base):
    """The approval flow of one record type: the draft tree being designed, and which version
    is in force (``published_version``, None until the first publish)."""

    __tablename__ = "flow_definitions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "record_type"),
        ForeignKeyConstraint(["tenant_id", "updated_by_id"], ["users.tenant_id", "users.id"]),
    )

    record_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    draft: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    published_version: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class FlowVersion(TenantOwned, Base):
    """A published snapshot of a definition's tree: never changed once written."""

    __tablename__ = "flow_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "definition_id", "number"),
        ForeignKeyConstraint(
            ["tenant_id", "definition_id"], ["flow_definitions.tenant_id", "flow_definitions.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "published_by_id"], ["users.tenant_id", "users.id"]),
    )

    definition_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    tree: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class FlowInstance(TenantOwned, Base):
    """One record going through its flow. ``values`` are the record's values when it was
    (re)submitted: conditions are decided on them, and approvers see what was submitted."""

    __tablename__ = "flow_instances"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "version_id"], ["flow_versions.tenant_id", "flow_versions.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "submitter_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint(_states("state", INSTANCE_STATES), name="state"),
        Index("ix_flow_instances_record", "tenant_id", "record_type", "record_id"),
        Index("ix_flow_instances_submitter", "tenant_id", "submitter_id", "state"),
    )

    version_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    submitter_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    state: Mapped[str] = mapped_column(String(16), default="running")
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    kinds: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # field key -> kind
    current_node: Mapped[str | None] = mapped_column(String(40))
    decided: Mapped[bool] = mapped_column(Boolean, default=False)  # a person decided a task
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FlowStep(TenantOwned, Base):
    """One visit of an approver node: its tasks decide it by the node's mode. A node visited
    again (after a send-back) gets a new step."""

    __tablename__ = "flow_steps"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "instance_id"], ["flow_instances.tenant_id", "flow_instances.id"]
        ),
        CheckConstraint(_states("state", STEP_STATES), name="state"),
        CheckConstraint(_states("mode", MODES), name="mode"),
        Index("ix_flow_steps_instance", "tenant_id", "instance_id"),
        Index("ix_flow_steps_due", "tenant_id", "state", "due_at"),
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    node_id: Mapped[str] = mapped_column(String(40))
    node_name: Mapped[str] = mapped_column(String(100), default="")
    mode: Mapped[str] = mapped_column(String(10))
    ratio: Mapped[int | None] = mapped_column(Integer)  # percent, for mode "ratio"
    state: Mapped[str] = mapped_column(String(10), default="active")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timed_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FlowTask(TenantOwned, Base):
    """One assignee's part in a step. ``added`` tasks come from 加签 and must always be
    approved; ``blocks_id`` is the task an added-before signer holds back until they
    approve. ``position`` orders tasks of a node in sequence."""

    __tablename__ = "flow_tasks"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "step_id"], ["flow_steps.tenant_id", "flow_steps.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "instance_id"], ["flow_instances.tenant_id", "flow_instances.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "assignee_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint(_states("state", TASK_STATES), name="state"),
        Index("ix_flow_tasks_assignee", "tenant_id", "assignee_id", "state"),
        Index("ix_flow_tasks_step", "tenant_id", "step_id"),
    )

    step_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    instance_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    assignee_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    position: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[bool] = mapped_column(Boolean, default=False)
    blocks_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None: decided by the system


class FlowAction(TenantOwned, Base):
    """One entry of an instance's timeline."""

    __tablename__ = "flow_actions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "instance_id"], ["flow_instances.tenant_id", "flow_instances.id"]
        ),
        Index("ix_flow_actions_instance", "tenant_id", "instance_id"),
        Index("ix_flow_actions_actor", "tenant_id", "actor_id", "action"),
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    step_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    node_id: Mapped[str | None] = mapped_column(String(40))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None: the system
    action: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    attachment_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlowCopy(TenantOwned, Base):
    """A CC (抄送) of an instance to a user: they may follow it, not decide it."""

    __tablename__ = "flow_copies"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "instance_id"], ["flow_instances.tenant_id", "flow_instances.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        UniqueConstraint("tenant_id", "instance_id", "node_id", "user_id"),
        Index("ix_flow_copies_user", "tenant_id", "user_id"),
    )

    instance_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    node_id: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
