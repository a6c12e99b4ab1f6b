"""Callbacks from providers (a payout channel, an e-signature service) that LoanDesk refuses
because they do not prove themselves (a bad signature, a body not the provider's): each is
recorded in the audit log (``callback.refused``) so that a forging attempt leaves a trace,
whichever connector received it. The entry names the kind of callback, the provider and why,
the caller's address and a digest of the body: never the body, headers or any secret."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from loandesk import audit


def record_refused(
    session: Session, kind: str, provider: str, reason: str, body: bytes, remote_addr: str | None
) -> None:
    """Roll back what the refused callback did and audit the refusal, committed on its own
    (the callback's answer is 400 whatever happens here)."""
    session.rollback()
    audit.record(
        session,
        "callback.refused",
        kind,
        provider[:64],
        {
            "reason": reason[:200],
            "remote_addr": (remote_addr or "")[:64],
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body_bytes": len(body),
        },
    )
    session.commit()
