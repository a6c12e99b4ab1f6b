# ruff: noqa: F811  (fixtures imported from the flow tests are used by name)
"""Acceptance (issue 7, point 5): automation rules travel in the tenant bundle.

Tenant A's rules (one naming a staff member, one using the custom field ``stage``, one
disabled) are exported to ``automations.yaml`` with e-mails instead of ids, applied to a fresh
tenant B and exported again: the same bytes. Applying again changes nothing; an edited file
shows its diff in a dry run and makes one new version; a wrong rule refuses the whole bundle
and changes nothing; a rule may use a field and a role the same bundle adds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture
from tests.platform.automations.conftest import save_rule, shop  # noqa: F401
from tests.platform.flows.conftest import Desk
from tests.platform.test_bundle import ROOT, audit_count, files, invite, run

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EMAIL = re.compile(r"[a-z0-9._+-]+@[a-z0-9.-]+\.[a-z]+")
REMIND = "批准后提醒签约"


def configure(desk: Desk) -> None:
    """Three rules on applications: a to-do for officer A, a field set, a disabled one."""
    save_rule(desk, {
        "name": REMIND,
        "trigger": {"kind": "event", "event": "application.approved"},
        "condition": "amount >= 10000",
        "actions": [
            {"type": "set_field", "field": "stage", "value": "signing"},
            {"type": "create_todo", "title": "联系 {{ title }} 签约",
             "assignee": {"kind": "user", "user": str(desk.user("a"))},
             "due": {"days": 2, "at": "10:00"}},
        ],
    })  # fmt: skip
    save_rule(desk, {
        "name": "提交后进入审核",
        "trigger": {"kind": "event", "event": "application.approved"},
        "actions": [{"type": "set_field", "field": "stage", "value": "review"}],
    })  # fmt: skip
    save_rule(desk, {
        "name": "停用的规则",
        "trigger": {"kind": "event", "event": "application.approved"},
        "condition": 'stage == "review"',
        "actions": [{"type": "create_todo", "title": "复核 {{ title }}",
                     "assignee": {"kind": "owner"}}],
        "enabled": False,
    })  # fmt: skip


def read(folder: Path, name: str = "automations.yaml") -> Any:
    return yaml.safe_load((folder / name).read_text(encoding="utf-8"))


def write(folder: Path, data: Any, name: str = "automations.yaml") -> None:
    (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


def rules(desk_or_app: Any, slug: str) -> dict[str, tuple[int, bool, str]]:
    """The tenant's rules: name -> (version, enabled, condition)."""
    from loandesk.automations.models import AutomationRule
    from loandesk.tenancy import service, use

    app = getattr(desk_or_app, "app", desk_or_app)
    db = app.extensions["loandesk"].db
    with app.app_context(), db.transaction() as session:
        with use(service.get_by_slug(session, slug).ref()):
            rows = session.scalars(select(AutomationRule))
            return {r.name: (r.version, r.enabled, r.condition) for r in rows}


def export(desk: Desk, folder: Path) -> None:
    assert run(desk.app, "tenant", "export", desk.firm.tenant.slug, str(folder)).exit_code == 0


def apply(desk: Desk, folder: Path, *flags: str) -> Any:
    return run(desk.app, "tenant", "apply", str(folder), "--tenant", desk.firm.tenant.slug, *flags)


def test_rules_round_trip_to_a_fresh_tenant(
    shop: Desk, api_b: ApiClient, tenant_b: TenantFixture, tmp_path: Path
) -> None:
    configure(shop)
    a, b = tmp_path / "a", tmp_path / "b"
    export(shop, a)
    text = (a / "automations.yaml").read_text(encoding="utf-8")
    assert not UUID.search(text), text  # nothing names the tenant's ids
    exported = read(a)["rules"]
    assert [r["name"] for r in exported] == sorted([REMIND, "提交后进入审核", "停用的规则"])
    remind = next(r for r in exported if r["name"] == REMIND)
    assert remind["actions"][1]["assignee"] == {"kind": "user", "user": shop.firm.staff["a"].email}
    assert remind["record_type"] == "application" and remind["enabled"] is True
    assert remind["condition"] == "amount >= 10000"
    schema = json.loads((ROOT / "tenants" / "bundle.schema.json").read_text(encoding="utf-8"))
    bundle = {str(p.relative_to(a)): read(a, str(p.relative_to(a))) for p in a.rglob("*.yaml")}
    jsonschema.validate(bundle, schema)

    # B has its own staff with the same e-mails (heads, flow approvers, the to-do's assignee)
    emails = sorted({m for p in a.rglob("*.yaml") for m in EMAIL.findall(p.read_text("utf-8"))})
    for email in emails:
        invite(api_b, email)
    applied = run(shop.app, "tenant", "apply", str(a), "--tenant", tenant_b.slug)
    assert applied.exit_code == 0, applied.output
    assert (
        f"automations.yaml: {REMIND}: create rule on application (on application.approved)"
        in applied.output
    ), applied.output
    assert rules(shop, tenant_b.slug)["停用的规则"] == (1, False, 'stage == "review"')
    assert run(shop.app, "tenant", "export", tenant_b.slug, str(b)).exit_code == 0
    assert files(a) == files(b)

    before = audit_count(shop.app, tenant_b.slug)
    again = run(shop.app, "tenant", "apply", str(a), "--tenant", tenant_b.slug)
    assert again.exit_code == 0 and f"nothing to change in {tenant_b.slug}" in again.output
    assert audit_count(shop.app, tenant_b.slug) == before
    assert {v[0] for v in rules(shop, tenant_b.slug).values()} == {1}


def test_an_edited_file_shows_its_diff_then_applies(shop: Desk, tmp_path: Path) -> None:
    configure(shop)
    slug, folder = shop.firm.tenant.slug, tmp_path / "a"
    export(shop, folder)
    first = apply(shop, folder)  # the fixture's org unit positions get numbered; no rule changes
    assert first.exit_code == 0 and "automations.yaml" not in first.output, first.output
    data = read(folder)
    remind = next(r for r in data["rules"] if r["name"] == REMIND)
    remind["condition"] = "amount >= 50000"
    remind["enabled"] = False
    data["rules"] = [r for r in data["rules"] if r["name"] != "提交后进入审核"]
    data["rules"].append({
        "name": "新规则",
        "record_type": "application",
        "trigger": {"kind": "event", "event": "application.approved"},
        "actions": [{"type": "create_todo", "title": "归档 {{ title }}",
                     "assignee": {"kind": "role", "role": "credit_officer"}}],
    })  # fmt: skip
    write(folder, data)

    before, kept = audit_count(shop.app, slug), rules(shop, slug)
    dry = apply(shop, folder, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"automations.yaml: {REMIND}: update to version 2: condition, enabled" in dry.output
    assert "automations.yaml: 新规则: create rule on application" in dry.output
    assert "停用的规则" not in dry.output  # unchanged
    assert "提交后进入审核" not in dry.output  # not in the file: left alone
    assert "2 changes: would change" in dry.output
    assert audit_count(shop.app, slug) == before and rules(shop, slug) == kept

    applied = apply(shop, folder)
    assert applied.exit_code == 0, applied.output
    after = rules(shop, slug)
    assert after[REMIND] == (2, False, "amount >= 50000")
    assert after["提交后进入审核"] == kept["提交后进入审核"]  # left alone, still enabled
    assert after["新规则"][0] == 1 and after["停用的规则"] == kept["停用的规则"]
    assert "nothing to change" in apply(shop, folder).output


def _bad_title(data: dict[str, Any]) -> None:
    data["rules"][0]["actions"][1]["title"] = "联系 {{ nickname }}"


def _ghost(data: dict[str, Any]) -> None:
    data["rules"][0]["actions"][1]["assignee"]["user"] = "ghost@example.cn"


def _unknown_field(data: dict[str, Any]) -> None:
    data["rules"][0]["condition"] = "has_boat == true"


def _unknown_type(data: dict[str, Any]) -> None:
    data["rules"][0]["record_type"] = "spaceship"


def _twice(data: dict[str, Any]) -> None:
    data["rules"][1]["name"] = REMIND


def _no_actions(data: dict[str, Any]) -> None:
    data["rules"][0]["actions"] = []


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (_bad_title, f"automations.yaml: {REMIND}: actions.1.title: "),
        (_ghost, f"automations.yaml: {REMIND}: actions.1.assignee: no staff member 'ghost@"),
        (_unknown_field, f"automations.yaml: {REMIND}: condition: "),
        (_unknown_type, f"automations.yaml: {REMIND}: record_type: 'spaceship' is not"),
        (_twice, f"automations.yaml: {REMIND}: name: two rules are named"),
        (_no_actions, f"automations.yaml: {REMIND}: actions: "),
    ],
)
def test_a_wrong_rule_refuses_the_bundle(
    shop: Desk, tmp_path: Path, mutate: Any, problem: str
) -> None:
    configure(shop)
    slug, folder = shop.firm.tenant.slug, tmp_path / "a"
    export(shop, folder)
    data = read(folder)
    data["rules"].sort(key=lambda r: r["name"] != REMIND)  # REMIND first
    mutate(data)
    data["rules"][-1]["condition"] = "amount > 1"  # a good change that must not be made
    write(folder, data)
    before, kept = audit_count(shop.app, slug), rules(shop, slug)
    refused = apply(shop, folder)
    assert refused.exit_code != 0
    assert problem in refused.output, refused.output
    if mutate is _bad_title:
        assert "nickname" in refused.output
    assert "nothing changed" in refused.output
    assert audit_count(shop.app, slug) == before and rules(shop, slug) == kept


def test_a_rule_may_use_a_field_and_a_role_the_bundle_adds(shop: Desk, tmp_path: Path) -> None:
    configure(shop)
    slug, folder = shop.firm.tenant.slug, tmp_path / "a"
    export(shop, folder)
    form = read(folder, "fields/application.yaml")
    vip = {**form["fields"][-1], "key": "vip", "kind": "boolean", "label_zh": "贵宾",
           "label_en": "VIP"}  # fmt: skip
    vip.pop("rules", None)
    form["fields"].append(vip)
    write(folder, form, "fields/application.yaml")
    roles = read(folder, "roles.yaml")
    roles["roles"].append({"key": "vip_desk", "name_zh": "贵宾专员", "name_en": "VIP desk"})
    write(folder, roles, "roles.yaml")
    data = read(folder)
    data["rules"].append({
        "name": "贵宾提醒",
        "record_type": "application",
        "trigger": {"kind": "event", "event": "application.approved"},
        "condition": "vip == true",
        "actions": [{"type": "create_todo", "title": "贵宾 {{ title }}：{{ vip }}",
                     "assignee": {"kind": "role", "role": "vip_desk"}}],
    })  # fmt: skip
    write(folder, data)
    applied = apply(shop, folder)
    assert applied.exit_code == 0, applied.output
    assert "automations.yaml: 贵宾提醒: create rule on application" in applied.output
    assert rules(shop, slug)["贵宾提醒"] == (1, True, "vip == true")
    again = tmp_path / "again"
    export(shop, again)
    exported = {r["name"]: r for r in read(again)["rules"]}
    assert exported["贵宾提醒"] == {**data["rules"][-1], "enabled": True}
    assert len(exported) == 4


def test_a_rule_naming_a_field_left_unpublished_is_refused(shop: Desk, tmp_path: Path) -> None:
    """The bundle's new field is saved but not published: the rule is parsed against the form
    in force, refused, and the field is rolled back with it."""
    configure(shop)
    slug, folder = shop.firm.tenant.slug, tmp_path / "a"
    export(shop, folder)
    form = read(folder, "fields/application.yaml")
    vip = {**form["fields"][-1], "key": "vip", "kind": "boolean", "label_zh": "贵宾",
           "label_en": "VIP"}  # fmt: skip
    vip.pop("rules", None)
    form["fields"].append(vip)
    form["published"] = False
    write(folder, form, "fields/application.yaml")
    data = read(folder)
    data["rules"][0]["condition"] = "vip == true"
    write(folder, data)
    before = audit_count(shop.app, slug)
    refused = apply(shop, folder)
    assert refused.exit_code != 0
    assert f"automations.yaml: {data['rules'][0]['name']}: condition: " in refused.output
    assert "vip" in refused.output and audit_count(shop.app, slug) == before
