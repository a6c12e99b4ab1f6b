"""Paying out a loan through a provider (放款通道): a contract in the core, implemented by
connector plugins (a funder's or a bank's payout API) and used by the disbursement plugin,
which never learns who the provider is (DESIGN §3: contracts in the core, implementations in
plugins).

A payout is asked once per order with the order's idempotency key: a provider that sees the
same key again must answer with the first payout, never pay twice. The result comes back in
the answer (``paid`` / ``failed``) or later (``pending``), through the provider's callback,
which the connector verifies (its signature) and reads into a ``PayoutResult``. A provider that
may never call back can be asked instead: a connector that also has ``query`` (``PayoutQuery``)
lets the disbursement plugin poll the payouts left ``pending``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeGuard

PAYOUT_STATUSES = ("paid", "pending", "failed")


class InvalidCallback(ValueError):
    """A callback the connector does not believe (bad signature, unknown shape): answered
    400 and changes nothing."""


@dataclass(frozen=True)
class PayoutRequest:
    """One disbursement order as a provider needs it. ``account_number`` is the payee's card
    number in plaintext: for the provider only, never logged nor stored by the connector."""

    order_id: str
    order_number: str
    idempotency_key: str
    amount: Decimal
    currency: str
    account_name: str
    account_number: str
    bank_name: str
    loan_number: str
    callback_url: str


@dataclass(frozen=True)
class PayoutResult:
    """What the provider says of a payout: ``reference`` (its id, kept with the order),
    ``status`` (``paid``, ``pending`` or ``failed``), the day the money left when paid
    (``paid_on``, None: today in the tenant's time zone), and a reason when it failed.
    ``idempotency_key`` names the order in a callback (it is what the provider was given);
    ``amount`` is what the provider says it paid, when it says (shown to staff when a result
    cannot be applied)."""

    reference: str
    status: str
    paid_on: dt.date | None = None
    message: str = ""
    idempotency_key: str = ""
    amount: Decimal | None = None


class PayoutConnector(Protocol):
    """A payout provider. ``key`` is unique across plugins (``<plugin>`` or
    ``<plugin>.<name>``); ``label_zh``/``label_en`` name it to staff.

    Optional: ``query(idempotency_key) -> PayoutResult`` (see ``PayoutQuery``), the provider's
    current word on the payout it was given under ``idempotency_key``. A connector that has it
    is asked about payouts left ``pending`` (a callback lost or never sent), and its answer is
    applied exactly like a callback; one without it is never polled."""

    key: str
    label_zh: str
    label_en: str

    def pay(self, request: PayoutRequest) -> PayoutResult:
        """Ask the provider to pay ``request`` (once per ``idempotency_key``). Raise on a
        transport error: the order stays ``paying`` and may be sent again with the same key."""

    def read_callback(self, headers: Mapping[str, str], body: bytes) -> PayoutResult:
        """The provider's asynchronous result of a payout, from its callback request, after
        verifying it came from the provider (``InvalidCallback`` otherwise)."""


class PayoutQuery(Protocol):
    """The optional part of ``PayoutConnector``: asking the provider for a payout's result."""

    def query(self, idempotency_key: str) -> PayoutResult:
        """What the provider says now of the payout it was given under ``idempotency_key``
        (``paid``, ``pending`` or ``failed``, with ``idempotency_key`` set to it), after
        verifying the answer came from the provider as a callback would be. Raise on a
        transport error or when the provider does not know the key: nothing changes."""


def can_query(connector: object) -> TypeGuard[PayoutQuery]:
    """Whether ``connector`` implements the optional ``query``."""
    return callable(getattr(connector, "query", None))
