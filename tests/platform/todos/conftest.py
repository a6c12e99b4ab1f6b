"""Fixtures for to-dos: the customers firm (staff holding roles, customers to link to) and an
API client with the to-do scopes acting for each staff member."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.helpers import ApiClient
from tests.platform.flows.api_helpers import client_for
from tests.plugins.customers.conftest import Firm, add_staff, firm, new_customer  # noqa: F401

SCOPES = ("todos:read", "todos:write", "records:read", "records:write")


class Office:
    """The firm, with a to-do API client per staff member (made on first use)."""

    def __init__(self, app: Flask, staffed: Firm) -> None:
        self.app = app
        self.firm = staffed
        self._clients: dict[str, ApiClient] = {}

    def user(self, name: str) -> uuid.UUID:
        if name == "admin":
            return uuid.UUID(self.firm.tenant.admin_user_id)
        return uuid.UUID(self.firm.staff[name].user_id)

    def api(self, name: str) -> ApiClient:
        if name not in self._clients:
            self._clients[name] = client_for(self.app, self.firm.tenant, self.user(name), SCOPES)
        return self._clients[name]

    def customer_of(self, name: str) -> str:
        return str(new_customer(self.firm.staff[name].api)["id"])

    @contextmanager
    def session(self) -> Iterator[Session]:
        from loandesk.tenancy import service, use

        ext = self.app.extensions["loandesk"]
        with self.app.app_context(), ext.db.transaction() as session:
            with use(service.get_by_slug(session, self.firm.tenant.slug).ref()):
                yield session
                session.flush()  # while the tenant is current: the commit comes after


@pytest.fixture
def office(app: Flask, firm: Firm) -> Office:  # noqa: F811
    return Office(app, firm)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json(silent=True)
