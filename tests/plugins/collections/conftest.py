# ruff: noqa: F811  (fixtures imported from the repayment and customers tests are used by name)
"""Fixtures for collections: the repayment desk (customers, repayment and the test products
enabled) with collections enabled too, collectors for an M1 phone team, an M2 senior team
and two outside agencies, queues and rules for them (M1 → phone team round robin, M2 →
senior team least loaded, M3 and beyond → agency A), and helpers to run close of business
and read cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.helpers import ApiClient
from tests.plugins.customers.conftest import Staff, add_staff, firm, new_customer  # noqa: F401
from tests.plugins.repayment.conftest import Desk, desk, signed_in_as  # noqa: F401


@dataclass
class Floor:
    """The collections floor of tenant A."""

    desk: Desk
    staff: dict[str, Staff]
    queues: dict[str, str]  # code -> id
    agencies: dict[str, str]  # code -> id

    @property
    def manager(self) -> ApiClient:
        return self.staff["manager"].api

    def user(self, name: str) -> str:
        return self.staff[name].user_id

    def cob(self, day: dt.date) -> None:
        """Close of business for ``day``, as the nightly job runs it."""
        from loandesk_repayment import cob

        with self.desk.session() as session:
            cob.run_cob(session, day)

    def case_of(self, loan_id: str) -> dict[str, Any]:
        """The loan's case as the manager reads it through the API."""
        listed = self.manager.get("/collections/cases?status=all&per_page=100").get_json()
        found = [c for c in listed["items"] if c["loan_id"] == loan_id]
        assert len(found) == 1, listed
        return dict(found[0])


def _make_floor(app: Flask, desk: Desk) -> Floor:
    firm = desk.firm
    client = desk.api.client
    admin = ApiClient(client, firm.tenant.token)
    assert admin.put("/plugins/collections", json={"enabled": True}).status_code == 200
    people = {
        "manager": (["post_loan_admin"], "branch"),
        "phone1": (["collector"], "team1"),
        "phone2": (["collector"], "team1"),
        "senior": (["collector"], "team2"),
        "agent_a": (["collector"], "company"),
        "agent_b": (["collector"], "company"),
    }
    staff = firm.staff  # the repayment helpers sign in by these names too
    for name, (roles, unit) in people.items():
        staff[name] = add_staff(app, client, firm.tenant, name, roles, firm.units[unit])
    manager = staff["manager"].api
    agencies = {}
    for code, user in (("AGA", "agent_a"), ("AGB", "agent_b")):
        made = manager.post(
            "/collections/agencies", json={"code": code, "name": f"{code} 催收公司"}
        )
        assert made.status_code == 201, made.get_json()
        agencies[code] = made.get_json()["id"]
        joined = manager.post(
            f"/collections/agencies/{agencies[code]}/users", json={"user_id": staff[user].user_id}
        )
        assert joined.status_code == 201, joined.get_json()
    queues = {}
    for code, name, balancing, members, agency in (
        ("M1", "M1 电催组", "round_robin", ["phone1", "phone2"], None),
        ("M2", "M2 高级组", "least_loaded", ["senior"], None),
        ("M3", "M3+ 委外 A", "round_robin", ["agent_a"], "AGA"),
        ("OUTB", "委外 B", "round_robin", ["agent_b"], "AGB"),
    ):
        body = {"code": code, "name": name, "balancing": balancing,
                "members": [staff[m].user_id for m in members],
                "agency_id": agencies[agency] if agency else None}  # fmt: skip
        made = manager.post("/collections/queues", json=body)
        assert made.status_code == 201, made.get_json()
        queues[code] = made.get_json()["id"]
    for name, buckets, queue in (
        ("M1 电催", "M1", "M1"),
        ("M2 高级", "M2", "M2"),
        ("M3 以上委外", "M3, M3+", "M3"),
    ):
        made = manager.post(
            "/collections/rules", json={"name": name, "buckets": buckets, "queue_id": queues[queue]}
        )
        assert made.status_code == 201, made.get_json()
    return Floor(desk, staff, queues, agencies)


@pytest.fixture
def floor(app: Flask, desk: Desk) -> Floor:
    return _make_floor(app, desk)


def event_names(desk: Desk, record_id: str) -> list[str]:
    """The names of the events about ``record_id``, oldest first."""
    from sqlalchemy import select

    from loandesk.events import OutboxEvent

    with desk.session() as session:
        rows = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.record_id == record_id)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        )
        return [r.name for r in rows]
