"""What a borrower may ask of an automatic decision (PIPL art. 24, 个人信息保护法第二十四条):
an explanation of its main reasons (``explanation``: plain text in Chinese and English built
from the reason texts the tenant wrote on its rules), and a person to decide (人工复核请求,
``request_review``): recorded on the decision, the flow then sees ``refer``, and an
application the rules rejected is put into approval again for a person to decide.

The explanation's fixed sentences are written here in both languages at once, not through
the staff's locale: the borrower reads the Chinese, whoever prints it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.sdk import (
    N_,
    Conflict,
    Form,
    NotFound,
    audit_record,
    current_values,
    latest_approval,
    submit_for_approval,
    utcnow,
)
from loandesk_risk.models import Decision
from loandesk_risk.service import decisions_of

CHANNELS = ("phone", "app", "branch", "letter", "email", "other")
MAX_REASONS = 5

_HEAD = {
    "auto_approve": ("您的申请已通过自动审核。", "Your application passed the automatic review."),
    "refer": (
        "您的申请需由工作人员进一步审核，主要原因如下：",
        "A member of staff will review your application, mainly because:",
    ),
    "auto_reject": (
        "您的申请未通过自动审核，主要原因如下：",
        "Your application did not pass the automatic review, mainly because:",
    ),
}
_SCORE = (
    "综合评分未达到自动通过的标准",
    "The overall score did not reach the automatic approval level",
)
_REVIEW = (
    "如您对结果有异议，可以要求由工作人员重新审核（人工复核）。",
    "If you disagree, you may ask for a member of staff to decide again (human review).",
)
_REVIEWING = (
    "您已要求人工复核，工作人员将重新审核您的申请。",
    "You asked for a human review: a member of staff will decide.",
)


@dataclass(frozen=True)
class Explanation:
    decision: Decision
    reasons: list[dict[str, str]]  # code, text_zh, text_en: the main reasons, in rule order
    text_zh: str
    text_en: str


def decision(session: Session, decision_id: uuid.UUID) -> Decision:
    found = session.scalar(select(Decision).where(Decision.id == decision_id))
    if found is None:
        raise NotFound(N_("There is no such decision."))
    return found


def explanation(found: Decision) -> Explanation:
    """The main reasons of ``found`` for the borrower: the reason texts of the rules that
    rejected or referred (rejections first, each reason once, at most five), or the score's
    band when it alone decided; nothing about the rules' thresholds or other inputs."""
    reasons: list[dict[str, str]] = []
    seen: set[str] = set()
    for wanted in ("reject", "refer"):
        for hit in found.hits or []:
            if hit.get("outcome") != wanted or hit.get("reason_code") in seen:
                continue
            seen.add(hit["reason_code"])
            reasons.append(
                {
                    "code": hit["reason_code"],
                    "text_zh": hit["reason_zh"],
                    "text_en": hit["reason_en"],
                }
            )
    if not reasons and found.outcome != "auto_approve":
        reasons.append({"code": "SCORE", "text_zh": _SCORE[0], "text_en": _SCORE[1]})
    reasons = reasons[:MAX_REASONS]
    texts = []
    for index, language in enumerate(("zh", "en")):
        lines = [_HEAD[found.outcome][index]]
        lines += [f"{n}. {r[f'text_{language}']}" for n, r in enumerate(reasons, start=1)]
        if found.outcome != "auto_approve":
            lines.append((_REVIEWING if found.review_requested_at else _REVIEW)[index])
        texts.append("\n".join(lines))
    return Explanation(found, reasons, texts[0], texts[1])


def request_review(
    session: Session,
    form: Form,
    record: Any,
    found: Decision,
    *,
    user_id: uuid.UUID,
    channel: str,
    note: str = "",
) -> bool:
    """Record that the borrower asked for a person to decide on ``found`` (staff ``user_id``
    records it, the borrower asked through ``channel``), audited. From now on the flow sees
    ``refer`` for this record. If the rules rejected it and its approval ended rejected,
    it is put into approval again (``submit_for_approval``: a new decision, which keeps the
    request and so refers, then the flow's path to a person). True when it was reopened."""
    if found.review_requested_at is not None:
        raise Conflict(N_("A human review was already requested on this decision."))
    newest = next(iter(decisions_of(session, found.record_type, found.record_id)), None)
    if newest is None or newest.id != found.id:
        raise Conflict(N_("A newer decision was made on this application; ask on that one."))
    found.review_requested_at = utcnow()
    found.review_requested_by_id = user_id
    found.review_channel = channel
    found.review_note = note
    session.flush()
    approval = latest_approval(session, found.record_type, found.record_id)
    reopen = (
        found.outcome == "auto_reject" and approval is not None and approval.state == "rejected"
    )
    audit_record(
        session,
        "risk.review_request",
        found.record_type,
        found.record_id,
        {"decision": str(found.id), "channel": channel, "reopened": reopen},
    )
    if reopen:
        assert approval is not None
        values = current_values(record, form, lambda spec: getattr(record, spec.source))
        submit_for_approval(
            session,
            form.record_type,
            record,
            form,
            values,
            submitter_id=user_id,
            title=approval.title,
        )
    return reopen
