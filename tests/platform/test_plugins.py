"""The plugin host: a third-party distribution, built and installed during the test, is found
through its entry points, and what it adds works only for the tenant that enabled it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from loandesk.plugins.host import PluginError, PluginHost
from loandesk.plugins.info import Permission, PluginInfo
from tests.helpers import ApiClient, csrf_from, web_login

pytestmark = pytest.mark.usefixtures("hello_distribution")


def _enable(api: ApiClient, name: str, **body: object) -> object:
    return api.client.put(
        f"/api/v1/plugins/{name}",
        json={"enabled": True, **body},
        headers={"Authorization": f"Bearer {api.token}"},
    )


def _put(api: ApiClient, name: str, body: dict[str, object]):  # type: ignore[no-untyped-def]
    return api.client.put(
        f"/api/v1/plugins/{name}", json=body, headers={"Authorization": f"Bearer {api.token}"}
    )


def test_the_installed_plugin_is_listed(api_a: ApiClient) -> None:
    plugins = {p["name"]: p for p in api_a.get("/plugins").get_json()}
    assert {"hello", "hello_extra"} <= set(plugins)
    assert plugins["hello"]["enabled"] is False and plugins["hello"]["version"] == "1.0.0"
    assert plugins["hello_extra"]["depends_on"] == ["hello"]


def test_route_nav_and_permission_work_only_for_the_enabling_tenant(
    app: Flask, client, api_a: ApiClient, api_b: ApiClient, tenant_a, tenant_b
) -> None:
    assert api_a.get("/hello").status_code == 404  # installed, not enabled yet
    assert (
        _put(api_a, "hello", {"enabled": True, "settings": {"greeting": "您好"}}).status_code == 200
    )

    assert api_a.get("/hello").get_json()["greeting"] == "您好"
    assert api_b.get("/hello").status_code == 404

    web_login(client, tenant_a)
    page = client.get(f"/t/{tenant_a.slug}/hello/")
    assert page.status_code == 200 and "您好" in page.get_data(as_text=True)
    assert "问候" in client.get(f"/t/{tenant_a.slug}/").get_data(as_text=True)
    other = app.test_client()
    web_login(other, tenant_b)
    assert other.get(f"/t/{tenant_b.slug}/hello/").status_code == 404
    assert "问候" not in other.get(f"/t/{tenant_b.slug}/").get_data(as_text=True)

    from loandesk.plugins import runtime
    from loandesk.tenancy import service as tenants
    from loandesk.tenancy import use

    with app.test_request_context():
        db = app.extensions["loandesk"].db
        for fixture, expected in ((tenant_a, True), (tenant_b, False)):
            with db.transaction() as s:
                ref = tenants.get_by_slug(s, fixture.slug).ref()
            with use(ref):
                names = {p.name for p in runtime.permissions()}
                assert ("hello.greet" in names) is expected
            db.session.remove()

    # disabled again: gone for A too
    assert _put(api_a, "hello", {"enabled": False}).status_code == 200
    assert api_a.get("/hello").status_code == 404
    assert client.get(f"/t/{tenant_a.slug}/hello/").status_code == 404


def test_dependencies_are_checked_both_ways(api_a: ApiClient) -> None:
    refused = _put(api_a, "hello_extra", {"enabled": True})
    assert refused.status_code == 409
    assert "Hello (hello)" in refused.get_json()["message"]
    assert _put(api_a, "hello", {"enabled": True}).status_code == 200
    assert _put(api_a, "hello_extra", {"enabled": True}).status_code == 200
    needed = _put(api_a, "hello", {"enabled": False})
    assert needed.status_code == 409 and "hello_extra" in needed.get_json()["message"]
    states = {p["name"]: p["enabled"] for p in api_a.get("/plugins").get_json()}
    assert states["hello"] and states["hello_extra"]
    assert _put(api_a, "nope", {"enabled": True}).status_code == 404


def test_invalid_settings_change_nothing_and_secrets_stay_secret(
    app: Flask, api_a: ApiClient, database_urls
) -> None:
    ok = _put(api_a, "hello", {"settings": {"greeting": "早上好", "api_key": "sk-live-123456"}})
    assert ok.status_code == 200
    body = ok.get_json()
    assert body["settings"] == {
        "greeting": "早上好",
        "tone": "warm",
        "daily_limit": 10,
        "log_path": None,
        "slow_seconds": 0,
    }
    assert body["secrets_set"] == ["api_key"]

    bad = _put(
        api_a,
        "hello",
        {"enabled": True, "settings": {"greeting": "", "tone": "loud", "daily_limit": 0}},
    )
    assert bad.status_code == 422
    assert {"greeting", "tone", "daily_limit"} <= set(bad.get_json()["errors"])
    after = api_a.get("/plugins/hello").get_json()
    assert after["settings"]["greeting"] == "早上好" and after["enabled"] is False

    # an empty secret keeps the stored one; the plugin reads it decrypted
    assert (
        _put(
            api_a, "hello", {"enabled": True, "settings": {"greeting": "晚上好", "api_key": ""}}
        ).status_code
        == 200
    )
    assert api_a.get("/hello").get_json() == {"greeting": "晚上好", "has_key": "true"}

    # the superuser on PostgreSQL: even the owner sees no rows through RLS without a tenant
    raw_url = database_urls.admin_url or database_urls.owner_url
    engine = create_engine(raw_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as c:
        raw = " ".join(
            str(r) for r in c.execute(text("select settings, secrets from tenant_plugins"))
        )
    engine.dispose()
    assert "sk-live-123456" not in raw and "pd1:" in raw


def test_another_process_sees_the_change_on_its_next_request(
    settings, api_a: ApiClient, tenant_a
) -> None:
    from loandesk.app import create_app

    other = create_app(settings)  # a second worker process with its own cache
    other_api = ApiClient(other.test_client(), api_a.token)
    assert other_api.get("/hello").status_code == 404  # caches "disabled"
    assert (
        _put(api_a, "hello", {"enabled": True, "settings": {"greeting": "hi"}}).status_code == 200
    )
    assert other_api.get("/hello").status_code == 200
    other.extensions["loandesk"].db.dispose()


def test_admin_page_enables_and_configures(client, tenant_a) -> None:
    web_login(client, tenant_a)
    page = f"/t/{tenant_a.slug}/admin/plugins"
    html = client.get(page).get_data(as_text=True)
    assert "问候" in html and "hello_extra" in html
    token = csrf_from(client, page)
    refused = client.post(
        f"{page}/hello_extra/enabled", data={"csrf_token": token, "enabled": "on"}
    )
    assert refused.status_code == 302
    assert "hello" in client.get(page).get_data(as_text=True)  # the flash names what is missing
    form = client.get(f"{page}/hello/settings").get_data(as_text=True)
    assert 'name="greeting"' in form and 'type="password"' in form and "问候语" in form
    bad = client.post(
        f"{page}/hello/settings",
        data={"csrf_token": token, "greeting": "", "tone": "warm", "daily_limit": "5"},
    )
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)
    good = client.post(
        f"{page}/hello/settings",
        data={
            "csrf_token": token,
            "greeting": "您好",
            "tone": "formal",
            "daily_limit": "5",
            "api_key": "k-1",
        },
    )
    assert good.status_code == 302
    assert (
        client.post(
            f"{page}/hello/enabled", data={"csrf_token": token, "enabled": "on"}
        ).status_code
        == 302
    )
    assert client.get(f"/t/{tenant_a.slug}/hello/").status_code == 200
    again = client.get(f"{page}/hello/settings").get_data(as_text=True)
    assert "k-1" not in again


def test_cli_lists_enables_and_refuses(app: Flask, tenant_a, settings) -> None:
    from click.testing import CliRunner

    from loandesk.cli import cli

    env = {
        "LOANDESK_DATABASE_URL": settings.database_url,
        "LOANDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "LOANDESK_INSTANCE_PATH": str(settings.instance_path),
    }
    runner = CliRunner()
    refused = runner.invoke(
        cli, ["plugin", "enable", "--tenant", tenant_a.slug, "hello_extra"], env=env
    )
    assert refused.exit_code != 0 and "Hello (hello)" in refused.output
    assert (
        runner.invoke(
            cli, ["plugin", "enable", "--tenant", tenant_a.slug, "hello"], env=env
        ).exit_code
        == 0
    )
    listed = json.loads(
        runner.invoke(cli, ["plugin", "list", "--tenant", tenant_a.slug], env=env).output
    )
    assert {p["name"]: p["enabled"] for p in listed}["hello"] is True
    assert (
        runner.invoke(
            cli, ["plugin", "disable", "--tenant", tenant_a.slug, "hello"], env=env
        ).exit_code
        == 0
    )


class _Bad:
    PLUGIN = PluginInfo(name="bad", title_zh="坏", title_en="Bad", version="0")

    from loandesk.sdk import hookimpl

    @hookimpl
    def loandesk_permissions(self) -> list[Permission]:
        return [Permission("other.thing", "x", "x")]


def test_malformed_plugins_are_refused_at_start() -> None:
    host = PluginHost()
    with pytest.raises(PluginError, match="no PLUGIN"):
        host.register(object())
    host.register(_Bad())
    with pytest.raises(PluginError, match=r"must start with 'bad\.'"):
        host.gather()

    class Needy:
        PLUGIN = PluginInfo(
            name="needy", title_zh="x", title_en="x", version="0", depends_on=("absent",)
        )

    host = PluginHost()
    host.register(Needy())
    with pytest.raises(PluginError, match="needs absent"):
        host.gather()
    with pytest.raises(PluginError, match="two plugins"):
        host.register(Needy())


def test_retention_subjects_are_checked_at_start() -> None:
    from sqlalchemy import select

    from loandesk.pii.retention import RetentionSubject
    from loandesk.sdk import hookimpl

    def subject(key: str, minimum: int = 30) -> RetentionSubject:
        return RetentionSubject(
            key, "x", "x", "x", "x", lambda cutoff: select(), lambda s, i, n: [], minimum
        )

    class Keeper:
        PLUGIN = PluginInfo(name="keeper", title_zh="x", title_en="x", version="0")

        def __init__(self, *subjects: RetentionSubject) -> None:
            self.subjects = list(subjects)

        @hookimpl
        def loandesk_retention_subjects(self) -> list[RetentionSubject]:
            return self.subjects

    for subjects, problem in (
        ((subject("other.record"),), r"must start with 'keeper\.'"),
        ((subject("keeper"),), "must look like plugin.record"),
        ((subject("keeper." + "r" * 40),), "must look like plugin.record"),
        ((subject("keeper.a"), subject("keeper.a")), "two retention subjects"),
        ((subject("keeper.a", -1),), "minimum_days out of range"),
    ):
        host = PluginHost()
        host.register(Keeper(*subjects))
        with pytest.raises(PluginError, match=problem):
            host.gather()
    host = PluginHost()
    host.register(Keeper(subject("keeper.record")))
    host.gather()
    assert [s.key for s in host.contributions["keeper"].retention_subjects] == ["keeper.record"]


def test_db_upgrade_applies_the_plugins_own_migrations(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from sqlalchemy import inspect

    from loandesk.cli import cli

    result = CliRunner().invoke(
        cli, ["db", "upgrade"], env={"LOANDESK_INSTANCE_PATH": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output
    assert "h002" in result.output  # the plugin's branch head beside the core's
    engine = create_engine(f"sqlite:///{tmp_path / 'loandesk.sqlite3'}")
    assert {"hello_greetings", "hello_contacts"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_plans_decide_which_plugins_a_tenant_may_enable(
    app: Flask, client, api_a: ApiClient, api_b: ApiClient, tenant_a, tenant_b, settings
) -> None:
    from click.testing import CliRunner

    from loandesk.cli import cli

    env = {
        "LOANDESK_DATABASE_URL": settings.database_url,
        "LOANDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "LOANDESK_INSTANCE_PATH": str(settings.instance_path),
    }
    runner = CliRunner()
    assert _put(api_a, "hello", {"enabled": True}).status_code == 200
    basic = runner.invoke(cli, ["plan", "save", "basic", "--title", "基础版"], env=env)
    assert basic.exit_code == 0, basic.output
    bad = runner.invoke(cli, ["plan", "save", "x", "--title", "X", "--plugin", "nope"], env=env)
    assert bad.exit_code != 0 and "Not installed: nope" in bad.output
    assert (
        runner.invoke(cli, ["tenant", "set-plan", tenant_a.slug, "basic"], env=env).exit_code == 0
    )

    # A's plan lacks hello: it stops working at once and cannot be enabled again
    assert api_a.get("/hello").status_code == 404
    listed = {p["name"]: p for p in api_a.get("/plugins").get_json()}
    assert listed["hello"]["available"] is False and listed["hello"]["enabled"] is False
    refused = _put(api_a, "hello", {"enabled": True})
    assert refused.status_code == 403 and "plan" in refused.get_json()["message"]
    web_login(client, tenant_a)
    page = client.get(f"/t/{tenant_a.slug}/admin/plugins").get_data(as_text=True)
    assert "不在当前套餐内" in page
    # B has no plan: everything installed is allowed
    assert _put(api_b, "hello", {"enabled": True}).status_code == 200

    # the operator adds hello to the plan: A's earlier choice counts again
    assert (
        runner.invoke(
            cli, ["plan", "save", "basic", "--title", "基础版", "--plugin", "hello"], env=env
        ).exit_code
        == 0
    )
    assert api_a.get("/hello").status_code == 200
    plans = json.loads(runner.invoke(cli, ["plan", "list"], env=env).output)
    assert plans == [{"name": "basic", "title": "基础版", "plugins": ["hello"]}]


def test_plugin_secrets_survive_a_master_key_rotation(api_a: ApiClient, settings) -> None:
    from click.testing import CliRunner

    from loandesk.app import create_app
    from loandesk.cli import cli

    assert (
        _put(
            api_a, "hello", {"enabled": True, "settings": {"greeting": "hi", "api_key": "k-9"}}
        ).status_code
        == 200
    )
    new_key = "n" * 48
    env = {
        "LOANDESK_DATABASE_URL": settings.database_url,
        "LOANDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "LOANDESK_INSTANCE_PATH": str(settings.instance_path),
        "LOANDESK_MASTER_KEY": new_key,
        "LOANDESK_PREVIOUS_MASTER_KEYS": settings.master_key,
    }
    rotated = CliRunner().invoke(cli, ["keys", "rotate"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert json.loads(rotated.output)["rewrapped"] >= 1
    from loandesk.pii.keys import clear_cache

    clear_cache()  # a fresh process would not hold the unwrapped keys
    rotated_app = create_app(settings.replace(master_key=new_key))
    fresh = ApiClient(rotated_app.test_client(), api_a.token)
    assert fresh.get("/hello").get_json() == {"greeting": "hi", "has_key": "true"}
    rotated_app.extensions["loandesk"].db.dispose()


def test_a_handler_of_an_absent_plugins_event_is_refused_unless_optional(settings) -> None:
    from loandesk.app import create_app
    from loandesk.events import EventHandler, EventType
    from loandesk.sdk import hookimpl

    class Listener:
        PLUGIN = PluginInfo(name="listener", title_zh="x", title_en="x", version="0")

        def __init__(self, optional: bool) -> None:
            self.optional = optional

        @hookimpl
        def loandesk_event_handlers(self) -> list[EventHandler]:
            handle = lambda ctx, event: None  # noqa: E731
            return [EventHandler("elsewhere.happened", "h", handle, optional=self.optional)]

    class Emitter:
        PLUGIN = PluginInfo(name="elsewhere", title_zh="x", title_en="x", version="0")

        @hookimpl
        def loandesk_event_types(self) -> list[EventType]:
            return [EventType("elsewhere.happened", "x", "x", "elsewhere")]

    with pytest.raises(PluginError, match=r"handles unknown event 'elsewhere\.happened'"):
        create_app(settings, plugins=[Listener(optional=False)])
    for plugins, registered in (([Listener(True)], []), ([Listener(True), Emitter()], ["h"])):
        app = create_app(settings, plugins=plugins)
        handlers = app.extensions["loandesk.events"].handlers
        assert [h.key for plugin, h in handlers if plugin == "listener"] == registered
        app.extensions["loandesk"].db.dispose()
