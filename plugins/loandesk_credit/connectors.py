"""The connector contract for external credit and anti-fraud data (征信 / 反欺诈 / 多头借贷).

A connector plugin returns ``Connector`` objects from the ``loandesk_credit_connectors`` hook.
The credit plugin chooses the tenant's connector by key, checks the borrower's consent, and
calls ``query(subject, settings)`` with the borrower's identity and the connector plugin's
settings for the tenant (secrets decrypted). ``query`` returns the normalised variables: flat
names (prefixed by the source, ``bureau_score``) to an int, a bool, a short text or None
(unknown); it raises ``ConnectorError`` when the provider gives no answer, with a message that
holds no personal data (it is stored with the query and shown to staff). The credit plugin
keeps only these variables: never the provider's raw answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Value = int | bool | str | None


class ConnectorError(Exception):
    """The provider did not answer with a result (unreachable, timed out, refused the request
    or answered something unreadable); the message says which, without personal data."""


@dataclass(frozen=True)
class Subject:
    """Whom to query: plaintext personal data, for the connector's request only, and the id of
    the consent record that allows it (sent as the consent reference the provider keeps)."""

    id_number: str
    name: str
    mobile: str
    consent_reference: str
    request_id: str  # unique per external call: the provider's idempotency / reconciliation key

    def __repr__(self) -> str:  # never in a log or a traceback
        return f"Subject(consent_reference={self.consent_reference!r})"


@dataclass(frozen=True)
class Connector:
    key: str  # "<plugin>" or "<plugin>.<name>": the plugin whose settings ``query`` gets
    label_zh: str
    label_en: str
    query: Callable[[Subject, Mapping[str, Any]], dict[str, Value]]

    @property
    def plugin(self) -> str:
        return self.key.partition(".")[0]

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en
