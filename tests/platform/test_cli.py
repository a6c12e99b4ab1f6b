"""The shell alone sets up a private install: tenants, API clients, the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from loandesk.cli import cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"LOANDESK_INSTANCE_PATH": str(tmp_path)}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    return env


def test_tenant_and_api_client_from_the_shell(env: dict[str, str]) -> None:
    from flask.testing import FlaskClient

    runner = CliRunner()
    created = runner.invoke(
        cli,
        [
            "tenant",
            "create",
            "--slug",
            "acme-loans",
            "--name",
            "Acme",
            "--admin-email",
            "boss@acme.cn",
            "--admin-password",
            "-",
        ],
        input="Sturdy-pass-77\n",
        env=env,
    )
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["slug"] == "acme-loans"
    dup = runner.invoke(
        cli,
        [
            "tenant",
            "create",
            "--slug",
            "acme-loans",
            "--name",
            "Acme",
            "--admin-email",
            "x@acme.cn",
            "--admin-password",
            "Sturdy-pass-77",
        ],
        env=env,
    )
    assert dup.exit_code != 0 and "already taken" in dup.output
    out = runner.invoke(
        cli,
        [
            "api-client",
            "create",
            "--tenant",
            "acme-loans",
            "--name",
            "erp",
            "--scope",
            "users:read",
        ],
        env=env,
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["client_id"].startswith("ldc_") and data["client_secret"]
    assert data["scopes"] == ["users:read"]
    bad = runner.invoke(
        cli,
        ["api-client", "create", "--tenant", "acme-loans", "--name", "x", "--scope", "root"],
        env=env,
    )
    assert bad.exit_code != 0 and "Unknown scope" in bad.output

    from loandesk.app import create_app
    from loandesk.settings import Settings
    from tests.helpers import ApiClient, fetch_token

    app = create_app(Settings.from_env(env))
    client: FlaskClient = app.test_client()
    token = fetch_token(client, data["client_id"], data["client_secret"]).get_json()
    users = ApiClient(client, token["access_token"]).get("/users").get_json()
    assert [u["email"] for u in users["items"]] == ["boss@acme.cn"]
    app.extensions["loandesk"].db.dispose()


def test_demo_prepares_a_tenant_and_prints_the_login(env: dict[str, str]) -> None:
    first = CliRunner().invoke(cli, ["demo", "--no-serve", "--no-history"], env=env)
    assert first.exit_code == 0, first.output
    assert "/t/demo/login" in first.output and "admin@demo.loandesk.local" in first.output
    # Run again: same tenant, a new password that works.
    second = CliRunner().invoke(cli, ["demo", "--no-serve", "--no-history"], env=env)
    assert second.exit_code == 0, second.output
    password = second.output.split("Password")[1].split()[0]

    from loandesk.app import create_app
    from loandesk.settings import Settings
    from tests.helpers import csrf_from

    app = create_app(Settings.from_env(env))
    client = app.test_client()
    token = csrf_from(client, "/t/demo/login")
    response = client.post(
        "/t/demo/login",
        data={"email": "admin@demo.loandesk.local", "password": password, "csrf_token": token},
    )
    assert response.status_code == 302
    customers = client.get("/t/demo/customers/")  # the built-in modules are enabled
    assert customers.status_code == 200, customers.get_data(as_text=True)
    flows = client.get("/t/demo/admin/flows")  # with a published approval flow
    assert flows.status_code == 200
    assert "借款申请审批" in flows.get_data(as_text=True)
    app.extensions["loandesk"].db.dispose()
