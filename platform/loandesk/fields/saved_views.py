"""Saved views of record lists (保存的视图): a user's named choice of columns, filters and
order for one record type, and which one opens by default. Views are private: every function
here works on the acting user's own views only, within the current tenant."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from loandesk import audit
from loandesk.db import Base, TenantOwned, UTCDateTime, utcnow
from loandesk.errors import NotFound, ValidationFailed
from loandesk.fields.lists import ListState, RecordList
from loandesk.fields.validation import message
from loandesk.i18n import N_

NAME_LENGTH = 60
MAX_VIEWS = 50  # per user and record type


class ListView(TenantOwned, Base):
    """One user's saved view of one record type's list."""

    __tablename__ = "list_views"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"]),
        UniqueConstraint("tenant_id", "user_id", "record_type", "name"),
        Index("ix_list_views_user", "tenant_id", "user_id", "record_type"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    record_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    filters: Mapped[list[str]] = mapped_column(JSON, default=list)  # "key:op:value"
    sort: Mapped[str] = mapped_column(String(50), default="")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def state(self) -> ListState:
        return ListState.of(self.columns or (), self.filters or (), self.sort or "")


def views_of(
    session: Session, user_id: uuid.UUID, record_type: str | None = None
) -> list[ListView]:
    """The user's views (of ``record_type``), by name."""
    query = select(ListView).where(ListView.user_id == user_id)
    if record_type is not None:
        query = query.where(ListView.record_type == record_type)
    return list(session.scalars(query.order_by(ListView.record_type, ListView.name)))


def get_view(session: Session, user_id: uuid.UUID, view_id: uuid.UUID) -> ListView:
    """The user's view; another user's is ``NotFound``, as if it did not exist."""
    found = session.scalar(
        select(ListView).where(ListView.id == view_id, ListView.user_id == user_id)
    )
    if found is None:
        raise NotFound(N_("No such view."))
    return found


def default_view(session: Session, user_id: uuid.UUID, record_type: str) -> ListView | None:
    return session.scalar(
        select(ListView).where(
            ListView.user_id == user_id,
            ListView.record_type == record_type,
            ListView.is_default.is_(True),
        )
    )


def save_view(
    session: Session,
    listing: RecordList,
    user_id: uuid.UUID,
    values: Mapping[str, Any],
    *,
    view: ListView | None = None,
) -> ListView:
    """Create a view (``view`` None) or change it. ``values`` may hold ``name``, ``columns``,
    ``filters``, ``sort`` and ``is_default``; the state is checked against what the user may
    see now (422 naming the problem)."""
    record_type = listing.access.record_type.key
    current = view.state if view is not None else ListState()
    state = ListState.of(
        values.get("columns", current.columns),
        values.get("filters", [str(f) for f in current.filters]),
        values.get("sort", current.sort),
    )
    listing.resolve(state)  # raises ValidationFailed naming a bad column, filter or sort
    name = str(values.get("name", view.name if view else "")).strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > NAME_LENGTH:
        errors["name"] = [message(N_("Enter a name of at most %(count)s characters."), count=60)]
    else:
        clash = session.scalar(
            select(ListView.id).where(
                ListView.user_id == user_id,
                ListView.record_type == record_type,
                ListView.name == name,
            )
        )
        if clash is not None and (view is None or clash != view.id):
            errors["name"] = [message(N_("You have a view with this name."))]
    if view is None and len(views_of(session, user_id, record_type)) >= MAX_VIEWS:
        errors["name"] = [message(N_("At most %(count)s views per list."), count=MAX_VIEWS)]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    before = _audited(view) if view is not None else None
    if view is None:
        view = ListView(user_id=user_id, record_type=record_type)
        session.add(view)
    view.name = name
    view.columns = list(state.columns)
    view.filters = [str(f) for f in state.filters]
    view.sort = state.sort
    if "is_default" in values:
        make_default = bool(values["is_default"])
        if make_default:
            for other in views_of(session, user_id, record_type):
                if other is not view and other.is_default:
                    other.is_default = False
        view.is_default = make_default
    elif before is None:
        view.is_default = False
    session.flush()
    if before is None:
        audit.record(session, "list_view.create", "list_view", view.id, _audited(view))
    elif diff := audit.changes(before, _audited(view)):
        audit.record(session, "list_view.update", "list_view", view.id, diff)
    return view


def delete_view(session: Session, view: ListView) -> None:
    audit.record(session, "list_view.delete", "list_view", view.id, _audited(view))
    session.delete(view)
    session.flush()


def _audited(view: ListView) -> dict[str, Any]:
    return {
        "record_type": view.record_type,
        "name": view.name,
        "columns": list(view.columns or ()),
        "filters": list(view.filters or ()),
        "sort": view.sort,
        "is_default": bool(view.is_default),
    }
