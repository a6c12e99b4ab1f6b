"""The borrower's history in the tenant as risk variables (``history_*``): how many other
applications they submitted in the last 30 days and how many of those submitted in the last
90 days were rejected. Read through the record type's own model (the application's
``customer_id``, ``status``, ``submitted_at``), never another plugin's internals; loans and
repayments join when servicing does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk.sdk import RecordType, utcnow

KINDS = {"history_applications_30d": "integer", "history_rejected_90d": "integer"}


def kinds(record_type: RecordType) -> dict[str, str] | None:
    return dict(KINDS) if _usable(record_type) else None


def variables(session: Session, record_type: RecordType, record: Any) -> dict[str, Any] | None:
    if not _usable(record_type) or getattr(record, "customer_id", None) is None:
        return None
    model: Any = record_type.model
    now = utcnow()
    others = select(func.count()).where(
        model.customer_id == record.customer_id, model.submitted_at.is_not(None)
    )
    # the application decided on is not its own history; a caller asking about the borrower
    # alone (early warning scoring a loan) passes a stand-in with no id
    own_id = getattr(record, "id", None)
    if own_id is not None:
        others = others.where(model.id != own_id)
    return {
        "history_applications_30d": session.scalar(
            others.where(model.submitted_at > now - timedelta(days=30))
        )
        or 0,
        "history_rejected_90d": session.scalar(
            others.where(model.submitted_at > now - timedelta(days=90), model.status == "rejected")
        )
        or 0,
    }


def _usable(record_type: RecordType) -> bool:
    model = record_type.model
    return record_type.key == "application" and all(
        hasattr(model, name) for name in ("customer_id", "status", "submitted_at")
    )
