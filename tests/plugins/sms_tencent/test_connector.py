"""The Tencent Cloud SMS connector's test: ``DescribeSmsTemplateList`` for the tenant's
template, TC3-signed by the SDK and checked by the test API 3.0 server, sending nothing; a
rejected template or a wrong SecretKey fail with Tencent's code, never the key."""

from __future__ import annotations

from tests.plugins.sms_tencent.conftest import SECRET, Sms
from tests.plugins.sms_tencent.tencent_server import FakeTencent


def test_an_approved_template_passes(sms: Sms, gateway: FakeTencent) -> None:
    gateway.template_status[449739] = 0
    found = sms.api.post("/connectors/sms_tencent/test").get_json()
    assert (found["state"], found["last_success_detail"]) == ("ok", "template 449739 is approved")
    assert gateway.bodies == []  # no SendSms


def test_a_rejected_template_or_a_wrong_key_fails(sms: Sms, gateway: FakeTencent) -> None:
    gateway.template_status[449739] = -1
    found = sms.api.post("/connectors/sms_tencent/test").get_json()
    assert (found["state"], found["last_error"]) == ("failing", "template 449739 is rejected")

    sms.configure(secret_key="wrong-key-000000000")
    found = sms.api.post("/connectors/sms_tencent/test").get_json()
    assert found["state"] == "failing"
    assert found["last_error"].startswith("AuthFailure.SignatureFailure:")
    assert SECRET not in found["last_error"]
