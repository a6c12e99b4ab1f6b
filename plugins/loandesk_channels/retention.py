"""How long leads' personal data (name, mobile) is kept after their last change (保存期限):
a lead that became an application lives on as the customer, whose own clock applies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from loandesk.sdk import ANONYMISED_NAME, RetentionSubject, clear_personal
from loandesk_channels.models import Lead


def _due(cutoff: datetime) -> Select[Any]:
    return select(Lead.id).where(Lead.updated_at < cutoff, Lead.anonymised_at.is_(None))


def _anonymise(session: Session, lead_id: uuid.UUID, now: datetime) -> Sequence[str]:
    lead = session.scalar(select(Lead).where(Lead.id == lead_id))
    if lead is None:
        return []
    cleared = clear_personal(lead)
    for field in ("city", "referrer"):
        if getattr(lead, field) is not None:
            cleared.append(field)
            setattr(lead, field, None)
    lead.name = ANONYMISED_NAME
    cleared.append("name")
    lead.anonymised_at = now
    session.flush()
    return cleared


LEAD_RETENTION = RetentionSubject(
    key="channels.lead",
    label_zh="线索",
    label_en="Leads",
    clock_zh="最后一次更新后",
    clock_en="after the lead last changed",
    due=_due,
    anonymise=_anonymise,
)
