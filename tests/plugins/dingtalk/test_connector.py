"""The DingTalk connector's test: a fresh ``gettoken`` for the app on the test DingTalk API,
nothing sent; a wrong app secret fails with DingTalk's errcode and without the secret; work
notifications through the outbox are recorded against the connector."""

from __future__ import annotations

from tests.helpers import TenantFixture
from tests.plugins.dingtalk.conftest import APP_SECRET, Ding
from tests.plugins.dingtalk.dingtalk_server import FakeDingTalk


def test_the_test_fetches_a_token_and_sends_nothing(ding: Ding, fake: FakeDingTalk) -> None:
    found = ding.api.post("/connectors/dingtalk/test").get_json()
    assert found["state"] == "ok"
    assert found["last_success_detail"] == "access token issued, valid for 7200 s"
    assert fake.token_requests == 1 and fake.sends == [] and fake.robot_posts == []


def test_a_wrong_secret_fails_without_the_secret(ding: Ding, fake: FakeDingTalk) -> None:
    ding.configure(app_secret="wrong-app-secret-0000")
    found = ding.api.post("/connectors/dingtalk/test").get_json()
    assert found["state"] == "failing"
    assert found["last_error"] == "DingTalk errcode 40089: 不合法的corpid或corpsecret"
    assert "wrong-app-secret-0000" not in str(found) and APP_SECRET not in str(found)


def test_work_notifications_are_recorded_against_the_connector(
    ding: Ding, fake: FakeDingTalk, tenant_a: TenantFixture
) -> None:
    ding.map(tenant_a.admin_user_id, "manager0831")
    ding.notify("d1", tenant_a.admin_user_id, "新进件", "请审批")
    assert ding.send() == 1
    (item,) = ding.api.get("/connectors").get_json()["items"]
    assert (item["key"], item["state"], item["channels"]) == ("dingtalk", "ok", ["dingtalk.work"])

    fake.answers.append("rate_limited")
    ding.notify("d2", tenant_a.admin_user_id, "新进件", "请审批")
    assert ding.send() == 0
    (item,) = ding.api.get("/connectors").get_json()["items"]
    assert item["state"] == "failing" and item["last_error"].startswith("DingTalkError: ")
