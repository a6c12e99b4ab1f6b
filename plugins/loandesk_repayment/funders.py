"""The funder catalogue (资金方): the tenant's own funds and its co-lending partners (联合贷),
and the shares a loan is split by (integer millionths that add up to exactly one)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_
from loandesk_repayment.checks import refuse
from loandesk_repayment.models import SHARE_UNIT, Funder, Loan, LoanFunder

OWN_FUNDS = "OWN"


def own_funds(session: Session) -> Funder:
    """The tenant's own funds (自有资金), made the first time a loan needs them."""
    query = select(Funder).where(Funder.code == OWN_FUNDS)
    found = session.scalar(query)
    if found is not None:
        return found
    made = Funder(code=OWN_FUNDS, name="自有资金", kind="own")
    try:
        with session.begin_nested():
            session.add(made)
            session.flush()
    except IntegrityError:  # another booking made them at the same moment
        found = session.scalar(query)
        if found is None:
            raise
        return found
    return made


def create_funder(session: Session, code: str, name: str, kind: str = "partner") -> Funder:
    code, name = (code or "").strip(), (name or "").strip()
    if not 1 <= len(code) <= 20:
        raise refuse("code", N_("Enter 1 to 20 characters."))
    if not 1 <= len(name) <= 100:
        raise refuse("name", N_("Enter 1 to 100 characters."))
    if kind not in ("own", "partner"):
        raise refuse("kind", N_("Choose one of the options."))
    if session.scalar(select(Funder.id).where(Funder.code == code)) is not None:
        raise refuse("code", N_("Another funder has this code."))
    funder = Funder(code=code, name=name, kind=kind)
    session.add(funder)
    session.flush()
    sdk.audit_record(session, "funder.create", "funder", funder.id, {"code": code, "kind": kind})
    return funder


def list_funders(session: Session) -> list[Funder]:
    return list(session.scalars(select(Funder).order_by(Funder.code)))


def shares_for(
    session: Session, funders: Sequence[dict[str, Any]] | None
) -> list[tuple[Funder, int]]:
    """Funders and their shares in millionths; exactly one in all. None: the own funds."""
    if not funders:
        return [(own_funds(session), SHARE_UNIT)]
    chosen: list[tuple[Funder, int]] = []
    for index, item in enumerate(funders):
        raw = item.get("funder_id") or item.get("code")
        funder = None
        try:
            if item.get("funder_id"):
                funder = session.scalar(select(Funder).where(Funder.id == uuid.UUID(str(raw))))
            elif item.get("code"):
                funder = session.scalar(select(Funder).where(Funder.code == str(raw)))
        except ValueError:
            funder = None
        if funder is None:
            raise refuse(f"funders.{index}.funder_id", N_("No such funder."))
        try:
            share = Decimal(str(item.get("share")))
            millionths = share * SHARE_UNIT
        except (InvalidOperation, ValueError):
            millionths = Decimal(-1)
        if (
            isinstance(item.get("share"), float)
            or not (0 < millionths <= SHARE_UNIT)
            or (millionths != millionths.to_integral_value())
        ):
            raise refuse(f"funders.{index}.share", N_("Enter a share such as 0.7."))
        if any(f.id == funder.id for f, _ in chosen):
            raise refuse(f"funders.{index}.funder_id", N_("This funder is named twice."))
        chosen.append((funder, int(millionths)))
    if sum(share for _, share in chosen) != SHARE_UNIT:
        raise refuse("funders", N_("The funders' shares must add up to exactly 1."))
    return chosen


def funders_of(session: Session, loan: Loan) -> list[tuple[Funder, int]]:
    rows = session.execute(
        select(Funder, LoanFunder.share)
        .join(LoanFunder, LoanFunder.funder_id == Funder.id)
        .where(LoanFunder.loan_id == loan.id, LoanFunder.tenant_id == Funder.tenant_id)
        .order_by(LoanFunder.share.desc(), Funder.code)
    )
    return [(funder, share) for funder, share in rows]
