"""Acceptance (issue 6, point 7): approval flows travel in the tenant bundle.

Tenant A's application flow names staff, org units, a custom role and custom fields; it is
exported with e-mails and unit paths instead of ids, applied to a fresh tenant B (whose ids
all differ) and exported again: the same bytes. Applying again changes nothing; an edited
flow shows its diff in a dry run and publishes one new version; a wrong flow refuses the whole
bundle and changes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from flask import Flask

from tests.helpers import ApiClient, TenantFixture
from tests.platform.flows.api_helpers import client_for, ok
from tests.platform.test_bundle import ROOT, audit_count, files, invite, run

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PURPOSE = {
    "key": "loan_purpose",
    "kind": "select",
    "label_zh": "借款用途",
    "label_en": "Loan purpose",
    "rules": {
        "options": [
            {"value": "car", "label_zh": "购车", "label_en": "Car"},
            {"value": "house", "label_zh": "装修", "label_en": "Home improvement"},
        ]
    },
}
RISK = {"key": "risk_level", "kind": "text", "label_zh": "风险等级", "label_en": "Risk level"}


def configure(app: Flask, api: ApiClient, tenant: TenantFixture) -> list[dict[str, Any]]:
    """Tenant A: intake with two custom fields, two staff heading 华东分公司 / 上海一组, a
    custom role, and a published flow naming all of them; returns the flow's nodes."""
    for plugin in ("customers", "intake"):
        ok(api.put(f"/plugins/{plugin}", json={"enabled": True}))
    for field in (PURPOSE, RISK):
        ok(api.post("/record-types/application/fields", json=field), 201)
    ok(api.post("/record-types/application/form/publish", json={}), 201)
    wang, li = invite(api, "wang.fang@example.cn"), invite(api, "li.lei@example.cn")
    company = ok(api.get("/org-units"))["items"][0]["id"]
    east = ok(
        api.post(
            "/org-units",
            json={
                "parent_id": company,
                "name": "华东分公司",
                "kind": "branch",
                "head_user_id": wang,
            },
        ),
        201,
    )["id"]
    team = ok(
        api.post(
            "/org-units",
            json={"parent_id": east, "name": "上海一组", "kind": "team", "head_user_id": li},
        ),
        201,
    )["id"]
    body = {"key": "loan_reviewer", "name_zh": "贷审员", "name_en": "Loan reviewer"}
    ok(api.post("/roles", json=body), 201)
    nodes = [
        {
            "id": "n1",
            "type": "approver",
            "name": "初审",
            "assignees": [{"kind": "user", "user": wang}, {"kind": "unit_head", "unit": team}],
            "mode": "all",
            "deadline": {"kind": "working_hours", "amount": 24},
            "on_timeout": "transfer",
            "timeout_user": li,
        },
        {
            "id": "b1",
            "type": "branch",
            "name": "用途",
            "branches": [
                {
                    "id": "car",
                    "name": "购车",
                    "condition": 'loan_purpose == "car"',
                    "nodes": [
                        {
                            "id": "n2",
                            "type": "approver",
                            "name": "车贷审批",
                            "assignees": [{"kind": "role", "role": "loan_reviewer"}],
                        }
                    ],
                },
                {
                    "id": "other",
                    "name": "其他",
                    "default": True,
                    "nodes": [{"id": "c1", "type": "cc", "assignees": [{"kind": "manager"}]}],
                },
            ],
        },
        {
            "id": "a1",
            "type": "automation",
            "action": "set_field",
            "field": "risk_level",
            "value": "high",
        },
        {
            "id": "c2",
            "type": "cc",
            "name": "抄送公司",
            "assignees": [{"kind": "unit_head", "unit": company}],
        },
    ]
    designer = client_for(app, tenant, tenant.admin_user_id, ("flows:read", "flows:write"))
    ok(designer.put("/flows/application", json={"name": "进件审批", "nodes": nodes}))
    ok(designer.post("/flows/application/publish", json={"note": "v1"}), 201)
    return nodes


def read(folder: Path, name: str) -> Any:
    return yaml.safe_load((folder / name).read_text(encoding="utf-8"))


def write(folder: Path, name: str, data: Any) -> None:
    (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


def versions(app: Flask, tenant: TenantFixture) -> list[int]:
    reader = client_for(app, tenant, None, ("flows:read",))
    return [v["number"] for v in ok(reader.get("/flows/application/versions"))["items"]]


def test_a_flow_round_trips_to_a_fresh_tenant(
    app: Flask,
    api_a: ApiClient,
    api_b: ApiClient,
    tenant_a: TenantFixture,
    tenant_b: TenantFixture,
    tmp_path: Path,
) -> None:
    configure(app, api_a, tenant_a)
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(app, "tenant", "export", tenant_a.slug, str(a)).exit_code == 0
    text = (a / "flows" / "application.yaml").read_text(encoding="utf-8")
    assert not UUID.search(text), text  # nothing names the tenant's ids
    flow = read(a, "flows/application.yaml")
    assert flow["name"] == "进件审批"
    first = flow["nodes"][0]
    assert first["assignees"] == [
        {"kind": "user", "user": "wang.fang@example.cn"},
        {"kind": "unit_head", "unit": ["华东分公司", "上海一组"]},
    ]
    assert first["timeout_user"] == "li.lei@example.cn" and first["mode"] == "all"
    assert flow["nodes"][3]["assignees"] == [{"kind": "unit_head", "unit": []}]  # the company
    assert flow["nodes"][1]["branches"][0]["nodes"][0]["assignees"] == [
        {"kind": "role", "role": "loan_reviewer"}
    ]
    schema = json.loads((ROOT / "tenants" / "bundle.schema.json").read_text(encoding="utf-8"))
    bundle = {str(p.relative_to(a)): read(a, str(p.relative_to(a))) for p in a.rglob("*.yaml")}
    jsonschema.validate(bundle, schema)

    # B has its own staff with the same e-mails; its units and role come with the bundle
    invite(api_b, "wang.fang@example.cn")
    invite(api_b, "li.lei@example.cn")
    applied = run(app, "tenant", "apply", str(a), "--tenant", tenant_b.slug)
    assert applied.exit_code == 0, applied.output
    assert "flows/application.yaml: nodes: publish version 1: new flow, 6 nodes" in applied.output
    assert versions(app, tenant_b) == [1]
    assert run(app, "tenant", "export", tenant_b.slug, str(b)).exit_code == 0
    assert files(a) == files(b)

    before = audit_count(app, tenant_b.slug)
    again = run(app, "tenant", "apply", str(a), "--tenant", tenant_b.slug)
    assert again.exit_code == 0 and f"nothing to change in {tenant_b.slug}" in again.output
    assert audit_count(app, tenant_b.slug) == before and versions(app, tenant_b) == [1]


def test_an_edited_flow_shows_its_diff_then_publishes_once(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tmp_path: Path
) -> None:
    configure(app, api_a, tenant_a)
    folder = tmp_path / "a"
    assert run(app, "tenant", "export", tenant_a.slug, str(folder)).exit_code == 0
    flow = read(folder, "flows/application.yaml")
    flow["nodes"][0]["mode"] = "any"
    flow["nodes"] = [n for n in flow["nodes"] if n["id"] != "c2"]
    flow["nodes"].append({"id": "e1", "type": "end", "outcome": "approved"})
    write(folder, "flows/application.yaml", flow)

    before = audit_count(app, tenant_a.slug)
    dry = run(app, "tenant", "apply", str(folder), "--tenant", tenant_a.slug, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert (
        "flows/application.yaml: nodes: publish version 2: added e1; changed n1; removed c2"
        in dry.output
    ), dry.output
    assert "1 change: would change" in dry.output
    assert audit_count(app, tenant_a.slug) == before and versions(app, tenant_a) == [1]

    flow["name"] = "进件审批（新）"
    write(folder, "flows/application.yaml", flow)
    applied = run(app, "tenant", "apply", str(folder), "--tenant", tenant_a.slug)
    assert applied.exit_code == 0, applied.output
    assert "name '进件审批' → '进件审批（新）'" in applied.output
    assert versions(app, tenant_a) == [2, 1]
    again = tmp_path / "again"
    assert run(app, "tenant", "export", tenant_a.slug, str(again)).exit_code == 0
    exported = read(again, "flows/application.yaml")
    assert exported["name"] == "进件审批（新）"
    assert [n["id"] for n in exported["nodes"]] == ["n1", "b1", "a1", "e1"]
    assert exported["nodes"][0]["mode"] == "any" and exported["nodes"][3]["name"] == ""


def _ghost(flow: dict[str, Any]) -> None:
    flow["nodes"][0]["assignees"][0]["user"] = "ghost@example.cn"


def _lost_unit(flow: dict[str, Any]) -> None:
    flow["nodes"][0]["assignees"][1]["unit"] = ["华东分公司", "火星组"]


def _unknown_role(flow: dict[str, Any]) -> None:
    flow["nodes"][1]["branches"][0]["nodes"][0]["assignees"] = [{"kind": "role", "role": "pilot"}]


def _unknown_field(flow: dict[str, Any]) -> None:
    flow["nodes"][1]["branches"][0]["condition"] = "has_boat == true"


def _no_default(flow: dict[str, Any]) -> None:
    flow["nodes"][1]["branches"][1].pop("default")
    flow["nodes"][1]["branches"][1]["condition"] = "amount > 1"


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (_ghost, "flows/application.yaml: nodes.n1: no staff member 'ghost@example.cn'"),
        (_lost_unit, "flows/application.yaml: nodes.n1: no org unit 华东分公司 / 火星组"),
        (_unknown_role, "flows/application.yaml: nodes.n2: No role is called pilot."),
        (_unknown_field, "flows/application.yaml: nodes.car: "),
        (_no_default, "flows/application.yaml: nodes.b1: A condition node needs a default branch."),
    ],
)
def test_a_wrong_flow_refuses_the_bundle(
    app: Flask,
    api_a: ApiClient,
    tenant_a: TenantFixture,
    tmp_path: Path,
    mutate: Any,
    problem: str,
) -> None:
    configure(app, api_a, tenant_a)
    folder = tmp_path / "a"
    assert run(app, "tenant", "export", tenant_a.slug, str(folder)).exit_code == 0
    flow = read(folder, "flows/application.yaml")
    mutate(flow)
    write(folder, "flows/application.yaml", flow)
    before = audit_count(app, tenant_a.slug)
    refused = run(app, "tenant", "apply", str(folder), "--tenant", tenant_a.slug)
    assert refused.exit_code != 0
    assert problem in refused.output, refused.output
    if mutate is _unknown_field:
        assert "has_boat" in refused.output
    assert "nothing changed" in refused.output
    assert audit_count(app, tenant_a.slug) == before and versions(app, tenant_a) == [1]


def test_a_flow_naming_a_field_left_unpublished_is_refused_when_applied(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tmp_path: Path
) -> None:
    """The check sees the bundle's fields; the flow is published against the form in force,
    which a ``published: false`` fields file leaves without the new field: refused then, and
    the changes made before it (the new field) are rolled back."""
    configure(app, api_a, tenant_a)
    folder = tmp_path / "a"
    assert run(app, "tenant", "export", tenant_a.slug, str(folder)).exit_code == 0
    form = read(folder, "fields/application.yaml")
    vip = {**RISK, "key": "vip", "kind": "boolean", "label_zh": "贵宾", "label_en": "VIP"}
    form["fields"].append({**form["fields"][-1], **vip})
    form["published"] = False
    write(folder, "fields/application.yaml", form)
    flow = read(folder, "flows/application.yaml")
    flow["nodes"][1]["branches"][0]["condition"] = "vip == true"
    write(folder, "flows/application.yaml", flow)
    before = audit_count(app, tenant_a.slug)
    refused = run(app, "tenant", "apply", str(folder), "--tenant", tenant_a.slug)
    assert refused.exit_code != 0
    assert "flows/application.yaml: nodes.car: " in refused.output and "vip" in refused.output
    assert audit_count(app, tenant_a.slug) == before and versions(app, tenant_a) == [1]
    keys = [f["key"] for f in ok(api_a.get("/record-types/application/fields"))["items"]]
    assert "vip" not in keys


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        (
            "flows/customer.yaml",
            {"name": "客户审批", "nodes": []},
            "flows/customer.yaml: (top): 'customer' is not a record type with an approval flow",
        ),
        ("flows/application.yaml", {"name": "x", "nodes": "n1"}, "flows/application.yaml: nodes:"),
        ("flows/application.yaml", {"nodes": []}, "flows/application.yaml: name:"),
        ("flows/Application.yaml", {"name": "x", "nodes": []}, "flows/Application.yaml: unknown"),
    ],
)
def test_malformed_flow_files_are_refused(
    app: Flask,
    api_a: ApiClient,
    tenant_a: TenantFixture,
    tmp_path: Path,
    name: str,
    content: Any,
    problem: str,
) -> None:
    configure(app, api_a, tenant_a)
    folder = tmp_path / "a"
    assert run(app, "tenant", "export", tenant_a.slug, str(folder)).exit_code == 0
    write(folder, name, content)
    refused = run(app, "tenant", "apply", str(folder), "--tenant", tenant_a.slug)
    assert refused.exit_code != 0 and problem in refused.output, refused.output
    assert versions(app, tenant_a) == [1]


def test_export_drops_a_flow_file_that_no_longer_applies(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tmp_path: Path
) -> None:
    configure(app, api_a, tenant_a)
    folder = tmp_path / "a"
    assert run(app, "tenant", "export", tenant_a.slug, str(folder)).exit_code == 0
    assert (folder / "flows" / "application.yaml").exists()
    ok(api_a.put("/plugins/intake", json={"enabled": False}))
    assert run(app, "tenant", "export", tenant_a.slug, str(folder)).exit_code == 0
    assert not (folder / "flows" / "application.yaml").exists()
