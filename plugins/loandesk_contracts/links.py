"""The borrower's link (借款人专属链接): signed with the install's key, naming the contract,
the nonce it had when the link was made and when the link stops working. Sending the
contract again, voiding it or its expiry changes the nonce, so an old link stops at once."""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from loandesk import sdk

PURPOSE = "contracts.borrower"


@dataclass(frozen=True)
class LinkClaim:
    contract_id: uuid.UUID
    nonce: str
    expires_at: dt.datetime


def token_for(contract: Any, *, days: int, now: dt.datetime | None = None) -> str:
    until = (now or sdk.utcnow()) + dt.timedelta(days=days)
    return sdk.sign_link(PURPOSE, [str(contract.id), contract.link_nonce, int(until.timestamp())])


def borrower_url(contract: Any, *, days: int) -> str:
    return sdk.public_url(f"/t/{sdk.current().slug}/contracts/b/{token_for(contract, days=days)}")


def callback_url(provider_key: str) -> str:
    return sdk.public_url(f"/t/{sdk.current().slug}/contracts/esign/{provider_key}/callback")


def read(token: str, now: dt.datetime | None = None) -> LinkClaim | None:
    """What ``token`` claims, or None when it was changed, made for something else, or has
    expired."""
    value = sdk.read_signed(PURPOSE, token)
    if not isinstance(value, list) or len(value) != 3:
        return None
    try:
        claim = LinkClaim(
            uuid.UUID(str(value[0])),
            str(value[1]),
            dt.datetime.fromtimestamp(int(value[2]), dt.UTC),
        )
    except (ValueError, TypeError, OverflowError):
        return None
    if claim.expires_at <= (now or sdk.utcnow()) or not claim.nonce:
        return None
    return claim


def matches(claim: LinkClaim, contract: Any) -> bool:
    return bool(contract.link_nonce) and hmac.compare_digest(claim.nonce, contract.link_nonce)
