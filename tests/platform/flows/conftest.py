# ruff: noqa: F811  (fixtures imported from the customers tests are used by name)
"""Fixtures for the approval flow engine: the customers firm with intake enabled, two credit
officers A and B and the risk manager, and ``Desk`` to publish flows, submit applications
through the API and act on approvals through the engine's service functions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.helpers import ApiClient, tenant_session
from tests.plugins.customers.conftest import Firm, add_staff, firm, new_customer  # noqa: F401


class Desk:
    def __init__(self, app: Flask, firm: Firm) -> None:
        self.app = app
        self.firm = firm
        self.customers: dict[str, Any] = {}

    @property
    def customer(self) -> Any:
        return self.customer_of("officer1")

    def customer_of(self, name: str) -> Any:
        """A customer that staff member ``name`` created (and so may apply for)."""
        if name not in self.customers:
            self.customers[name] = new_customer(self.firm.staff[name].api)["id"]
        return self.customers[name]

    def user(self, name: str) -> uuid.UUID:
        return uuid.UUID(self.firm.staff[name].user_id)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session of tenant A, committed at the end of the block."""
        with tenant_session(self.app, self.firm.tenant.slug) as session:
            yield session

    def publish(self, nodes: list[dict[str, Any]], note: str = "") -> int:
        from loandesk.fields.forms import published_form
        from loandesk.flows import definitions
        from loandesk.plugins import runtime

        with self.session() as session:
            declared = runtime.record_type("application")
            form = published_form(session, declared)
            _row, problems = definitions.save_draft(session, declared, form, {"nodes": nodes})
            assert problems == {}
            return definitions.publish(session, declared, form, note=note).number

    def submit(self, amount: str, by: str = "officer1", **custom: Any) -> tuple[str, uuid.UUID]:
        """A new application submitted by ``by``: its id and its approval's id."""
        api = self.firm.staff[by].api
        body = {"customer_id": self.customer_of(by), "amount": amount, "term_months": 12, **custom}
        created = api.post("/applications", json=body)
        assert created.status_code == 201, created.get_json()
        application_id = created.get_json()["id"]
        submitted = api.post(f"/applications/{application_id}/submit")
        assert submitted.status_code == 200, submitted.get_json()
        return application_id, self.instance_of(application_id)

    def instance_of(self, application_id: str) -> uuid.UUID:
        from loandesk.flows.service import latest

        with self.session() as session:
            instance = latest(session, "application", application_id)
            assert instance is not None
            return instance.id

    def act(self, operation: str, who: str, instance_id: uuid.UUID, *args: Any, **kw: Any) -> Any:
        """Run ``actions.<operation>`` as ``who``; returns the instance's state after it."""
        from loandesk.flows import actions

        with self.session() as session:
            run = getattr(actions, operation)(
                session, instance_id, actions.Actor(self.user(who)), *args, **kw
            )
            return run.instance.state

    def status(self, application_id: str) -> str:
        body = self.firm.staff["officer1"].api.get(f"/applications/{application_id}")
        return str(body.get_json()["status"])

    def pending(self, instance_id: uuid.UUID) -> tuple[str | None, set[str]]:
        """The node the instance waits at and who may decide there now (names)."""
        from loandesk.flows.models import FlowInstance, FlowTask

        names = {uuid.UUID(s.user_id): n for n, s in self.firm.staff.items()}
        with self.session() as session:
            instance = session.scalar(select(FlowInstance).where(FlowInstance.id == instance_id))
            assert instance is not None
            tasks = session.scalars(
                select(FlowTask.assignee_id).where(
                    FlowTask.instance_id == instance_id, FlowTask.state == "pending"
                )
            )
            return instance.current_node, {names.get(t, str(t)) for t in tasks}

    def timeline(self, instance_id: uuid.UUID) -> list[str]:
        from loandesk.flows.models import FlowAction

        with self.session() as session:
            return list(
                session.scalars(
                    select(FlowAction.action)
                    .where(FlowAction.instance_id == instance_id)
                    .order_by(FlowAction.created_at, FlowAction.id)
                )
            )


@pytest.fixture
def desk(firm: Firm, app: Flask, client: FlaskClient, api_a: ApiClient) -> Desk:
    """Intake enabled; officers A and B (credit officers of 一组) join the firm."""
    assert api_a.put("/plugins/intake", json={"enabled": True}).status_code == 200
    for name in ("a", "b"):
        firm.staff[name] = add_staff(
            app, client, firm.tenant, name, ["credit_officer"], firm.units["team1"]
        )
    return Desk(app, firm)


def approver(node_id: str, users: list[uuid.UUID] | None = None, **extra: Any) -> dict[str, Any]:
    assignees = [{"kind": "user", "user": str(u)} for u in users or []]
    return {"id": node_id, "type": "approver", "name": node_id, "assignees": assignees, **extra}


def at(text: str) -> datetime:
    """A Beijing wall-clock time as the UTC moment it is."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
