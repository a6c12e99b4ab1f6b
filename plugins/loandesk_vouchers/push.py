"""Pushing vouchers to Kingdee Cloud 星空 as a job (``vouchers.push``): each voucher's state
and last error are kept on it. Kingdee refusing a voucher marks it ``push_failed`` for good
(fix the mapping or Kingdee's data, then retry); Kingdee not answering marks it too and
raises, so that the job system tries again with backoff. A voucher tried before is first looked
up in Kingdee (``kingdee.Client.find_voucher``): a save whose answer was lost is not posted
twice."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_vouchers import kingdee, service
from loandesk_vouchers.models import Voucher

JOB = "vouchers.push"
MAX_ATTEMPTS = 4
BACKOFF = (30, 120, 600)
PUSHABLE = ("draft", "exported", "push_failed")


def queue(vouchers: list[Voucher]) -> str | None:
    """Enqueue a push of those of ``vouchers`` not pushed yet; the job's id, or None."""
    ids = [str(v.id) for v in vouchers if v.state in PUSHABLE]
    if not ids:
        return None
    return sdk.enqueue(JOB, sdk.current().id, *ids)


def push_job(ctx: sdk.JobContext, *voucher_ids: str) -> None:
    session = ctx.session
    settings = sdk.plugin_settings("vouchers")
    ids = [uuid.UUID(v) for v in voucher_ids]
    found, _ = service.vouchers_of(session, ids=ids)
    todo = [v for v in found if v.state in PUSHABLE]
    try:
        client = kingdee.Client(kingdee.Config.from_settings(settings))
    except kingdee.KingdeeError as problem:
        for voucher in todo:
            _failed(session, voucher, str(problem))
        return
    for done, voucher in enumerate(todo, start=1):
        lines = service.lines_of(session, voucher)
        model = kingdee.voucher_model(voucher, lines, settings)
        tried_before = voucher.push_attempts > 0
        voucher.push_attempts += 1
        try:
            # an earlier save may have landed though its answer was lost: never post twice
            saved = (client.find_voucher(model) if tried_before else None) or (
                client.save_voucher(model)
            )
        except kingdee.KingdeeError as problem:
            _failed(session, voucher, str(problem))
            continue
        except kingdee.KingdeeUnavailable as problem:
            _failed(session, voucher, str(problem))
            session.commit()  # kept, whatever the retry brings
            if ctx.attempt < MAX_ATTEMPTS:
                raise
            return
        now = sdk.utcnow()
        voucher.state, voucher.error, voucher.pushed_at = "pushed", None, now
        voucher.external_id, voucher.external_number = saved.id, saved.number
        voucher.sent, voucher.updated_at = service.snapshot(lines), now
        sdk.audit_record(
            session,
            "vouchers.pushed",
            "vouchers_voucher",
            voucher.id,
            {"kingdee_id": saved.id, "kingdee_number": saved.number},
        )
        session.commit()  # one voucher pushed is recorded before the next is tried
        sdk.connector_succeeded("vouchers", f"voucher {voucher.word}-{voucher.number} saved")
        ctx.report_progress(done, len(todo))


def test(session: object) -> str:
    """The connector's test: sign in to Kingdee (``ValidateUser``) with the saved settings;
    nothing is saved."""
    client = kingdee.Client(kingdee.Config.from_settings(sdk.plugin_settings("vouchers")))
    client.login()
    return "signed in to Kingdee Cloud, nothing saved"


def _failed(session: Session, voucher: Voucher, error: str) -> None:
    sdk.connector_failed("vouchers", f"voucher {voucher.word}-{voucher.number}: {error}")
    voucher.state, voucher.error, voucher.updated_at = "push_failed", error[:1000], sdk.utcnow()
    sdk.audit_record(
        session, "vouchers.push_failed", "vouchers_voucher", voucher.id, {"error": error[:300]}
    )
