# ruff: noqa: F811  (fixtures imported from the plugins' tests are used by name)
"""Files plugins add to tenant bundles (``loandesk_bundle_files``), through the collections
plugin's ``collections.yaml``: agencies, queues, ordered rules and scripts travel by code,
e-mail and unit path, are checked and applied with the rest of the bundle, and a second
apply finds nothing to change."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from flask import Flask
from sqlalchemy import select

from loandesk.audit.models import AuditEvent
from loandesk.tenancy import service, use
from tests.helpers import ApiClient, TenantFixture
from tests.platform.test_bundle import audit_count, files, invite, run
from tests.plugins.collections.conftest import Floor, floor  # noqa: F401
from tests.plugins.customers.conftest import firm  # noqa: F401
from tests.plugins.repayment.conftest import desk  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def _configure(floor: Floor) -> None:
    """Beside the floor's set-up: a rule for one unit and an amount range, and scripts."""
    unit = floor.desk.firm.units["team1"]
    body = {"name": "一组大额", "buckets": "M1", "product_codes": "CASH", "min_overdue": "5000",
            "max_overdue": "80000.5", "org_unit_id": unit, "queue_id": floor.queues["M2"],
            "position": 5}  # fmt: skip
    made = floor.manager.post("/collections/rules", json=body)
    assert made.status_code == 201, made.get_json()
    for bucket, text in (("M1", "您好，您的借款已逾期，请尽快还款。"), ("M2", "请于三日内还款。")):
        saved = floor.manager.put(f"/collections/scripts/{bucket}", json={"body": text})
        assert saved.status_code in (200, 201), saved.get_json()


def _staff_of_a_in_b(floor: Floor, api_b: ApiClient) -> None:
    """Staff are not configuration: tenant B has its own, with A's e-mails."""
    for person in floor.staff.values():
        invite(api_b, person.email)


def _collections(folder: Path) -> dict[str, object]:
    return dict(yaml.safe_load((folder / "collections.yaml").read_text(encoding="utf-8")))


def test_round_trip_then_a_second_apply_changes_nothing(
    app: Flask, floor: Floor, api_b: ApiClient, tenant_b: TenantFixture, tmp_path: Path
) -> None:
    _configure(floor)
    slug_a = floor.desk.firm.tenant.slug
    assert run(app, "tenant", "export", slug_a, str(tmp_path / "a")).exit_code == 0
    exported = _collections(tmp_path / "a")
    assert [q["code"] for q in exported["queues"]] == ["M1", "M2", "M3", "OUTB"]  # type: ignore[index]
    first = exported["rules"][0]  # type: ignore[index]
    assert first == {
        "name": "一组大额", "queue": "M2", "buckets": ["M1"], "products": ["CASH"],
        "min_overdue": "5000.00", "max_overdue": "80000.50", "unit": ["华东分公司", "一组"],
    }  # fmt: skip
    text = (tmp_path / "a" / "collections.yaml").read_text(encoding="utf-8")
    assert "agent_a@" in text and "委外 A" in text and "-0" not in text.split("queues:")[0]

    _staff_of_a_in_b(floor, api_b)
    applied = run(app, "tenant", "apply", str(tmp_path / "a"), "--tenant", tenant_b.slug)
    assert applied.exit_code == 0, applied.output
    lines = applied.output.splitlines()
    assert "collections.yaml: agencies[0]: create agency 'AGA'" in lines
    assert "collections.yaml: rules[0]: create rule '一组大额'" in lines
    # the plugin's file is applied after every core file
    from_plugin = [line.startswith("collections.yaml") for line in lines[:-1]]
    assert from_plugin == sorted(from_plugin)
    assert run(app, "tenant", "export", tenant_b.slug, str(tmp_path / "b")).exit_code == 0
    assert files(tmp_path / "a") == files(tmp_path / "b")

    db = app.extensions["loandesk"].db
    with db.transaction() as session:
        ref = service.get_by_slug(session, tenant_b.slug).ref()
    with use(ref), db.transaction() as session:
        made = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("collection_%"))
        ).all()
        assert len(made) >= 10 and {e.actor_kind for e in made} == {"system"}

    before = audit_count(app, tenant_b.slug)
    again = run(app, "tenant", "apply", str(tmp_path / "a"), "--tenant", tenant_b.slug)
    assert again.exit_code == 0 and f"nothing to change in {tenant_b.slug}" in again.output
    assert audit_count(app, tenant_b.slug) == before


def test_changes_in_the_file_are_applied_through_the_services(
    app: Flask, floor: Floor, tmp_path: Path
) -> None:
    slug = floor.desk.firm.tenant.slug
    assert run(app, "tenant", "export", slug, str(tmp_path)).exit_code == 0
    data = _collections(tmp_path)
    agencies, queues, rules = data["agencies"], data["queues"], data["rules"]
    agencies[1]["members"] = [agencies[0]["members"][0]]  # type: ignore[index]  # moves A → B
    agencies[0]["members"] = []  # type: ignore[index]
    queues[0]["members"].reverse()  # type: ignore[index]
    queues[1] |= {"balancing": "round_robin", "name": "M2 组"}  # type: ignore[index]
    rules.reverse()  # type: ignore[union-attr]
    rules[0] |= {"buckets": ["M3+", "M3"], "min_overdue": "100"}  # type: ignore[index]
    data["scripts"] = {"M3": "委外话术"}
    (tmp_path / "collections.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    applied = run(app, "tenant", "apply", str(tmp_path), "--tenant", slug)
    assert applied.exit_code == 0, applied.output
    for line in (
        "collections.yaml: agencies[0].members: remove agent_a@",
        "collections.yaml: agencies[1].members: add agent_a@",
        "collections.yaml: queues[0].members: set 2 members",
        "collections.yaml: queues[1]: update balancing, name",
        "collections.yaml: rules: delete rule 'M1 电催'",
        "collections.yaml: rules[0]: create rule 'M3 以上委外'",
        "collections.yaml: scripts.M3: save",
    ):
        assert line in applied.output, applied.output
    assert run(app, "tenant", "export", slug, str(tmp_path / "after")).exit_code == 0
    after = _collections(tmp_path / "after")
    assert after["agencies"] == agencies and after["queues"] == queues
    rules[0] |= {"buckets": ["M3", "M3+"], "min_overdue": "100.00"}  # type: ignore[index]
    assert after["rules"] == rules and after["scripts"] == {"M3": "委外话术"}
    again = run(app, "tenant", "apply", str(tmp_path), "--tenant", slug)
    assert f"nothing to change in {slug}" in again.output, again.output


def test_dry_run_changes_nothing(
    app: Flask, floor: Floor, api_b: ApiClient, tenant_b: TenantFixture, tmp_path: Path
) -> None:
    _configure(floor)
    assert (
        run(app, "tenant", "export", floor.desk.firm.tenant.slug, str(tmp_path / "a")).exit_code
        == 0
    )
    _staff_of_a_in_b(floor, api_b)
    assert run(app, "tenant", "export", tenant_b.slug, str(tmp_path / "before")).exit_code == 0
    before = audit_count(app, tenant_b.slug)
    dry = run(app, "tenant", "apply", str(tmp_path / "a"), "--tenant", tenant_b.slug, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "collections.yaml: queues[0]: create queue 'M1'" in dry.output
    assert "would change" in dry.output
    assert run(app, "tenant", "export", tenant_b.slug, str(tmp_path / "after")).exit_code == 0
    assert files(tmp_path / "before") == files(tmp_path / "after")
    assert not (tmp_path / "after" / "collections.yaml").exists()  # the plugin is still off
    assert audit_count(app, tenant_b.slug) == before


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (
            lambda d: d["rules"][0].update({"queue": "NOPE"}),
            "collections.yaml: rules[0].queue: no queue 'NOPE'",
        ),
        (
            lambda d: d["queues"][0].update({"balancing": "sideways"}),
            "collections.yaml: queues[0].balancing: Must be one of",
        ),
        (
            lambda d: d["queues"][1]["members"].append("ghost@example.cn"),
            "collections.yaml: queues[1].members[1]: no active staff member 'ghost@example.cn'",
        ),
        (
            lambda d: d["rules"][0].update({"unit": ["华东分公司", "三组"]}),
            "collections.yaml: rules[0].unit: no org unit",
        ),
        (
            lambda d: d.update(
                agencies=[d["agencies"][1] | {"members": d["agencies"][0]["members"]}]
            ),
            "collections.yaml: agencies: 'agent_a@",
        ),
        (
            lambda d: d["agencies"].append(dict(d["agencies"][0])),
            "collections.yaml: agencies: code 'AGA' appears twice",
        ),
    ],
)
def test_a_bad_file_names_file_and_path_and_changes_nothing(
    app: Flask, floor: Floor, tmp_path: Path, mutate: object, problem: str
) -> None:
    slug = floor.desk.firm.tenant.slug
    assert run(app, "tenant", "export", slug, str(tmp_path / "a")).exit_code == 0
    data = _collections(tmp_path / "a")
    data["scripts"] = {"M1": "会被拒绝的话术"}
    mutate(data)  # type: ignore[operator]
    (tmp_path / "a" / "collections.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True), "utf-8"
    )
    before = audit_count(app, slug)
    refused = run(app, "tenant", "apply", str(tmp_path / "a"), "--tenant", slug)
    assert refused.exit_code != 0
    assert problem in refused.output, refused.output
    assert audit_count(app, slug) == before
    assert run(app, "tenant", "export", slug, str(tmp_path / "b")).exit_code == 0
    assert "scripts: {}" in (tmp_path / "b" / "collections.yaml").read_text(encoding="utf-8")


def test_a_plugin_file_needs_its_plugin_enabled(
    app: Flask, floor: Floor, api_b: ApiClient, tenant_b: TenantFixture, tmp_path: Path
) -> None:
    assert run(app, "tenant", "export", floor.desk.firm.tenant.slug, str(tmp_path)).exit_code == 0
    for name in tmp_path.glob("*.yaml"):
        if name.name != "collections.yaml":
            name.unlink()
    refused = run(app, "tenant", "apply", str(tmp_path), "--tenant", tenant_b.slug)
    assert refused.exit_code != 0
    assert "collections.yaml: (top): plugin 'collections' is not enabled" in refused.output


def test_exported_collections_file_matches_the_json_schema(
    app: Flask, floor: Floor, tmp_path: Path
) -> None:
    from loandesk_collections.bundle import JSON_SCHEMA

    _configure(floor)
    assert run(app, "tenant", "export", floor.desk.firm.tenant.slug, str(tmp_path)).exit_code == 0
    schema = json.loads((ROOT / "tenants" / "bundle.schema.json").read_text(encoding="utf-8"))
    assert schema["$defs"]["collections"] == JSON_SCHEMA  # the plugin's fragment, joined
    bundle = {
        str(p.relative_to(tmp_path)): yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in tmp_path.rglob("*.yaml")
    }
    jsonschema.validate(bundle, schema)
    bundle["collections.yaml"]["queues"][0]["balancing"] = "sideways"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bundle, schema)
    bundle["collections.yaml"]["queues"][0] = {"code": "M1", "name": "x", "id": "0190"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bundle, schema)


def test_a_plugin_file_must_be_a_new_yaml_file() -> None:
    from loandesk_collections.bundle import BUNDLE_FILE

    from loandesk.plugins.host import PluginError, PluginHost
    from loandesk.plugins.info import PluginInfo
    from loandesk.sdk import BundleFile, hookimpl

    class Filer:
        def __init__(self, name: str, file: str) -> None:
            self.PLUGIN = PluginInfo(name=name, title_zh="x", title_en="x", version="0")
            self.file = file

        @hookimpl
        def loandesk_bundle_files(self) -> list[BundleFile]:
            return [dataclasses.replace(BUNDLE_FILE, name=self.file)]

    for names, problem in (
        (["roles.yaml"], r"bundle file 'roles.yaml' must be a new <name>.yaml \(taken by core\)"),
        (["sub/x.yaml"], "bundle file 'sub/x.yaml' must be"),
        (["x.json"], "bundle file 'x.json' must be"),
        (["x.yaml", "x.yaml"], r"\(taken by filer0\)"),
    ):
        host = PluginHost()
        for index, file in enumerate(names):
            host.register(Filer(f"filer{index}", file))
        with pytest.raises(PluginError, match=problem):
            host.gather()
    host = PluginHost()
    host.register(Filer("filer", "filer.yaml"))
    host.gather()
    assert [(n, f.name) for n, f in host.bundle_files()] == [("filer", "filer.yaml")]
    assert host.bundle_files(["other"]) == []
