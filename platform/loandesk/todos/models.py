"""The ``todos`` table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow


class Todo(TenantOwned, Base):
    """A to-do for one user (``assignee_user_id``) or for every holder of a role
    (``assignee_role``, a role key): exactly one of the two. ``due_at`` is UTC; a due date
    without a time (``due_all_day``) is due at the end of that day in the tenant's timezone.
    ``source_key``, when given, is unique in the tenant: creating the same to-do again (an
    automation run twice) returns the existing one."""

    __tablename__ = "todos"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source_key"),
        ForeignKeyConstraint(["tenant_id", "assignee_user_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        ForeignKeyConstraint(["tenant_id", "done_by_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint(
            "(assignee_user_id is null) <> (assignee_role is null)", name="one_assignee"
        ),
        # "my open to-dos, soonest due first": by user, and by role for the role holders
        Index("ix_todos_user_open", "tenant_id", "assignee_user_id", "done_at", "due_at"),
        Index("ix_todos_role_open", "tenant_id", "assignee_role", "done_at", "due_at"),
        Index("ix_todos_record", "tenant_id", "record_type", "record_id"),
    )

    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    assignee_role: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(60), default="manual")
    source_key: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def is_overdue(self, now: datetime) -> bool:
        return self.done_at is None and self.due_at is not None and self.due_at < now
