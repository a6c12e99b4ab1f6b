"""Reading the watch list and the model versions: the queries the API and the pages share
(data scope applied, paginated, filtered by level, product and owner)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_warning import features as feats
from loandesk_warning.models import WarningModel, WatchEntry


def list_entries(
    session: Session,
    access: sdk.RecordAccess,
    *,
    level: str | None = None,
    product: str | None = None,
    owner_id: uuid.UUID | None = None,
    status: str = "flagged",
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[WatchEntry], int]:
    """The entries the viewer's scope reaches, highest score first, and how many."""
    access.require_read()
    query = access.where(select(WatchEntry)).where(WatchEntry.status == status)
    if level:
        query = query.where(WatchEntry.level == level)
    if product:
        query = query.where(WatchEntry.product_code == product)
    if owner_id:
        query = query.where(WatchEntry.owner_id == owner_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(WatchEntry.score.desc(), WatchEntry.first_flagged_at, WatchEntry.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), int(total)


def find_entry(session: Session, access: sdk.RecordAccess, entry_id: Any) -> WatchEntry:
    """The entry ``entry_id`` if the viewer's scope reaches it, else ``NotFound``."""
    found = session.scalar(select(WatchEntry).where(WatchEntry.id == entry_id))
    return access.check_record(found)


def products(session: Session, access: sdk.RecordAccess) -> list[str]:
    query = access.where(select(WatchEntry.product_code).distinct()).where(
        WatchEntry.status == "flagged"
    )
    return sorted(session.scalars(query))


def versions(session: Session, *, page: int = 1, per_page: int = 20) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(WarningModel)) or 0
    rows = session.scalars(
        select(WarningModel)
        .order_by(WarningModel.version.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), int(total)


def coefficients(model: WarningModel) -> list[dict[str, Any]]:
    """The model's features with their labels and coefficients, strongest first."""
    found = []
    for name, coefficient in zip(model.features, model.parameters["coefficients"], strict=True):
        zh, en = feats.LABELS.get(name, (name, name))
        found.append(
            {"name": name, "label_zh": zh, "label_en": en, "coefficient": round(coefficient, 4)}
        )
    return sorted(found, key=lambda f: -abs(f["coefficient"]))
