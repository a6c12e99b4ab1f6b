# ruff: noqa: F811  (fixtures imported from the plugins' tests are used by name)
"""No connector secret anywhere: every installed connector plugin enabled for tenant A with a
distinctive value for each of its secret settings (found in its settings schema, so a new
connector's secrets are covered without anyone remembering), each driven against its local
test server — a send through its channel, its test button, a failure — and then the logs (at
DEBUG), every audit row, every API answer and page fetched, and every row of every table
(messages' errors, connector status, webhook deliveries, credit queries, ...) are searched
for every secret, as text and URL-encoded. An installed connector plugin without a
``loandesk_connectors`` test or without a driver here fails the test."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from loandesk.settings import Settings
from tests.helpers import ApiClient, TenantFixture, csrf_from, tenant_session, web_login
from tests.platform.automations.receiver import receiver
from tests.plugins.contracts.conftest import Office, office  # noqa: F401
from tests.plugins.customers.conftest import firm  # noqa: F401
from tests.plugins.email.conftest import certificates  # noqa: F401
from tests.plugins.esign_cn import test_esign_cn
from tests.plugins.esign_cn.test_esign_cn import Esign, _callback, esign  # noqa: F401
from tests.plugins.repayment.conftest import desk  # noqa: F401

NOT_CONNECTORS = frozenset()  # installed plugins with a channel or secrets that talk to no one


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """As a private install whose providers are on its own network (the test servers)."""
    return settings.replace(
        webhook_allow_http=True, webhook_allow_private=True, webhook_timeout=timedelta(seconds=2)
    )


class Recorded(ApiClient):
    """The tenant's API client, keeping every answer's body."""

    def __init__(self, client: FlaskClient, token: str, bodies: list[str]) -> None:
        super().__init__(client, token)
        self.bodies = bodies

    def _kept(self, answer: Any) -> Any:
        self.bodies.append(answer.get_data(as_text=True))
        return answer

    def get(self, path: str, **kw: Any) -> Any:
        return self._kept(super().get(path, **kw))

    def post(self, path: str, **kw: Any) -> Any:
        return self._kept(super().post(path, **kw))

    def put(self, path: str, **kw: Any) -> Any:
        return self._kept(super().put(path, **kw))


class Run:
    """What the drivers share: tenant A, its recorded API, the secrets, the pages fetched."""

    def __init__(self, app: Flask, tenant: TenantFixture, api: Recorded, office: Office) -> None:
        self.app, self.tenant, self.api, self.office = app, tenant, api, office
        self.secrets: dict[str, dict[str, str]] = {}
        self.extra: list[str] = []  # wrong values set on purpose: secrets too
        self.bodies = api.bodies

    def secret(self, plugin: str, field: str) -> str:
        return self.secrets[plugin][field]

    def wrong(self, label: str) -> str:
        value = f"wrong-{label}-{secrets.token_hex(6)}"
        self.extra.append(value)
        return value

    def enable(self, plugin: str, settings: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"enabled": True}
        if settings is not None:
            body["settings"] = settings
        answer = self.api.put(f"/plugins/{plugin}", json=body)
        assert answer.status_code == 200, answer.get_json()

    def disable(self, plugin: str) -> None:
        assert self.api.put(f"/plugins/{plugin}", json={"enabled": False}).status_code == 200

    def test_button(self, key: str) -> dict[str, Any]:
        answer = self.api.post(f"/connectors/{key}/test")
        assert answer.status_code == 200, answer.get_json()
        return dict(answer.get_json())

    def notify(self, channel: str, key: str, *, mobile: str = "", email: str = "",
               user: str = "") -> None:  # fmt: skip
        from loandesk import pii
        from loandesk.notifications import service
        from loandesk.plugins import runtime

        recipient = (
            service.Recipient.staff(uuid.UUID(user))
            if user
            else service.Recipient.borrower(mobile or email)
        )
        with tenant_session(self.app, self.tenant.slug) as session:
            service.notify(session, channel, recipient, "您的借款已获批准", key=key,
                           subject="借款审批", channels=runtime.notification_channels(),
                           keys=pii.for_current_tenant(), urgent=True)  # fmt: skip

    def send(self) -> int:
        from loandesk import pii
        from loandesk.notifications import service
        from loandesk.plugins import runtime

        with tenant_session(self.app, self.tenant.slug) as session:
            return service.send_due(
                session, runtime.notification_channels(), pii.for_current_tenant()
            )

    def status(self, key: str) -> dict[str, Any]:
        (found,) = [i for i in self.api.get("/connectors").get_json()["items"] if i["key"] == key]
        return dict(found)


# --- one driver per connector plugin: a send or call that works, the test button, a failure


def drive_sms_http(run: Run) -> None:
    from tests.plugins.sms_http.gateway_server import FakeGateway, running

    with running(FakeGateway(account="ld-test", secret=run.secret("sms_http", "secret_key"))) as gw:
        run.enable("sms_http", {"gateway_url": gw.url, "account_id": "ld-test",
                                "secret_key": run.secret("sms_http", "secret_key"),
                                "timeout_seconds": 2})  # fmt: skip
        run.notify("sms", "http-1", mobile="13800138000")
        assert run.send() == 1
        gw.answers.append("refuse")
        run.notify("sms", "http-2", mobile="13800138000")
        assert run.send() == 0
        assert run.test_button("sms_http")["state"] == "ok"
    assert run.test_button("sms_http")["state"] == "failing"  # the gateway is gone
    run.disable("sms_http")


def drive_sms_aliyun(run: Run) -> None:
    from tests.plugins.sms_aliyun.dysms_server import FakeDysms, running

    key = run.secret("sms_aliyun", "access_key_secret")
    with running(FakeDysms("LTAI5tTestKeyId0001", key)) as dysms:
        run.enable("sms_aliyun", {
            "access_key_id": "LTAI5tTestKeyId0001", "access_key_secret": key,
            "endpoint": dysms.host, "sign_name": "某某小贷", "template_code": "SMS_465012345",
            "timeout_seconds": 2,
        })  # fmt: skip
        run.notify("sms", "ali-1", mobile="13800138000")
        assert run.send() == 1
        dysms.answers.append("illegal")
        run.notify("sms", "ali-2", mobile="13800138000")
        assert run.send() == 0
        dysms.template_status["SMS_465012345"] = 1
        assert run.test_button("sms_aliyun")["state"] == "ok"
        run.enable("sms_aliyun", {"access_key_secret": run.wrong("aliyun")})
        assert run.test_button("sms_aliyun")["state"] == "failing"
    run.disable("sms_aliyun")


def drive_sms_tencent(run: Run) -> None:
    from tests.plugins.sms_tencent.tencent_server import FakeTencent, running

    key = run.secret("sms_tencent", "secret_key")
    with running(FakeTencent("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", key)) as tencent:
        run.enable("sms_tencent", {"secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                                   "secret_key": key, "endpoint": tencent.endpoint,
                                   "sms_sdk_app_id": "1400006666", "sign_name": "某某小贷",
                                   "template_id": "449739", "timeout_seconds": 2})  # fmt: skip
        run.notify("sms", "tc-1", mobile="13800138000")
        assert run.send() == 1
        tencent.answers.append("RequestLimitExceeded")
        run.notify("sms", "tc-2", mobile="13800138000")
        assert run.send() == 0
        tencent.template_status[449739] = 0
        assert run.test_button("sms_tencent")["state"] == "ok"
        run.enable("sms_tencent", {"secret_key": run.wrong("tencent")})
        assert run.test_button("sms_tencent")["state"] == "failing"
    run.disable("sms_tencent")


def drive_email(run: Run, certificates: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.plugins.email import smtp_server

    password = run.secret("email", "password")
    monkeypatch.setattr(smtp_server, "PASSWORD", password)  # the server's account
    handler = smtp_server.Handler()
    with smtp_server.running(handler, certificates, "starttls") as port:
        run.enable("email", {"host": "localhost", "port": port, "security": "starttls",
                             "username": smtp_server.USERNAME, "password": password,
                             "sender_address": "notice@xiaodai.example.cn",
                             "timeout_seconds": 5})  # fmt: skip
        run.notify("email", "mail-1", email="zhangsan.borrower@mail.example.cn")
        assert run.send() == 1
        handler.rcpt_answer = "550 5.1.1 no such user"
        run.notify("email", "mail-2", email="nobody@mail.example.cn")
        assert run.send() == 0
        assert run.test_button("email")["state"] == "ok"
        run.enable("email", {"password": run.wrong("smtp")})
        assert run.test_button("email")["state"] == "failing"
        assert run.api.post("/email/test", json={"to": "ops@example.cn"}).status_code == 502


def drive_dingtalk(run: Run) -> None:
    from loandesk_dingtalk import robot

    from tests.plugins.dingtalk.dingtalk_server import FakeDingTalk
    from tests.plugins.json_server import running

    values = run.secrets["dingtalk"]
    fake = FakeDingTalk("dingoa7kq2xx", values["app_secret"], 2987654321,
                        values["robot_access_token"], values["robot_secret"])  # fmt: skip
    with running(fake):
        run.enable("dingtalk", {"base_url": fake.url, "app_key": "dingoa7kq2xx",
                                "agent_id": 2987654321, "timeout_seconds": 2,
                                **values})  # fmt: skip
        user = run.tenant.admin_user_id
        assert run.api.put(f"/dingtalk/staff/{user}",
                           json={"dingtalk_userid": "manager0831"}).status_code == 200  # fmt: skip
        run.notify("dingtalk.work", "ding-1", user=user)
        assert run.send() == 1
        fake.answers.append("bad_user")
        run.notify("dingtalk.work", "ding-2", user=user)
        assert run.send() == 0
        with tenant_session(run.app, run.tenant.slug):
            robot.run(SimpleNamespace(values={}), {"msgtype": "text", "text": "新进件"})
        assert run.test_button("dingtalk")["state"] == "ok"
        run.enable("dingtalk", {"robot_secret": run.wrong("robot")})
        with pytest.raises(Exception, match="errcode 310000"):
            with tenant_session(run.app, run.tenant.slug):
                robot.run(SimpleNamespace(values={}), {"msgtype": "text", "text": "新进件"})
        run.enable("dingtalk", {"app_secret": run.wrong("dingapp")})
        assert run.test_button("dingtalk")["state"] == "failing"


def _action_context() -> SimpleNamespace:
    """What an automation action sees, for a rule on a record with no fields."""
    kind = SimpleNamespace(title_field="title")
    return SimpleNamespace(values={}, record=SimpleNamespace(title="新进件"), record_type=kind)


def drive_wecom(run: Run) -> None:
    from loandesk_wecom import robot

    from tests.plugins.json_server import running
    from tests.plugins.wecom.wecom_server import FakeWeCom

    values = run.secrets["wecom"]
    corp, agent = "ww5f3a9c0d1e2b4a67", 1000002
    with running(FakeWeCom(corp, values["app_secret"], agent, values["robot_key"])) as fake:
        run.enable("wecom", {"base_url": fake.url, "corp_id": corp, "agent_id": agent,
                             "timeout_seconds": 2, **values})  # fmt: skip
        user = run.tenant.admin_user_id
        assert run.api.put(f"/wecom/staff/{user}",
                           json={"wecom_userid": "zhangsan"}).status_code == 200  # fmt: skip
        run.notify("wecom.work", "wecom-1", user=user)
        assert run.send() == 1
        fake.answers.append("bad_user")
        run.notify("wecom.work", "wecom-2", user=user)
        assert run.send() == 0
        with tenant_session(run.app, run.tenant.slug):
            robot.run(_action_context(), {"msgtype": "text", "text": "新进件"})
        assert run.test_button("wecom")["state"] == "ok"
        run.enable("wecom", {"robot_key": run.wrong("wecomrobot")})
        with pytest.raises(Exception, match="93000"):
            with tenant_session(run.app, run.tenant.slug):
                robot.run(_action_context(), {"msgtype": "text", "text": "新进件"})
        run.enable("wecom", {"app_secret": run.wrong("wecomapp")})
        assert run.test_button("wecom")["state"] == "failing"


def drive_vouchers(run: Run) -> None:
    """Kingdee's sign-in with the password (its failure echoes what it was sent)."""
    from tests.plugins.vouchers.kingdee_server import FakeKingdee, running

    password = run.secret("vouchers", "kingdee_password")
    with running(FakeKingdee("6543210fedcba", "loandesk_api", password, "001", "PRE001",
                             set())) as kingdee:  # fmt: skip
        run.enable("vouchers", {"kingdee_base_url": kingdee.url, "kingdee_acct_id": "6543210fedcba",
                                "kingdee_username": "loandesk_api", "kingdee_password": password,
                                "kingdee_account_book": "001", "timeout_seconds": 2})  # fmt: skip
        assert run.test_button("vouchers")["state"] == "ok"
        run.enable("vouchers", {"kingdee_password": run.wrong("kingdee")})
        assert run.test_button("vouchers")["state"] == "failing"
        assert kingdee.logins == 2


def drive_esign_cn(run: Run, esign: Esign, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = run.secret("esign_cn", "app_secret")
    monkeypatch.setattr(test_esign_cn, "SECRET", secret)  # the test e签宝's copy of it
    run.enable("esign_cn", {"app_id": "app-1", "app_secret": secret, "base_url": esign.base})
    run.office.sent_contract()
    done = {"action": "SIGN_FLOW_COMPLETE", "signFlowId": "flow-1", "signFlowStatus": "2"}
    run.bodies.append(_callback(run.office, done, secret=secret).get_data(as_text=True))
    assert run.test_button("esign_cn")["state"] == "ok"
    run.enable("esign_cn", {"app_secret": run.wrong("esign")})
    assert run.test_button("esign_cn")["state"] == "failing"


def drive_credit(run: Run) -> None:
    from tests.plugins.credit.bureau_server import FakeBureau, running
    from tests.plugins.customers.conftest import new_customer

    secret = run.secret("credit", "secret_key")
    with running(FakeBureau(api_key="ld-bureau-key", secret=secret)) as bureau:
        run.enable("credit", {"bureau_url": bureau.url, "api_key": "ld-bureau-key",
                              "secret_key": secret, "validity_days": 0,
                              "timeout_seconds": 2})  # fmt: skip
        officer = run.office.desk.firm.staff["officer1"].api
        customer = str(new_customer(officer)["id"])
        agreed = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        consent = {"agreed_at": agreed, "purpose": "credit_query", "text_version": "征信授权书 v3",
                   "text_hash": "a" * 64, "channel": "app"}  # fmt: skip
        assert officer.post(f"/customers/{customer}/consents", json=consent).status_code == 201
        ask = {"customer_id": customer}
        assert officer.post("/credit/queries", json=ask).status_code == 200
        bureau.answers.append("http500")
        assert officer.post("/credit/queries", json=ask).status_code == 502
        assert run.test_button("credit.bureau")["state"] == "ok"
    assert run.test_button("credit.bureau")["state"] == "failing"


def drive_webhooks(run: Run) -> str:
    """The core's connector; returns the tenant's webhook secret (searched for too)."""
    from loandesk import events, pii
    from loandesk.automations import signing
    from loandesk.webhooks import service

    with receiver() as hook:
        with tenant_session(run.app, run.tenant.slug) as session:
            hook.secret = signing.current(session, pii.for_current_tenant()).value
        types = run.app.extensions["loandesk.events"].types
        with tenant_session(run.app, run.tenant.slug) as session:
            service.create(session, {"url": hook.url, "events": ["todo.created"]}, types,
                           user_id=None)  # fmt: skip
        assert run.test_button("webhooks")["state"] == "ok"
        hook.answers = [500]
        with tenant_session(run.app, run.tenant.slug) as session:
            events.emit(session, "todo.created", "todo", "t1", {"title": "回访"})
        from loandesk.jobs.runtime import execute

        execute(run.app, f"d-{uuid.uuid4()}", "core.deliver_events", uuid.UUID(run.tenant.id),
                (), 1, lambda done, total: None)  # fmt: skip
        with tenant_session(run.app, run.tenant.slug) as session:
            service.send_due(session, pii.for_current_tenant())
        assert run.status("webhooks")["state"] == "failing"
        return hook.secret


DRIVERS: dict[str, Callable[..., Any]] = {
    "sms_http": drive_sms_http,
    "sms_aliyun": drive_sms_aliyun,
    "sms_tencent": drive_sms_tencent,
    "email": drive_email,
    "dingtalk": drive_dingtalk,
    "esign_cn": drive_esign_cn,
    "credit": drive_credit,
    "wecom": drive_wecom,
    "vouchers": drive_vouchers,
}


def connector_plugins(app: Flask) -> dict[str, frozenset[str]]:
    """Each installed plugin that keeps secrets or gives a notification channel, with its
    secret settings (from its settings schema)."""
    host = app.extensions["loandesk.plugins"]
    installed = {e.name for e in entry_points(group="loandesk.plugins")}
    found = {}
    for name in sorted(installed & host.infos.keys()):
        info = host.infos[name]
        if info.secret_fields() or host.notification_channels([name]):
            found[name] = info.secret_fields()
    return {n: f for n, f in found.items() if n not in NOT_CONNECTORS}


@pytest.fixture
def run(app: Flask, client: FlaskClient, tenant_a: TenantFixture, office: Office) -> Iterator[Run]:
    yield Run(app, tenant_a, Recorded(client, tenant_a.token, []), office)


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def _table_dump(app: Flask, slug: str) -> str:
    from loandesk.db import Base

    parts = []
    with tenant_session(app, slug) as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                parts.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(parts)


def test_no_connector_secret_is_shown_logged_audited_or_stored(
    app: Flask,
    client: FlaskClient,
    run: Run,
    esign: Esign,
    certificates: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    plugins = connector_plugins(app)
    host = app.extensions["loandesk.plugins"]
    declaring = {i.plugin_name for i in host.pm.hook.loandesk_connectors.get_hookimpls()}
    assert not set(plugins) - declaring, "connector plugins without loandesk_connectors"
    assert not set(plugins) - DRIVERS.keys(), "connector plugins without a driver in this test"
    assert {"sms_http", "email", "dingtalk", "esign_cn", "credit"} <= set(plugins)
    for name, fields in plugins.items():
        run.secrets[name] = {
            f: f"{f.replace('_', '')[:12]}-{name}-{secrets.token_hex(8)}" for f in sorted(fields)
        }

    # order: e签宝 while the contracts tests' own SMS channel is on; then the SMS providers,
    # which are its rivals and each other's (a tenant enables one sms plugin at a time)
    drive_esign_cn(run, esign, monkeypatch)
    run.disable("testsms")
    for name in sorted(plugins.keys() - {"esign_cn"}):
        driver = DRIVERS[name]
        if name == "email":
            driver(run, certificates, monkeypatch)
        else:
            driver(run)
    webhook_secret = drive_webhooks(run)

    # every connector has succeeded and failed at least once (or is not enabled any more)
    listed = {i["key"]: i for i in run.api.get("/connectors").get_json()["items"]}
    wanted = {"email", "dingtalk", "wecom", "esign_cn", "credit.bureau", "vouchers", "webhooks"}
    assert wanted <= listed.keys()
    for item in listed.values():
        assert item["last_success_at"] and item["last_error_at"], item
    # the page and its test buttons (htmx), and each plugin's settings page
    web_login(client, run.tenant)
    page = f"/t/{run.tenant.slug}/admin/connectors"
    run.bodies.append(client.get(page).get_data(as_text=True))
    token = csrf_from(client, page)
    for key in listed:
        answer = client.post(f"{page}/{key}/test", data={"csrf_token": token},
                             headers={"HX-Request": "true"})  # fmt: skip
        assert answer.status_code == 200
        run.bodies.append(answer.get_data(as_text=True))
    for name in plugins:
        settings_page = client.get(f"/t/{run.tenant.slug}/admin/plugins/{name}/settings")
        run.bodies.append(settings_page.get_data(as_text=True))
    run.bodies.append(run.api.get("/plugins").get_data(as_text=True))

    from loandesk.audit.models import AuditEvent

    with tenant_session(app, run.tenant.slug) as session:
        audit_rows = [
            json.dumps([e.action, e.record_id, e.actor_label, e.diff], ensure_ascii=False)
            for e in session.scalars(select(AuditEvent))
        ]
    assert any('"connector.tested"' in row for row in audit_rows)
    formatter = logging.Formatter()
    logged = [
        f"{r.getMessage()} {r.exc_text or ''} "
        + (formatter.formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    ]
    stored = _table_dump(app, run.tenant.slug)
    assert "connector_status" in stored and "webhook_deliveries" in stored

    searched = {
        "log lines": "\n".join(logged),
        "audit rows": "\n".join(audit_rows),
        "API answers and pages": "\n".join(run.bodies),
        "stored rows": stored,
    }
    every = [v for values in run.secrets.values() for v in values.values()]
    every += [*run.extra, webhook_secret]
    assert len(every) >= 10
    for where, text in searched.items():
        for secret in every:
            for form in _forms(secret):
                assert form not in text, f"a secret ({secret[:12]}...) is in the {where}"
