# ruff: noqa: F811  (fixtures imported from the flow tests are used by name)
"""Fixtures for automations: the flow tests' firm (intake enabled, officers A and B) with a
custom field ``stage`` on applications, and helpers to save rules and run the jobs that turn
events into firings and firings into effects."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import ApiClient
from tests.platform.flows.conftest import Desk, desk  # noqa: F401
from tests.plugins.customers.conftest import firm  # noqa: F401

STAGE = {
    "key": "stage",
    "kind": "select",
    "label_zh": "阶段",
    "label_en": "Stage",
    "rules": {
        "options": [
            {"value": "review", "label_zh": "审核", "label_en": "Review"},
            {"value": "signing", "label_zh": "签约", "label_en": "Signing"},
        ]
    },
}


@pytest.fixture
def shop(desk: Desk, api_a: ApiClient) -> Desk:
    """The desk with a one-approver flow for applications and the ``stage`` field."""
    assert api_a.post("/record-types/application/fields", json=STAGE).status_code == 201
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    desk.publish(
        [{"id": "credit", "type": "approver", "name": "信审",
          "assignees": [{"kind": "user", "user": str(desk.user("a"))}]}]
    )  # fmt: skip
    return desk


def save_rule(desk: Desk, data: dict[str, Any]) -> Any:
    """Save a rule for applications through the service (the admin acting); the row."""
    from loandesk.automations import service
    from loandesk.fields.current import current_form
    from loandesk.plugins import runtime

    with desk.session() as session:
        registry = desk.app.extensions["loandesk.events"]
        form = current_form("application")
        row = service.create(
            session,
            {"record_type": "application", **data},
            form,
            registry.types,
            runtime.automation_actions(),
            user_id=None,
        )
        return row.id


def run_job(desk: Desk, name: str) -> None:
    """Run job ``name`` for tenant A in this process, as a worker would."""
    from loandesk.jobs.runtime import execute

    execute(desk.app, f"{name}-{uuid.uuid4()}", name, uuid.UUID(desk.firm.tenant.id), (), 1,
            lambda done, total: None)  # fmt: skip


def deliver_and_run(desk: Desk) -> None:
    run_job(desk, "core.deliver_events")
    run_job(desk, "core.run_firings")
