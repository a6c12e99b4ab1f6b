"""The case's part of a loan's litigation dossier (诉讼材料包): every collection action and
every promise to pay, oldest first, as a lawyer reads them (who, when, what came of it)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_collections.models import Action, Case, Promise

KINDS = {"call": "电话", "sms": "短信", "visit": "上门", "letter": "信函", "note": "备注"}
PROMISE_STATUSES = {"open": "待兑现", "kept": "已兑现", "broken": "未兑现"}


def sections(session: Session, loan_id: uuid.UUID) -> list[sdk.DossierSection] | None:
    case = session.scalar(select(Case).where(Case.loan_id == loan_id))
    if case is None:
        return None
    actions = list(
        session.scalars(
            select(Action).where(Action.case_id == case.id).order_by(Action.created_at, Action.id)
        )
    )
    promises = list(
        session.scalars(
            select(Promise)
            .where(Promise.case_id == case.id)
            .order_by(Promise.created_at, Promise.id)
        )
    )
    names = sdk.display_names(
        session, {a.user_id for a in actions} | {p.made_by_id for p in promises}
    )

    def when(moment: Any) -> str:
        return moment.strftime("%Y-%m-%d %H:%M UTC")

    action_rows = tuple(
        (when(a.created_at), names.get(a.user_id, ""), KINDS.get(a.kind, a.kind), a.outcome,
         a.contact, a.note)
        for a in actions
    )  # fmt: skip
    promise_rows = tuple(
        (when(p.created_at), names.get(p.made_by_id, ""), f"{p.amount:.2f}",
         p.promised_on.isoformat(), f"{p.paid:.2f}", PROMISE_STATUSES.get(p.status, p.status))
        for p in promises
    )  # fmt: skip
    return [
        sdk.DossierSection(
            key="collections.actions",
            title_zh="催收记录",
            title_en="Collection actions",
            columns=(("时间", "When"), ("催收员", "Collector"), ("方式", "Kind"),
                     ("结果", "Outcome"), ("联系对象", "Contact"), ("备注", "Note")),
            rows=action_rows,
            order=40,
        ),
        sdk.DossierSection(
            key="collections.promises",
            title_zh="承诺还款记录",
            title_en="Promises to pay",
            columns=(("登记时间", "Made"), ("登记人", "Made by"), ("承诺金额", "Amount"),
                     ("承诺日期", "Promised on"), ("已还", "Paid"), ("状态", "Status")),
            rows=promise_rows,
            order=41,
        ),
    ]  # fmt: skip
