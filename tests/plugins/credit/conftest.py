"""Fixtures for the credit plugin: the test bureau on 127.0.0.1 (the installation allows http
and private addresses, as a private install would), tenant A's firm (customers plugin, staff)
with the credit plugin enabled and pointed at the bureau through the plugins API, a clock the
plugin reads, and ``Desk`` to record consents and ask for credit data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loandesk.settings import Settings
from tests.helpers import ApiClient
from tests.plugins.credit.bureau_server import FakeBureau, running
from tests.plugins.customers.conftest import Firm, new_customer
from tests.plugins.customers.conftest import firm as firm  # the fixture

API_KEY = "ld-bureau-key"
SECRET = "bureau-secret-5b8e21d0c4"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        webhook_allow_http=True, webhook_allow_private=True, webhook_timeout=timedelta(seconds=2)
    )


class Desk:
    def __init__(self, staffed: Firm, admin: ApiClient, bureau: FakeBureau) -> None:
        self.firm, self.admin, self.bureau = staffed, admin, bureau
        self.now: datetime = datetime.now(UTC)
        self.officer = staffed.staff["officer1"].api

    def settings(self, **changes: Any) -> dict[str, Any]:
        return {
            "bureau_url": self.bureau.url,
            "api_key": API_KEY,
            "secret_key": SECRET,
            "cost_per_query": "2.50",
            "validity_days": 30,
            "timeout_seconds": 2,
            **changes,
        }

    def configure(self, **changes: Any) -> None:
        answer = self.admin.put(
            "/plugins/credit", json={"enabled": True, "settings": self.settings(**changes)}
        )
        assert answer.status_code == 200, answer.get_json()

    def customer(self, api: ApiClient | None = None, **values: str) -> str:
        return str(new_customer(api or self.officer, **values)["id"])

    def consent(self, customer_id: str, purpose: str = "credit_query", **values: Any) -> Any:
        body = {
            "purpose": purpose,
            "text_version": "征信授权书 v3",
            "text_hash": "a" * 64,
            "agreed_at": (self.now - timedelta(minutes=1)).isoformat(),
            "channel": "app",
            **values,
        }
        answer = self.officer.post(f"/customers/{customer_id}/consents", json=body)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()

    def query(self, customer_id: str, api: ApiClient | None = None, **more: Any) -> Any:
        return (api or self.officer).post(
            "/credit/queries", json={"customer_id": customer_id, **more}
        )


@pytest.fixture
def bureau() -> Iterator[FakeBureau]:
    with running(FakeBureau(api_key=API_KEY, secret=SECRET)) as server:
        yield server


@pytest.fixture
def desk(
    firm: Firm,
    api_a: ApiClient,
    bureau: FakeBureau,
    monkeypatch: pytest.MonkeyPatch,
) -> Desk:
    """Tenant A's firm with the credit plugin enabled and configured for the test bureau."""
    from loandesk import sdk

    shop = Desk(firm, api_a, bureau)
    monkeypatch.setattr(sdk, "utcnow", lambda: shop.now)
    shop.configure()
    return shop
