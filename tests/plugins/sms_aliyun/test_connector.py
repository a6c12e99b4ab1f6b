"""The Alibaba Cloud SMS connector's test: ``QuerySmsTemplate`` for the tenant's template,
signed by the SDK and checked by the test Dysmsapi server, sending nothing; a template under
review or a wrong AccessKey Secret fail the test with Alibaba's code, never the secret."""

from __future__ import annotations

from tests.plugins.sms_aliyun.conftest import SECRET, Sms
from tests.plugins.sms_aliyun.dysms_server import FakeDysms


def test_an_approved_template_passes(sms: Sms, dysms: FakeDysms) -> None:
    dysms.template_status["SMS_465012345"] = 1
    found = sms.api.post("/connectors/sms_aliyun/test").get_json()
    assert (found["state"], found["last_success_detail"]) == (
        "ok", "template SMS_465012345 is approved"
    )  # fmt: skip
    assert dysms.accepted == [] and dysms.refused == []


def test_a_template_under_review_or_a_wrong_secret_fails(sms: Sms, dysms: FakeDysms) -> None:
    dysms.template_status["SMS_465012345"] = 0
    found = sms.api.post("/connectors/sms_aliyun/test").get_json()
    assert (found["state"], found["last_error"]) == (
        "failing", "template SMS_465012345 is under review"
    )  # fmt: skip

    dysms.template_status["SMS_465012345"] = 1
    sms.configure(access_key_secret="wrong-secret-0000")
    found = sms.api.post("/connectors/sms_aliyun/test").get_json()
    assert found["state"] == "failing"
    assert found["last_error"].startswith("SignatureDoesNotMatch:")
    assert SECRET not in found["last_error"] and "wrong-secret-0000" not in found["last_error"]
