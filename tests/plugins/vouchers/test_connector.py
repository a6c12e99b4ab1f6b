"""The Kingdee connector: offered once Kingdee is set up; its test signs in and saves nothing;
a wrong password fails without showing it; pushes are recorded against it."""

from __future__ import annotations

from tests.plugins.vouchers.conftest import PASSWORD, Seeded
from tests.plugins.vouchers.kingdee_server import FakeKingdee
from tests.plugins.vouchers.test_push import _ready


def _listed(seeded: Seeded) -> dict[str, dict]:
    return {i["key"]: i for i in seeded.admin.get("/connectors").get_json()["items"]}


def test_offered_once_kingdee_is_set_up_and_its_test_saves_nothing(
    seeded: Seeded, kingdee: FakeKingdee
) -> None:
    assert seeded.admin.put("/plugins/vouchers", json={"enabled": True}).status_code == 200
    assert "vouchers" not in _listed(seeded)  # files only: nothing to talk to
    assert seeded.admin.post("/connectors/vouchers/test").status_code == 404
    seeded.settings(kingdee.url)
    found = seeded.admin.post("/connectors/vouchers/test").get_json()
    assert found["state"] == "ok", found
    assert found["last_success_detail"] == "signed in to Kingdee Cloud, nothing saved"
    assert kingdee.logins == 1 and kingdee.saved == [] and kingdee.problems == []

    seeded.settings(kingdee.url, kingdee_password="wrong-kingdee-password-1")
    found = seeded.admin.post("/connectors/vouchers/test").get_json()
    assert found["state"] == "failing" and "refused the sign-in" in found["last_error"]
    assert "wrong-kingdee-password-1" not in str(found) and PASSWORD not in str(found)


def test_pushes_are_recorded_against_the_connector(seeded: Seeded, kingdee: FakeKingdee) -> None:
    first, second, *_ = _ready(seeded, kingdee)
    seeded.run_push(first["id"])
    item = _listed(seeded)["vouchers"]
    assert item["state"] == "ok"
    assert item["last_success_detail"] == f"voucher {first['word']}-{first['number']} saved"

    kingdee.accounts.clear()  # Kingdee no longer knows the accounts: it refuses the next one
    seeded.run_push(second["id"])
    item = _listed(seeded)["vouchers"]
    assert item["state"] == "failing"
    assert item["last_error"].startswith(f"voucher {second['word']}-{second['number']}: ")
    assert "Kingdee refused the voucher" in item["last_error"]
