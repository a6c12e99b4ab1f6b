"""Tenant configuration as code: ``loandesk tenant export`` writes a tenant's roles, org units,
plugins and settings as YAML; ``loandesk tenant apply`` checks a bundle whole and applies it
in one transaction through the same services an admin's change goes through."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

from loandesk.audit.models import AuditEvent
from loandesk.cli import cli
from loandesk.plugins.models import TenantPlugin
from loandesk.tenancy import service, use
from tests.helpers import ApiClient, TenantFixture

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("hello_distribution")


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(cli, list(args))


def files(folder: Path) -> dict[str, bytes]:
    """Every file of a bundle (``fields/`` included) by its path in the bundle."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.*"))}


def audit_count(app: Flask, slug: str) -> int:
    db = app.extensions["loandesk"].db
    with db.transaction() as session:
        ref = service.get_by_slug(session, slug).ref()
    with use(ref), db.transaction() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def invite(api: ApiClient, email: str) -> str:
    created = api.post(
        "/users",
        json={"email": email, "display_name": email.split("@")[0], "password": "Correct-horse-42"},
    )
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"])


def configure(api: ApiClient) -> None:
    """Tenant A as an admin would set it up: plugins, staff, an org tree, a custom role with
    record access, security and privacy settings."""
    for name, body in (
        ("customers", {"enabled": True}),
        ("hello", {"enabled": True, "settings": {"greeting": "您好", "api_key": "s3cret-key"}}),
    ):
        response = api.put(f"/plugins/{name}", json=body)
        assert response.status_code == 200, response.get_json()
    head = invite(api, "wang.fang@example.cn")
    lead = invite(api, "li.lei@example.cn")
    units = api.get("/org-units").get_json()["items"]
    company = units[0]["id"]

    def unit(parent: str, name: str, kind: str, head_user_id: str | None = None) -> str:
        made = api.post(
            "/org-units",
            json={"parent_id": parent, "name": name, "kind": kind, "head_user_id": head_user_id},
        )
        assert made.status_code == 201, made.get_json()
        return str(made.get_json()["id"])

    east = unit(company, "华东分公司", "branch", head)
    unit(east, "上海一组", "team", lead)
    unit(east, "杭州组", "team")
    unit(company, "催收中心", "branch")
    role = api.post(
        "/roles",
        json={
            "key": "loan_clerk",
            "name_zh": "贷款专员",
            "name_en": "Loan clerk",
            "description": "进件录入",
            "permissions": ["customers.create", "users.read"],
        },
    )
    assert role.status_code == 201, role.get_json()
    access = api.put(
        f"/roles/{role.get_json()['id']}/record-access/customer",
        json={
            "scope": "team",
            "fields": {"name": "edit", "mobile": "masked", "employer": "view"},
            "export": ["name"],
        },
    )
    assert access.status_code == 200, access.get_json()
    assert api.patch("/security-settings", json={"session_idle_minutes": 20}).status_code == 200
    assert api.put("/data-requests/settings", json={"data_request_due_days": 10}).status_code == 200
    periods = {"customers.customer": 3650, "core.data_request": None}
    assert api.put("/retention", json={"periods": periods}).status_code == 200


def test_round_trip_gives_identical_files(
    app: Flask,
    api_a: ApiClient,
    api_b: ApiClient,
    tenant_a: TenantFixture,
    tenant_b: TenantFixture,
    tmp_path: Path,
) -> None:
    configure(api_a)
    exported = run(app, "tenant", "export", tenant_a.slug, str(tmp_path / "a"))
    assert exported.exit_code == 0, exported.output
    roles = yaml.safe_load((tmp_path / "a" / "roles.yaml").read_text(encoding="utf-8"))
    clerk = next(r for r in roles["roles"] if r["key"] == "loan_clerk")
    assert clerk["record_access"]["customer"] == {
        "scope": "team",
        "fields": {"name": "edit", "mobile": "masked", "employer": "view"},
        "export": ["name"],
    }
    assert "tenant_admin" not in {r["key"] for r in roles["roles"]}
    assert "贷款专员" in (tmp_path / "a" / "roles.yaml").read_text(encoding="utf-8")
    org = yaml.safe_load((tmp_path / "a" / "org.yaml").read_text(encoding="utf-8"))
    east = org["company"]["units"][1]
    assert east["name"] == "华东分公司" and east["head"] == "wang.fang@example.cn"
    assert [u["name"] for u in east["units"]] == ["上海一组", "杭州组"]

    # staff are not configuration: tenant B has its own, with the heads' e-mails
    invite(api_b, "wang.fang@example.cn")
    invite(api_b, "li.lei@example.cn")
    applied = run(app, "tenant", "apply", str(tmp_path / "a"), "--tenant", tenant_b.slug)
    assert applied.exit_code == 0, applied.output
    assert "roles.yaml: roles[" in applied.output and "create role 'loan_clerk'" in applied.output
    assert run(app, "tenant", "export", tenant_b.slug, str(tmp_path / "b")).exit_code == 0
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    # the company's name is the one thing that was A's: B's company now carries it too
    assert a == b

    db = app.extensions["loandesk"].db
    with db.transaction() as session:
        ref = service.get_by_slug(session, tenant_b.slug).ref()
    with use(ref), db.transaction() as session:
        created = session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(("role.create", "org_unit.create")))
        ).all()
        assert len(created) == 5 and {e.actor_kind for e in created} == {"system"}

    before = audit_count(app, tenant_b.slug)
    again = run(app, "tenant", "apply", str(tmp_path / "a"), "--tenant", tenant_b.slug)
    assert again.exit_code == 0 and f"nothing to change in {tenant_b.slug}" in again.output
    assert audit_count(app, tenant_b.slug) == before


def test_exported_bundle_matches_the_json_schema(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tmp_path: Path
) -> None:
    configure(api_a)
    tmp_path = tmp_path / "bundle"
    assert run(app, "tenant", "export", tenant_a.slug, str(tmp_path)).exit_code == 0
    schema = json.loads((ROOT / "tenants" / "bundle.schema.json").read_text(encoding="utf-8"))
    bundle = {
        str(p.relative_to(tmp_path)): yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in tmp_path.rglob("*.yaml")
    }
    jsonschema.validate(bundle, schema)
    bundle["roles.yaml"]["roles"][0]["record_access"] = {"customer": {"scope": "everything"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bundle, schema)


def test_secrets_are_never_written_and_kept_on_apply(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tmp_path: Path
) -> None:
    configure(api_a)
    tmp_path = tmp_path / "bundle"
    assert run(app, "tenant", "export", tenant_a.slug, str(tmp_path)).exit_code == 0
    text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    assert "s3cret-key" not in text and "api_key" not in text
    plugins = yaml.safe_load((tmp_path / "plugins.yaml").read_text(encoding="utf-8"))
    assert plugins["plugins"]["hello"]["settings"]["greeting"] == "您好"

    plugins["plugins"]["hello"]["settings"]["greeting"] = "早上好"
    (tmp_path / "plugins.yaml").write_text(yaml.safe_dump(plugins, allow_unicode=True), "utf-8")
    applied = run(app, "tenant", "apply", str(tmp_path), "--tenant", tenant_a.slug)
    assert applied.exit_code == 0, applied.output
    assert "plugins.yaml: plugins.hello.settings: update" in applied.output
    assert api_a.get("/hello").get_json() == {"greeting": "早上好", "has_key": "true"}

    plugins["plugins"]["hello"]["settings"]["api_key"] = "other-key"
    (tmp_path / "plugins.yaml").write_text(yaml.safe_dump(plugins, allow_unicode=True), "utf-8")
    refused = run(app, "tenant", "apply", str(tmp_path), "--tenant", tenant_a.slug)
    assert refused.exit_code != 0
    assert "plugins.yaml: plugins.hello.settings.api_key: a secret is never kept" in refused.output


def test_dry_run_changes_nothing(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tenant_b: TenantFixture, tmp_path: Path
) -> None:
    configure(api_a)
    assert run(app, "tenant", "export", tenant_a.slug, str(tmp_path / "a")).exit_code == 0
    assert run(app, "tenant", "export", tenant_b.slug, str(tmp_path / "before")).exit_code == 0
    before = audit_count(app, tenant_b.slug)
    # the heads are missing in B, so leave the org out of this bundle
    (tmp_path / "a" / "org.yaml").unlink()
    dry = run(app, "tenant", "apply", str(tmp_path / "a"), "--tenant", tenant_b.slug, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "plugins.yaml: plugins.customers.enabled: enable" in dry.output
    assert "would change" in dry.output
    assert run(app, "tenant", "export", tenant_b.slug, str(tmp_path / "after")).exit_code == 0
    assert files(tmp_path / "before") == files(tmp_path / "after")
    assert audit_count(app, tenant_b.slug) == before


def _bundle(app: Flask, slug: str, folder: Path) -> dict[str, Any]:
    assert run(app, "tenant", "export", slug, str(folder)).exit_code == 0
    return {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in folder.iterdir()}


def _write(folder: Path, bundle: dict[str, Any]) -> None:
    for name, data in bundle.items():
        (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (
            lambda b: b["roles.yaml"]["roles"][-1]["permissions"].append("loans.fly"),
            "roles.yaml: roles[{last}].permissions: unknown permission 'loans.fly'",
        ),
        (
            lambda b: b["roles.yaml"]["roles"][-1]["record_access"]["customer"]["fields"].update(
                {"shoe_size": "view"}
            ),
            "roles.yaml: roles[{last}].record_access.customer: unknown field 'shoe_size'",
        ),
        (
            lambda b: b["roles.yaml"]["roles"].append(
                {
                    "key": "clerk_two",
                    "name_zh": "二",
                    "name_en": "Two",
                    "record_access": {"loan": {"scope": "own"}},
                }
            ),
            "roles.yaml: roles[{new}].record_access.loan: unknown record type",
        ),
        (
            lambda b: b["roles.yaml"]["roles"].append(
                {"key": "ghost", "builtin": True, "name_zh": "鬼", "name_en": "Ghost"}
            ),
            "roles.yaml: roles[{new}].builtin: 'ghost' is not a built-in role",
        ),
        (
            lambda b: b["roles.yaml"]["roles"].append(
                {"key": "tenant_admin", "builtin": True, "name_zh": "管", "name_en": "Admin"}
            ),
            "roles.yaml: roles[{new}].key: the tenant admin always holds everything",
        ),
        (
            lambda b: b["org.yaml"]["company"]["units"][1]["units"][0].update(
                {"units": [{"name": "小小组", "kind": "team"}]}
            ),
            "org.yaml: company.units[1].units[0].units[0]: a team cannot be placed under a team",
        ),
        (
            lambda b: b["plugins.yaml"]["plugins"].update({"loans": {"enabled": True}}),
            "plugins.yaml: plugins.loans: unknown plugin",
        ),
        (
            lambda b: b["plugins.yaml"]["plugins"]["hello"]["settings"].update({"colour": "red"}),
            "plugins.yaml: plugins.hello.settings.colour: unknown setting",
        ),
        (
            lambda b: b["tenant.yaml"].update({"timezone": "Mars/Olympus"}),
            "tenant.yaml: timezone: Unknown time zone.",
        ),
        (
            lambda b: b["roles.yaml"]["roles"][-1].update({"colour": "red"}),
            "roles.yaml: roles[{last}].colour: Unknown field.",
        ),
        (
            lambda b: b["tenant.yaml"].update(
                {"session": {"idle_minutes": 1, "absolute_hours": 2}}
            ),
            "tenant.yaml: session: Some fields need attention. idle_minutes: Use 5 to 1440",
        ),
        (  # refused by the service, after the plugin settings changed: all is rolled back
            lambda b: b["privacy.yaml"].update({"data_request_due_days": 99}),
            "privacy.yaml: data_request_due_days: Some fields need attention."
            " data_request_due_days: Use 1 to 30 days.",
        ),
    ],
)
def test_invalid_bundles_are_refused_and_change_nothing(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tmp_path: Path, mutate: Any, problem: str
) -> None:
    configure(api_a)
    bundle = _bundle(app, tenant_a.slug, tmp_path / "a")
    bundle["plugins.yaml"]["plugins"]["hello"]["settings"]["greeting"] = "changed first"
    roles = len(bundle["roles.yaml"]["roles"])  # the built-in ones, then the tenant's own
    problem = problem.format(last=roles - 1, new=roles)
    mutate(bundle)
    _write(tmp_path / "a", bundle)
    before = audit_count(app, tenant_a.slug)
    refused = run(app, "tenant", "apply", str(tmp_path / "a"), "--tenant", tenant_a.slug)
    assert refused.exit_code != 0
    assert problem in refused.output, refused.output
    assert "nothing changed" in refused.output
    assert audit_count(app, tenant_a.slug) == before
    assert api_a.get("/hello").get_json()["greeting"] == "您好"


def test_bad_yaml_and_unknown_files_are_refused(
    app: Flask, tenant_a: TenantFixture, tmp_path: Path
) -> None:
    tmp_path = tmp_path / "bundle"
    tmp_path.mkdir()
    (tmp_path / "roles.yaml").write_text("roles: [\n  - key: x", encoding="utf-8")
    (tmp_path / "flows.yaml").write_text("flows: []", encoding="utf-8")
    refused = run(app, "tenant", "apply", str(tmp_path), "--tenant", tenant_a.slug)
    assert refused.exit_code != 0
    assert "roles.yaml: not valid YAML" in refused.output
    assert "flows.yaml: unknown file" in refused.output


def test_unknown_head_is_refused(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tenant_b: TenantFixture, tmp_path: Path
) -> None:
    configure(api_a)
    tmp_path = tmp_path / "bundle"
    assert run(app, "tenant", "export", tenant_a.slug, str(tmp_path)).exit_code == 0
    refused = run(app, "tenant", "apply", str(tmp_path), "--tenant", tenant_b.slug)
    assert refused.exit_code != 0
    assert (
        "org.yaml: company.units[1].head: no active staff member 'wang.fang@example.cn'"
        in refused.output
    )
    db = app.extensions["loandesk"].db
    with db.transaction() as session:
        ref = service.get_by_slug(session, tenant_b.slug).ref()
    with use(ref), db.transaction() as session:
        assert session.scalars(select(TenantPlugin)).all() == []
