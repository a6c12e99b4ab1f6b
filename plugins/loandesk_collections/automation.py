"""The ``collections.assign`` automation action (分配至提前催收): a rule on loans (an overdue
warning, a broken promise elsewhere) opens or moves the loan's case into a named queue,
even before the loan is overdue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk.sdk import N_


def check(params: Mapping[str, Any], form: Any, session: Session) -> dict[str, list[str]]:
    from loandesk_collections.models import Queue

    code = str(params.get("queue") or "").strip()
    if not code or session.scalar(select(Queue.id).where(Queue.code == code)) is None:
        return {"queue": [sdk.message(N_("Choose a collection queue by its code."))]}
    return {}


def run(ctx: Any, params: Mapping[str, Any]) -> Mapping[str, Any]:
    from loandesk_collections import cases

    case = cases.assign_early(ctx.session, ctx.record.id, str(params["queue"]))
    return {"case": str(case.id), "queue": str(params["queue"])}


def _loans_only(record_type: Any) -> bool:
    return bool(record_type.key == "loan")


ASSIGN = sdk.ActionType(
    "collections.assign",
    "分配至提前催收",
    "Assign to early collection",
    check,
    run,
    applies=_loans_only,
)
