# ruff: noqa: F811  (fixtures imported from the flow tests are used by name)
"""Fixtures for webhooks: the flow tests' firm (officers, admin) on an installation that
allows http and 127.0.0.1 receivers (as a private install would), a real receiver, and
helpers that emit events and run the jobs as a worker would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from loandesk.settings import Settings
from tests.helpers import ApiClient
from tests.platform.automations.receiver import Receiver, receiver
from tests.platform.flows.api_helpers import staff
from tests.platform.flows.conftest import Desk, desk  # noqa: F401
from tests.plugins.customers.conftest import firm  # noqa: F401

SCOPES = ("automations:read", "automations:write")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        webhook_allow_http=True, webhook_allow_private=True, webhook_timeout=timedelta(seconds=2)
    )


def secret(desk: Desk) -> str:
    from loandesk import pii
    from loandesk.automations import signing

    with desk.session() as session:
        return signing.current(session, pii.for_current_tenant()).value


@pytest.fixture
def hook(desk: Desk) -> Iterator[Receiver]:
    with receiver() as found:
        found.secret = secret(desk)
        yield found


@pytest.fixture
def admin(desk: Desk) -> ApiClient:
    return staff(desk, "admin", SCOPES)


def emit(desk: Desk, name: str = "todo.created", record_id: str = "r1", **payload: Any) -> None:
    """Emit an event in tenant A's transaction and commit it."""
    from loandesk import events

    with desk.session() as session:
        events.emit(session, name, name.split(".")[0], record_id, payload)


def run_job(desk: Desk, name: str) -> None:
    from loandesk.jobs.runtime import execute

    execute(desk.app, f"{name}-{uuid.uuid4()}", name, uuid.UUID(desk.firm.tenant.id), (), 1,
            lambda done, total: None)  # fmt: skip


def send_at(desk: Desk, moment: Any) -> int:
    """Run the sender with its clock at ``moment`` (retries come due without waiting)."""
    from loandesk import pii
    from loandesk.webhooks import service

    with desk.session() as session:
        return service.send_due(session, pii.for_current_tenant(), now=moment)


def deliveries(desk: Desk) -> list[Any]:
    from sqlalchemy import select

    from loandesk.webhooks.models import WebhookDelivery

    with desk.session() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
