"""E-signature (电子签章) as the contracts module sees it: a contract in the core, implemented by
connector plugins for providers (e签宝, 法大大, ...) and by the contracts plugin's built-in
click-to-sign, reached through ``sdk.signature_providers()`` (DESIGN §3: contracts in the core,
implementations in plugins).

The flow: ``request_signature`` hands the provider the PDF and the signer and gets back its
reference and a signing URL (sent to the borrower by SMS); the provider later calls back
(``handle_callback`` checks the call's signature and says which request it is about and how it
ended); ``fetch_signed`` then downloads the signed PDF, which the contract keeps with its hash."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Signer:
    """Who signs: the borrower as the loan names them (plaintext: a provider verifies the
    person's identity with it; never log it)."""

    name: str
    mobile: str
    id_number: str | None = None


@dataclass(frozen=True)
class SignatureRequest:
    """What a provider answers to a request: its reference for it and where the signer signs."""

    reference: str
    signing_url: str


@dataclass(frozen=True)
class SignatureOutcome:
    """What a provider's callback says: which request (``reference``) ended how."""

    reference: str
    state: Literal["signed", "refused", "expired", "pending"]  # pending: not the end yet
    signed_at: dt.datetime | None = None
    detail: str = ""


class ProviderUnavailable(Exception):
    """The provider did not answer, or failed, while a callback was handled (the signed PDF
    could not be fetched): the caller answers 503 and keeps nothing, so that the provider
    calls back again (providers retry a callback that did not succeed)."""


class CallbackRefused(Exception):
    """The callback's signature does not verify, or its body is not the provider's: the
    caller answers 400 and changes nothing."""


class SignatureProvider(Protocol):
    """One way to sign contracts. ``key`` is ``<plugin>`` or ``<plugin>.<name>``; the labels
    name it for staff. Every method runs in the caller's transaction, for the current tenant,
    with the provider plugin's settings read by the plugin itself."""

    key: str
    label_zh: str
    label_en: str

    def request_signature(
        self,
        session: Session,
        *,
        document: bytes,
        filename: str,
        signer: Signer,
        subject_id: str,
        expires_at: dt.datetime,
        callback_url: str,
    ) -> SignatureRequest:
        """Ask the provider to have ``signer`` sign ``document`` (a PDF) before
        ``expires_at``; ``subject_id`` is the contract's id (the provider echoes it back),
        ``callback_url`` where the provider reports the outcome. Raise ``DomainError`` (502
        for the provider's refusal or silence) with a message staff can act on: nothing is
        kept, and sending the contract again tries again."""

    def handle_callback(
        self, session: Session, *, headers: Mapping[str, str], body: bytes
    ) -> SignatureOutcome:
        """Verify a callback the provider sent to ``callback_url`` (its signature over the
        body) and read it; ``CallbackRefused`` when it does not verify."""

    def fetch_signed(self, session: Session, reference: str) -> bytes:
        """The signed PDF of request ``reference`` (after a ``signed`` outcome);
        ``ProviderUnavailable`` when it cannot be fetched now."""


def is_provider(candidate: Any) -> bool:
    """Whether ``candidate`` looks like a ``SignatureProvider`` (checked when a plugin offers
    one, so that a wrong object fails at once with its plugin's name)."""
    return all(
        hasattr(candidate, name)
        for name in ("key", "label_zh", "label_en", "request_signature", "handle_callback")
    ) and callable(getattr(candidate, "fetch_signed", None))
