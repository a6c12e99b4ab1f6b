"""What a connector plugin declares: one ``Connector`` per provider it talks to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ConnectorTestFailed(Exception):
    """Raised by a connector's ``test`` when the provider refused or did not answer; the text
    (no secret, no personal data) is shown to the admin and kept as the connector's last
    error."""


@dataclass(frozen=True)
class Connector:
    """A provider outside LoanDesk that a plugin talks to (an SMS gateway, an SMTP server,
    e签宝, a credit bureau, a payout channel).

    ``key`` is ``<plugin>`` or ``<plugin>.<name>`` (a payout or credit connector keeps the key
    it has there); ``plugin`` the plugin that gives it, whose secret settings are scrubbed from
    every error text kept for it. ``test(session)`` makes one harmless real call to the
    provider with the tenant's saved settings (fetch a token, an SMTP login and ``NOOP``, a
    query for a payout that does not exist) and returns a short detail (``"token valid for
    7200 s"``) or raises with a clear message (``ConnectorTestFailed``; any exception counts).
    ``channels``: the notification channels it gives (``sms``): the outbox records each send
    through them against this connector."""

    key: str
    label_zh: str
    label_en: str
    plugin: str
    test: Callable[[Any], str | None]
    channels: tuple[str, ...] = ()

    def label(self, locale: str) -> str:
        return self.label_zh if locale.startswith("zh") else self.label_en
