# ruff: noqa: F811  (fixtures imported from the repayment and customers tests are used by name)
"""Fixtures for the assets plugin: the repayment tests' desk (customers firm, test products,
repayment) with the assets plugin enabled, and the firm's tenant admin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import ApiClient
from tests.plugins.customers.conftest import add_staff
from tests.plugins.repayment.conftest import Desk, desk, firm  # noqa: F401


@pytest.fixture
def assets_desk(desk: Desk) -> Iterator[Desk]:
    """The desk with the assets plugin enabled, and two more staff at the company (whose
    data scope reaches every loan the finance clerk books): ``chief`` a risk manager (the
    checker), ``backoffice`` a post-loan admin (a maker), ``collector2`` a collector."""
    answer = admin(desk).put("/plugins/assets", json={"enabled": True})
    assert answer.status_code == 200, answer.get_json()
    company = desk.firm.units["company"]
    for name, role in (("chief", "risk_manager"), ("backoffice", "post_loan_admin"),
                       ("collector2", "collector")):  # fmt: skip
        desk.firm.staff[name] = add_staff(
            desk.app, desk.api.client, desk.firm.tenant, name, [role], company
        )
    yield desk


def admin(desk: Desk) -> ApiClient:
    """The tenant admin's API client (plugin settings)."""
    return ApiClient(desk.api.client, desk.firm.tenant.token)


def api(desk: Desk, who: str) -> ApiClient:
    """Staff member ``who``'s API client: finance (maker), risk (checker, classifier),
    collector, auditor, officer1."""
    return desk.firm.staff[who].api
