"""The WeCom connector's test: a fresh ``gettoken`` for the app on the test WeCom API, nothing
sent; a wrong app secret fails with WeCom's errcode and without the secret; app messages
through the outbox are recorded against the connector."""

from __future__ import annotations

from tests.helpers import TenantFixture
from tests.plugins.wecom.conftest import SECRETS, Work
from tests.plugins.wecom.wecom_server import FakeWeCom


def test_the_test_fetches_a_token_and_sends_nothing(work: Work, fake: FakeWeCom) -> None:
    found = work.api.post("/connectors/wecom/test").get_json()
    assert found["state"] == "ok", found
    assert found["last_success_detail"] == "access token issued, valid for 7200 s"
    assert fake.token_requests == 1 and fake.sends == [] and fake.robot_posts == []


def test_a_wrong_secret_fails_without_the_secret(work: Work, fake: FakeWeCom) -> None:
    work.configure(app_secret="wrong-app-secret-0000")
    found = work.api.post("/connectors/wecom/test").get_json()
    assert found["state"] == "failing"
    assert found["last_error"].startswith("WeCom errcode 40001")
    assert "wrong-app-secret-0000" not in str(found)
    assert not any(secret in str(found) for secret in SECRETS)


def test_app_messages_are_recorded_against_the_connector(
    work: Work, fake: FakeWeCom, tenant_a: TenantFixture
) -> None:
    work.map(tenant_a.admin_user_id, "zhangsan")
    work.notify("w1", tenant_a.admin_user_id, "新进件", "请审批")
    assert work.send() == 1
    (item,) = work.api.get("/connectors").get_json()["items"]
    assert (item["key"], item["state"], item["channels"]) == ("wecom", "ok", ["wecom.work"])

    fake.answers.append("rate_limited")
    work.notify("w2", tenant_a.admin_user_id, "新进件", "请审批")
    assert work.send() == 0
    (item,) = work.api.get("/connectors").get_json()["items"]
    assert item["state"] == "failing" and "45009" in item["last_error"]
