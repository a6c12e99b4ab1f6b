"""Periodic jobs: payouts left ``paying`` are asked about (every 10 minutes), for channels
that may never call back or whose callback was lost. Each order is asked and settled in its
own transaction, so one provider's error leaves that order ``paying`` (logged, asked again
next time) and the others go on."""

from __future__ import annotations

import datetime as dt
import logging
import time

from sqlalchemy import select

from loandesk import sdk
from loandesk_disbursement import payout
from loandesk_disbursement.models import Order

log = logging.getLogger(__name__)

QUIET_FOR = dt.timedelta(minutes=5)  # a callback normally comes well within this
TIME_BUDGET = 480  # seconds: well before the next run, 10 minutes on


def poll_payouts(ctx: sdk.JobContext) -> None:
    """Ask the channel of every order ``paying`` and untouched for ``QUIET_FOR`` through a
    channel that can be asked (``query``); the answer lands as a callback's would
    (``payout.ask_provider``), alerts included. Channels without ``query`` are skipped."""
    session = ctx.session
    channels = [key for key, c in sdk.payout_connectors().items() if sdk.can_query(c)]
    if not channels:
        return
    due = session.execute(
        select(Order.id, Order.number)
        .where(
            Order.status == "paying",
            Order.method.in_(channels),
            Order.updated_at < sdk.utcnow() - QUIET_FOR,
        )
        .order_by(Order.updated_at, Order.id)
    ).all()
    session.commit()
    started = time.monotonic()
    for done, (order_id, number) in enumerate(due):
        if time.monotonic() - started > TIME_BUDGET:
            log.warning("payout poll: out of time, %d orders left for next time", len(due) - done)
            break
        try:
            payout.ask_provider(session, order_id)
        except sdk.DomainError as problem:
            session.rollback()  # settled meanwhile (a callback won), or the channel failed
            cause = problem.__cause__
            detail = sdk.scrub_personal(str(cause))[:300] if cause else problem.message
            log.warning("payout poll: order %s left as it was: %s", number, detail)
        except Exception:
            session.rollback()
            log.exception("payout poll: order %s failed", number)
        ctx.report_progress(done + 1, len(due))
