# ruff: noqa: F811  (fixtures imported from the e签宝 and contracts tests are used by name)
"""The e签宝 connector's test: one signed ``file-upload-url`` call to the test e签宝 server
(nothing uploaded, no sign flow); a wrong app secret fails without the secret; a contract
sent for signing and a verified callback are recorded against the connector."""

from __future__ import annotations

import json
from typing import Any

from tests.plugins.contracts.conftest import Office, office  # noqa: F401
from tests.plugins.customers.conftest import firm  # noqa: F401
from tests.plugins.esign_cn.test_esign_cn import SECRET, Esign, _callback, esign  # noqa: F401
from tests.plugins.repayment.conftest import desk  # noqa: F401


def _configure(api: Any, esign: Esign, secret: str = SECRET) -> None:
    settings = {"app_id": "app-1", "app_secret": secret, "base_url": esign.base}
    answer = api.put("/plugins/esign_cn", json={"enabled": True, "settings": settings})
    assert answer.status_code == 200, answer.get_json()


def test_the_test_asks_for_an_upload_slot_only(office: Office, esign: Esign, api_a: Any) -> None:
    _configure(api_a, esign)
    found = api_a.post("/connectors/esign_cn/test").get_json()
    assert found["state"] == "ok", found
    assert [path for _, path, _ in esign.calls] == ["/v3/files/file-upload-url"]
    assert esign.files == {} and esign.refused == []

    _configure(api_a, esign, secret="wrong-esign-secret")
    found = api_a.post("/connectors/esign_cn/test").get_json()
    assert found["state"] == "failing"
    assert found["last_error"] == "POST /v3/files/file-upload-url: 401 signature"
    assert "wrong-esign-secret" not in json.dumps(found)


def test_signing_calls_are_recorded(office: Office, esign: Esign, api_a: Any) -> None:
    _configure(api_a, esign)
    office.sent_contract()
    (item,) = api_a.get("/connectors").get_json()["items"]
    assert (item["key"], item["state"], item["last_success_detail"]) == (
        "esign_cn", "ok", "sign flow created"
    )  # fmt: skip
    done = {"action": "SIGN_FLOW_COMPLETE", "signFlowId": "flow-1", "signFlowStatus": "2"}
    assert _callback(office, done).status_code == 200
    (item,) = api_a.get("/connectors").get_json()["items"]
    assert item["last_success_detail"] == "signed file downloaded"
