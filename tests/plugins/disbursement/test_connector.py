"""A payout connector on the connectors page: its test asks the test provider about a payout
that was never made (a signed question that moves no money), and every payout the
disbursement plugin sends through it is recorded against it, a provider that cannot be
reached as an error."""

from __future__ import annotations

from tests.helpers import ApiClient
from tests.plugins.disbursement.conftest import Desk


def _pay(desk: Desk, order_id: str) -> object:
    return desk.api("finance").post(f"/disbursements/{order_id}/pay", json={"connector": "fakepay"})


def test_the_test_moves_no_money(desk: Desk, api_a: ApiClient) -> None:
    found = api_a.post("/connectors/fakepay/test").get_json()
    assert (found["state"], found["last_success_detail"]) == (
        "ok", "the provider answered: no such payout"
    )  # fmt: skip
    assert desk.provider.payouts == {} and desk.provider.queries == 1


def test_payouts_are_recorded_against_their_connector(desk: Desk, api_a: ApiClient) -> None:
    paid = _pay(desk, desk.approved(desk.book()))
    assert paid.status_code == 200, paid.get_json()  # type: ignore[attr-defined]
    (item,) = api_a.get("/connectors").get_json()["items"]
    assert (item["key"], item["state"], item["last_success_detail"]) == (
        "fakepay", "ok", "payout answered: paid"
    )  # fmt: skip

    order_id = desk.approved(desk.book())
    desk.provider.url = "http://127.0.0.1:9"  # the provider is down
    assert _pay(desk, order_id).status_code == 409  # type: ignore[attr-defined]
    (item,) = api_a.get("/connectors").get_json()["items"]
    assert item["state"] == "failing" and "ConnectionError" in item["last_error"]
