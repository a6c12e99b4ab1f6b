"""Acceptance (issue 5, point 6): a tenant's custom fields and forms travel in its bundle.

Tenant A's customer and application forms are set up through the API (sections, fields of
several kinds, a conditional and a computed field, a removed field, a role granted a custom
field), exported, applied to a fresh tenant B and exported again: the two folders are the
same bytes; applying again changes nothing; a dry run and a refused bundle write nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from flask import Flask
from sqlalchemy import func, select

from loandesk.fields.models import FieldDefinition, FormSection, FormVersion
from loandesk.plugins.models import TenantPlugin
from loandesk.tenancy import service, use
from tests.helpers import ApiClient, TenantFixture
from tests.platform.test_bundle import ROOT, audit_count, files, run

SECTIONS = {
    "customer": [
        {"key": "work", "label_zh": "工作信息", "label_en": "Work"},
        {"key": "household", "label_zh": "家庭情况", "label_en": "Household"},
    ],
    "application": [{"key": "purpose", "label_zh": "借款用途", "label_en": "Purpose"}],
}
OPTIONS = [
    {"value": "employee", "label_zh": "受雇", "label_en": "Employee"},
    {"value": "owner", "label_zh": "企业主", "label_en": "Business owner"},
    {"value": "freelance", "label_zh": "自由职业", "label_en": "Freelance"},
]
FIELDS: dict[str, list[dict[str, Any]]] = {
    "customer": [
        {
            "key": "employer_type",
            "kind": "select",
            "label_zh": "就业类型",
            "label_en": "Employment",
            "required": True,
            "section": "work",
            "rules": {"options": OPTIONS},
            "default": "employee",
        },
        {
            "key": "salary",
            "kind": "money",
            "label_zh": "税后月薪",
            "label_en": "Monthly salary",
            "help_zh": "以工资流水为准",
            "section": "work",
            "rules": {"minimum": "0", "maximum": "1000000"},
            "searchable": True,
        },
        {
            "key": "annual_salary",
            "kind": "computed",
            "label_zh": "年薪",
            "label_en": "Annual salary",
            "section": "work",
            "expression": "salary * 12",
            "rules": {"result": "money"},
        },
        {
            "key": "has_car",
            "kind": "boolean",
            "label_zh": "是否有车",
            "label_en": "Owns a car",
            "section": "household",
        },
        {
            "key": "car_plate",
            "kind": "text",
            "label_zh": "车牌号",
            "label_en": "Number plate",
            "section": "household",
            "condition": "has_car == true",
            "rules": {"max_length": 10},
        },
        {"key": "old_note", "kind": "long_text", "label_zh": "旧备注", "label_en": "Old note"},
        {"key": "wechat", "kind": "text", "label_zh": "微信号", "label_en": "WeChat ID"},
    ],
    "application": [
        {
            "key": "loan_purpose",
            "kind": "select",
            "label_zh": "借款用途",
            "label_en": "Loan purpose",
            "required": True,
            "section": "purpose",
            "rules": {
                "options": [
                    {"value": "car", "label_zh": "购车", "label_en": "Car"},
                    {"value": "house", "label_zh": "装修", "label_en": "Home improvement"},
                ]
            },
        },
        {
            "key": "car_model",
            "kind": "text",
            "label_zh": "车辆型号",
            "label_en": "Car model",
            "section": "purpose",
            "condition": 'loan_purpose == "car"',
        },
    ],
}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json(silent=True)


def configure_forms(api: ApiClient) -> None:
    """Tenant A's forms as an admin would build them through the API."""
    for plugin in ("customers", "intake"):
        ok(api.put(f"/plugins/{plugin}", json={"enabled": True}))
    for record_type, sections in SECTIONS.items():
        for section in sections:
            ok(api.post(f"/record-types/{record_type}/sections", json=section))
        for field in FIELDS[record_type]:
            ok(api.post(f"/record-types/{record_type}/fields", json=field), 201)
        ok(api.post(f"/record-types/{record_type}/form/publish", json={"note": "v1"}), 201)
    # the second version: a field removed (its values stay), one edited, an order changed
    ok(api.delete("/record-types/customer/fields/old_note"), 204)
    ok(api.patch("/record-types/customer/fields/wechat", json={"label_zh": "微信"}))
    layout = [
        {"section": "", "fields": ["wechat", "old_note"]},
        {"section": "household", "fields": ["car_plate", "has_car"]},
        {"section": "work", "fields": ["salary", "employer_type", "annual_salary"]},
    ]
    ok(api.put("/record-types/customer/layout", json={"layout": layout}), 204)
    ok(api.post("/record-types/customer/form/publish", json={"note": "v2"}), 201)
    role = ok(
        api.post(
            "/roles",
            json={"key": "loan_clerk", "name_zh": "贷款专员", "name_en": "Loan clerk"},
        ),
        201,
    )
    grant = {
        "scope": "team",
        "fields": {"name": "edit", "salary": "view", "employer_type": "edit"},
        "export": ["salary"],
    }
    ok(api.put(f"/roles/{role['id']}/record-access/customer", json=grant))


def read(folder: Path, name: str) -> Any:
    return yaml.safe_load((folder / name).read_text(encoding="utf-8"))


def counts(app: Flask, slug: str) -> dict[str, int]:
    """Rows of tenant ``slug`` that configuration writes."""
    db = app.extensions["loandesk"].db
    with db.transaction() as session:
        ref = service.get_by_slug(session, slug).ref()
    with use(ref), db.transaction() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (FieldDefinition, FormSection, FormVersion, TenantPlugin)
        }


def test_forms_round_trip_to_a_fresh_tenant(
    app: Flask,
    api_a: ApiClient,
    api_b: ApiClient,
    tenant_a: TenantFixture,
    tenant_b: TenantFixture,
    tmp_path: Path,
) -> None:
    configure_forms(api_a)
    a, b = tmp_path / "a", tmp_path / "b"
    exported = run(app, "tenant", "export", tenant_a.slug, str(a))
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in (a / "fields").iterdir()) == [
        "application.yaml",
        "customer.yaml",
    ]
    customer = read(a, "fields/customer.yaml")
    assert customer["published"] is True
    assert customer["sections"] == SECTIONS["customer"][::-1]  # as arranged
    assert [(f["key"], f.get("removed", False)) for f in customer["fields"]] == [
        ("wechat", False),
        ("old_note", True),
        ("car_plate", False),
        ("has_car", False),
        ("salary", False),
        ("employer_type", False),
        ("annual_salary", False),
    ]
    select_field = next(f for f in customer["fields"] if f["key"] == "employer_type")
    assert select_field["rules"]["options"] == OPTIONS
    assert select_field["default"] == "employee"
    text = (a / "fields" / "customer.yaml").read_text(encoding="utf-8")
    assert "就业类型" in text and "version" not in text and "_at" not in text
    roles = read(a, "roles.yaml")
    clerk = next(r for r in roles["roles"] if r["key"] == "loan_clerk")
    assert clerk["record_access"]["customer"]["fields"] == {
        "name": "edit",
        "salary": "view",
        "employer_type": "edit",
    }

    applied = run(app, "tenant", "apply", str(a), "--tenant", tenant_b.slug)
    assert applied.exit_code == 0, applied.output
    for line in (
        "fields/customer.yaml: sections[0]: create section 'household'",
        "fields/customer.yaml: fields[1]: create field 'old_note' (long_text)",
        "fields/customer.yaml: fields[1]: remove field 'old_note'",
        "fields/customer.yaml: published: publish version 1",
        "fields/application.yaml: published: publish version 1",
    ):
        assert line in applied.output, applied.output
    assert run(app, "tenant", "export", tenant_b.slug, str(b)).exit_code == 0
    assert files(a) == files(b)
    # B's form in force is A's (A is at its second version)
    form_a, form_b = (ok(api.get("/record-types/customer/form")) for api in (api_a, api_b))
    assert (form_a.pop("version"), form_b.pop("version")) == (2, 1)
    assert form_a == form_b
    assert [s["fields"] for s in form_b["sections"]][1:] == [
        ["car_plate", "has_car"],
        ["salary", "employer_type", "annual_salary"],
    ]

    before = counts(app, tenant_b.slug) | {"audit": audit_count(app, tenant_b.slug)}
    again = run(app, "tenant", "apply", str(a), "--tenant", tenant_b.slug)
    assert again.exit_code == 0, again.output
    assert again.output.strip() == f"nothing to change in {tenant_b.slug}"
    assert counts(app, tenant_b.slug) | {"audit": audit_count(app, tenant_b.slug)} == before
    assert len(ok(api_b.get("/record-types/customer/form/versions"))["items"]) == 1

    schema = json.loads((ROOT / "tenants" / "bundle.schema.json").read_text(encoding="utf-8"))
    bundle = {str(p.relative_to(a)): read(a, str(p.relative_to(a))) for p in a.rglob("*.yaml")}
    jsonschema.validate(bundle, schema)


def test_dry_run_writes_nothing(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tenant_b: TenantFixture, tmp_path: Path
) -> None:
    configure_forms(api_a)
    assert run(app, "tenant", "export", tenant_a.slug, str(tmp_path / "a")).exit_code == 0
    (tmp_path / "a" / "org.yaml").unlink()  # A's unit heads are not staff of B
    before = counts(app, tenant_b.slug) | {"audit": audit_count(app, tenant_b.slug)}
    dry = run(app, "tenant", "apply", str(tmp_path / "a"), "--tenant", tenant_b.slug, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "fields/customer.yaml: fields[0]: create field 'wechat' (text)" in dry.output
    assert "would change" in dry.output
    assert counts(app, tenant_b.slug) | {"audit": audit_count(app, tenant_b.slug)} == before


def test_a_condition_naming_an_unknown_field_refuses_the_whole_bundle(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tenant_b: TenantFixture, tmp_path: Path
) -> None:
    configure_forms(api_a)
    folder = tmp_path / "a"
    assert run(app, "tenant", "export", tenant_a.slug, str(folder)).exit_code == 0
    (folder / "org.yaml").unlink()
    customer = read(folder, "fields/customer.yaml")
    plate = next(f for f in customer["fields"] if f["key"] == "car_plate")
    plate["condition"] = "has_boat == true"
    (folder / "fields" / "customer.yaml").write_text(
        yaml.safe_dump(customer, allow_unicode=True), encoding="utf-8"
    )
    before = counts(app, tenant_b.slug) | {"audit": audit_count(app, tenant_b.slug)}
    refused = run(app, "tenant", "apply", str(folder), "--tenant", tenant_b.slug)
    assert refused.exit_code != 0
    assert (
        "fields/customer.yaml: fields[2].condition: No field is called has_boat."
        " (field 'car_plate')" in refused.output
    ), refused.output
    assert "nothing changed" in refused.output
    assert counts(app, tenant_b.slug) | {"audit": audit_count(app, tenant_b.slug)} == before


def test_applying_changes_to_the_same_tenant(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tmp_path: Path
) -> None:
    """An edited bundle applied back: a label changed, a removed field restored, a field left
    out (removed), sections reordered; one new version, and the export shows the edit."""
    configure_forms(api_a)
    folder = tmp_path / "a"
    assert run(app, "tenant", "export", tenant_a.slug, str(folder)).exit_code == 0
    customer = read(folder, "fields/customer.yaml")
    fields = {f["key"]: f for f in customer["fields"]}
    fields["salary"]["label_zh"] = "月薪"
    del fields["old_note"]["removed"]
    customer["sections"].reverse()
    customer["fields"] = [f for f in customer["fields"] if f["key"] != "wechat"]
    (folder / "fields" / "customer.yaml").write_text(
        yaml.safe_dump(customer, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    applied = run(app, "tenant", "apply", str(folder), "--tenant", tenant_a.slug)
    assert applied.exit_code == 0, applied.output
    changes = [line for line in applied.output.splitlines() if line.startswith("fields/")]
    assert changes == [
        "fields/customer.yaml: fields[0]: restore field 'old_note'",
        "fields/customer.yaml: fields[3]: update label_zh",
        "fields/customer.yaml: fields: remove field 'wechat' (not in the bundle)",
        "fields/customer.yaml: fields: order sections and fields as listed",
        "fields/customer.yaml: published: publish version 3",
    ]
    versions = ok(api_a.get("/record-types/customer/form/versions"))["items"]
    assert [v["number"] for v in versions] == [3, 2, 1]
    assert "wechat" not in versions[0]["fields"] and "old_note" in versions[0]["fields"]

    again = tmp_path / "again"
    assert run(app, "tenant", "export", tenant_a.slug, str(again)).exit_code == 0
    exported = read(again, "fields/customer.yaml")
    assert exported["sections"] == customer["sections"]
    listed = customer["fields"]
    grouped = [f for s in ("", "work", "household") for f in listed if f["section"] == s]
    assert [f for f in exported["fields"] if f["key"] != "wechat"] == grouped
    assert next(f for f in exported["fields"] if f["key"] == "wechat")["removed"] is True


def _kind_changed(bundle: dict[str, Any]) -> None:
    bundle["fields/customer.yaml"]["fields"][0]["kind"] = "integer"


def _salary_removed(bundle: dict[str, Any]) -> None:
    bundle["fields/customer.yaml"]["fields"][4]["removed"] = True


def _loan_form(bundle: dict[str, Any]) -> None:
    bundle["fields/loan.yaml"] = {"published": True, "sections": [], "fields": []}


def _section_dropped(bundle: dict[str, Any]) -> None:
    bundle["fields/customer.yaml"]["sections"].pop(0)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (
            _kind_changed,
            "fields/customer.yaml: fields[0].kind: 'wechat' is a text field in this tenant",
        ),
        (  # a formula in use may not name a removed field
            _salary_removed,
            "fields/customer.yaml: fields[6].expression: No field is called salary."
            " (field 'annual_salary')",
        ),
        (_loan_form, "fields/loan.yaml: (top): unknown record type 'loan'"),
        (
            _section_dropped,
            "fields/customer.yaml: fields[2].section: No such section. (field 'car_plate')",
        ),
    ],
)
def test_invalid_forms_are_refused_and_change_nothing(
    app: Flask, api_a: ApiClient, tenant_a: TenantFixture, tmp_path: Path, mutate: Any, problem: str
) -> None:
    configure_forms(api_a)
    folder = tmp_path / "a"
    assert run(app, "tenant", "export", tenant_a.slug, str(folder)).exit_code == 0
    bundle = {
        str(p.relative_to(folder)): read(folder, str(p.relative_to(folder)))
        for p in folder.rglob("*.yaml")
    }
    bundle["fields/customer.yaml"]["fields"][0]["label_zh"] = (
        "先改的"  # a change before the problem
    )
    mutate(bundle)
    for name, data in bundle.items():
        (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    before = counts(app, tenant_a.slug) | {"audit": audit_count(app, tenant_a.slug)}
    refused = run(app, "tenant", "apply", str(folder), "--tenant", tenant_a.slug)
    assert refused.exit_code != 0
    assert problem in refused.output, refused.output
    assert counts(app, tenant_a.slug) | {"audit": audit_count(app, tenant_a.slug)} == before
    wechat = next(
        f for f in ok(api_a.get("/record-types/customer/fields"))["items"] if f["key"] == "wechat"
    )
    assert wechat["label_zh"] == "微信"
