"""Finding data-subject requests: filters, exact-match search by the person's name, ID number or
mobile number (keyed hashes, never decryption), and the masked or revealed subject."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.errors import ValidationFailed
from loandesk.i18n import N_
from loandesk.pii.keys import Keyring
from loandesk.privacy.models import OPEN_STATUSES, DataRequest

SOME_FIELDS = N_("Some fields need attention.")


@dataclass(frozen=True)
class RequestFilter:
    status: str = ""  # one status, or "open"
    kind: str = ""
    overdue: bool = False
    handler_id: uuid.UUID | None = None
    received_from: date | None = None
    received_to: date | None = None
    subject: str = ""  # the full name, ID number or mobile number: exact match


def subject_search_problems(value: str) -> list[str]:
    """A number that cannot be a whole ID or mobile number would never match: say so."""
    compact = "".join(value.split()).replace("-", "").upper().removeprefix("+")
    if len(compact) == 13 and compact.startswith("86"):
        compact = compact[2:]  # a mobile number with its country code
    looks_numeric = compact[:-1].isdigit() and (compact[-1:].isdigit() or compact[-1:] == "X")
    if looks_numeric and len(compact) not in (11, 18):
        return [
            N_(
                "Search needs the whole number: 18 characters of an ID number or 11 digits "
                "of a mobile number."
            )
        ]
    return []


@dataclass(frozen=True)
class Page:
    items: list[DataRequest]
    total: int
    page: int
    per_page: int


def _query(keys: Keyring, f: RequestFilter, today: date) -> Select[Any]:
    query = select(DataRequest)
    if f.status == "open":
        query = query.where(DataRequest.status.in_(OPEN_STATUSES))
    elif f.status:
        query = query.where(DataRequest.status == f.status)
    if f.kind:
        query = query.where(DataRequest.kind == f.kind)
    if f.overdue:
        query = query.where(DataRequest.status.in_(OPEN_STATUSES), DataRequest.due_on < today)
    if f.handler_id is not None:
        query = query.where(DataRequest.handler_id == f.handler_id)
    if f.received_from is not None:
        query = query.where(DataRequest.received_on >= f.received_from)
    if f.received_to is not None:
        query = query.where(DataRequest.received_on <= f.received_to)
    if f.subject.strip():
        # each kind hashes its own normal form, so trying all three never mixes them up
        query = query.where(
            or_(
                DataRequest.personal_match("subject_id_number", f.subject, keys=keys),
                DataRequest.personal_match("subject_mobile", f.subject, keys=keys),
                DataRequest.personal_match("subject_name", f.subject, keys=keys),
            )
        )
    return query


def search(
    session: Session,
    keys: Keyring,
    f: RequestFilter,
    *,
    today: date,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """Open requests first, the most urgent on top; then closed ones, newest first."""
    if f.subject and (problems := subject_search_problems(f.subject)):
        raise ValidationFailed(SOME_FIELDS, errors={"subject": problems})
    query = _query(keys, f, today)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    is_closed = case((DataRequest.status.in_(OPEN_STATUSES), 0), else_=1)
    items = session.scalars(
        query.order_by(is_closed, DataRequest.due_on, DataRequest.number.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(items), total, page, per_page)


def masked_subject(request: DataRequest, keys: Keyring) -> dict[str, str | None]:
    return {field: request.get_masked(field, keys=keys) for field in request.__personal_fields__}


def reveal(session: Session, keys: Keyring, request: DataRequest) -> dict[str, str | None]:
    """The subject's data in full, for whoever answers the person; audited."""
    audit.record(session, "data_request.reveal", "data_request", request.id, {})
    return {field: request.get_personal(field, keys=keys) for field in request.__personal_fields__}


def counts(session: Session, today: date) -> Mapping[str, int]:
    """Open and overdue requests, for the list's header."""
    is_open = DataRequest.status.in_(OPEN_STATUSES)
    base = select(func.count()).select_from(DataRequest).where(is_open)
    open_count = session.scalar(base)
    overdue = session.scalar(base.where(DataRequest.due_on < today))
    return {"open": open_count or 0, "overdue": overdue or 0}
