"""The current tenant's connectors (those of its enabled plugins, and the core's ``webhooks``
once it has a webhook) with their status, and the test an admin runs on one."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.connectors import status
from loandesk.connectors.contract import Connector
from loandesk.connectors.models import ConnectorStatus
from loandesk.errors import NotFound
from loandesk.i18n import N_

log = logging.getLogger(__name__)


def _test_webhooks(session: Session) -> str:
    from loandesk.pii import for_current_tenant
    from loandesk.webhooks import service as webhooks

    return webhooks.ping_now(session, for_current_tenant())


WEBHOOKS = Connector(status.WEBHOOKS, "事件推送", "Webhooks", "", _test_webhooks)


@dataclass(frozen=True)
class Listed:
    """A connector and its row (None: never used)."""

    connector: Connector
    status: ConnectorStatus | None

    @property
    def state(self) -> str:
        return self.status.state if self.status is not None else "unused"


def _checked(found: list[list[Connector] | None], enabled: frozenset[str]) -> list[Connector]:
    connectors: dict[str, Connector] = {}
    for answer in found:
        for connector in answer or ():
            if not isinstance(connector, Connector) or connector.plugin not in enabled:
                raise TypeError(f"loandesk_connectors returned {connector!r}: not a Connector "
                                "of an enabled plugin")  # fmt: skip
            plugin = connector.plugin
            if connector.key != plugin and not connector.key.startswith(plugin + "."):
                raise ValueError(f"connector {connector.key!r}: start its key with {plugin!r}")
            connectors.setdefault(connector.key, connector)
    return sorted(connectors.values(), key=lambda c: c.key)


def connectors(session: Session) -> list[Connector]:
    """The current tenant's connectors, by key."""
    from loandesk.plugins import runtime
    from loandesk.webhooks.models import WebhookSubscription

    found = _checked(runtime.hook("loandesk_connectors")(), runtime.enabled())
    if session.scalar(select(func.count()).select_from(WebhookSubscription)):
        found.append(WEBHOOKS)
    return found


def listed(session: Session) -> list[Listed]:
    """Each connector of the current tenant with its status."""
    found = connectors(session)
    rows = status.of_tenant(session, [c.key for c in found])
    return [Listed(c, rows.get(c.key)) for c in found]


def get(session: Session, key: str) -> Listed:
    """One connector of the current tenant; ``NotFound`` for a key it has not enabled."""
    for item in listed(session):
        if item.connector.key == key:
            return item
    raise NotFound(N_("No such connector."))


def run_test(session: Session, key: str) -> Listed:
    """Run connector ``key``'s test now: its outcome recorded as any other (committed on its
    own) and audited (``connector.tested``: the outcome and the scrubbed error, in the
    caller's transaction). ``NotFound`` for a key the tenant has not enabled."""
    connector = get(session, key).connector
    error = ""
    session.commit()  # nothing of the request held while the provider is awaited
    try:
        detail = connector.test(session) or ""
    except Exception as problem:
        log.info("connector %s test failed: %s", key, type(problem).__name__)
        error = str(problem) or type(problem).__name__
        session.rollback()  # a failed test leaves nothing half-written
        status.failed(key, error)
    else:
        session.commit()  # what the test needed (the tenant's first webhook secret) stays
        status.succeeded(key, detail)
    row = session.scalar(
        select(ConnectorStatus)
        .where(ConnectorStatus.key == key)
        .execution_options(populate_existing=True)
    )
    outcome = "failed" if error else "ok"
    diff = {"result": [None, outcome]}
    if error and row is not None:
        diff["error"] = [None, row.last_error]
    audit.record(session, "connector.tested", "connector", key, diff)
    return Listed(connector, row)
