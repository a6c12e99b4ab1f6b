# ruff: noqa: F811  (fixtures imported from the report and flow tests are used by name)
"""Acceptance (issue 8, point 7): saved reports and dashboards travel in the tenant bundle.

Tenant A's reports, a dashboard of them and a role's default dashboard are exported to
``reports.yaml`` and ``dashboards.yaml`` by name (owners by e-mail, tiles by report name),
applied to a fresh tenant B and exported again: the same bytes. Applying again changes
nothing; an owner missing in the target is replaced by its tenant admin; a spec the dataset
refuses, or a tile naming no report, refuses the whole bundle and changes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture
from tests.platform.flows.conftest import desk  # noqa: F401
from tests.platform.reports.conftest import Books, books, reports_client  # noqa: F401
from tests.platform.test_bundle import ROOT, audit_count, files, invite, run
from tests.plugins.customers.conftest import firm  # noqa: F401

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
EMAIL = re.compile(r"[a-z0-9._+-]+@[a-z0-9.-]+\.[a-z]+")
SCOPES = ("reports:read", "reports:write")


@pytest.fixture
def configured(books: Books, app: Flask, client: FlaskClient) -> Books:
    """Tenant A with two reports (an officer's and the risk manager's), a dashboard of both
    and the credit officers' default dashboard."""
    firm = books.desk.firm

    def staff(name: str) -> ApiClient:
        user = firm.staff[name].user_id
        return reports_client(app, client, firm.tenant.slug, firm.tenant.id, user, SCOPES)

    officer, risk = staff("officer1"), staff("risk")
    mine = officer.post("/reports", json={
        "name": "我的月度申请",
        "description": "每月笔数与金额",
        "dataset": "intake.applications",
        "spec": {"dimensions": [{"key": "created_at", "bucket": "month"}],
                 "measures": ["count", "amount_sum"], "filters": ["amount:ge:1000"],
                 "sort": "created_at", "limit": 24},
        "chart_type": "line",
        "shared_with_roles": ["credit_officer"],
    })  # fmt: skip
    assert mine.status_code == 201, mine.get_json()
    units = risk.post("/reports", json={
        "name": "各部门通过率",
        "dataset": "intake.applications",
        "spec": {"dimensions": [{"key": "org_unit_id"}], "measures": ["approval_rate"]},
        "chart_type": "number",
        "shared_with_roles": ["credit_officer", "finance"],
    })  # fmt: skip
    assert units.status_code == 201, units.get_json()
    board = risk.post("/dashboards", json={
        "name": "经营总览",
        "tiles": [{"report_id": units.get_json()["id"], "x": 0, "y": 0, "w": 4, "h": 3},
                  {"report_id": mine.get_json()["id"], "x": 4, "y": 0, "w": 8, "h": 6}],
        "filters": ["date", "org_unit"],
        "refresh_seconds": 60,
        "shared_with_roles": ["credit_officer"],
    })  # fmt: skip
    assert board.status_code == 201, board.get_json()
    default = {"dashboard_id": board.get_json()["id"]}
    assert risk.put("/dashboards/role-defaults/credit_officer", json=default).status_code == 204
    return books


def read(folder: Path, name: str) -> Any:
    return yaml.safe_load((folder / name).read_text(encoding="utf-8"))


def write(folder: Path, name: str, data: Any) -> None:
    (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


def rows(app: Flask, slug: str) -> dict[str, Any]:
    """The tenant's reports and dashboards: name -> (version, owner's e-mail, …)."""
    from loandesk.auth.models import User
    from loandesk.reports.dashboard_models import Dashboard
    from loandesk.reports.models import Report
    from loandesk.tenancy import service, use

    db = app.extensions["loandesk"].db
    with app.app_context(), db.transaction() as session:
        with use(service.get_by_slug(session, slug).ref()):
            emails = dict(session.execute(select(User.id, User.email)).all())
            found: dict[str, Any] = {
                r.name: (r.version, emails[r.owner_id], r.chart_type)
                for r in session.scalars(select(Report))
            }
            found |= {
                d.name: (d.version, emails[d.owner_id], len(d.tiles))
                for d in session.scalars(select(Dashboard))
            }
            return found


def apply(app: Flask, folder: Path, slug: str, *flags: str) -> Any:
    return run(app, "tenant", "apply", str(folder), "--tenant", slug, *flags)


def test_reports_and_dashboards_round_trip_to_a_fresh_tenant(
    configured: Books, app: Flask, api_b: ApiClient, tenant_b: TenantFixture, tmp_path: Path
) -> None:
    firm = configured.desk.firm
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(app, "tenant", "export", firm.tenant.slug, str(a)).exit_code == 0
    for name in ("reports.yaml", "dashboards.yaml"):
        text = (a / name).read_text(encoding="utf-8")
        assert not UUID.search(text), text  # nothing names the tenant's ids
    reports = read(a, "reports.yaml")["reports"]
    assert [r["name"] for r in reports] == ["各部门通过率", "我的月度申请"]
    assert reports[1]["owner"] == firm.staff["officer1"].email
    assert reports[1]["spec"]["filters"] == ["amount:ge:1000"]
    boards = read(a, "dashboards.yaml")
    assert boards["role_defaults"] == {"credit_officer": "经营总览"}
    (board,) = boards["dashboards"]
    assert [t["report"] for t in board["tiles"]] == ["各部门通过率", "我的月度申请"]
    assert (board["filters"], board["refresh_seconds"]) == (["date", "org_unit"], 60)

    # B has its own staff with the same e-mails
    emails = sorted({m for p in a.rglob("*.yaml") for m in EMAIL.findall(p.read_text("utf-8"))})
    for email in emails:
        invite(api_b, email)
    applied = apply(app, a, tenant_b.slug)
    assert applied.exit_code == 0, applied.output
    assert "reports.yaml: 我的月度申请: create report over intake.applications" in applied.output
    assert "dashboards.yaml: 经营总览: create dashboard of 2 tiles" in applied.output
    assert "dashboards.yaml: role_defaults.credit_officer: → 经营总览" in applied.output
    assert run(app, "tenant", "export", tenant_b.slug, str(b)).exit_code == 0
    assert files(a) == files(b)
    assert rows(app, tenant_b.slug) == rows(app, firm.tenant.slug)

    before = audit_count(app, tenant_b.slug)
    again = apply(app, a, tenant_b.slug)
    assert again.exit_code == 0 and f"nothing to change in {tenant_b.slug}" in again.output
    assert audit_count(app, tenant_b.slug) == before


def test_an_edited_file_updates_by_name_and_a_missing_owner_becomes_the_admin(
    configured: Books, app: Flask, tenant_a: TenantFixture, tmp_path: Path
) -> None:
    slug = configured.desk.firm.tenant.slug
    assert run(app, "tenant", "export", slug, str(tmp_path)).exit_code == 0
    assert "reports.yaml" not in apply(app, tmp_path, slug).output  # nothing of theirs differs

    data = read(tmp_path, "reports.yaml")
    data["reports"][1]["chart_type"] = "bar"
    data["reports"].append({
        "name": "外来报表",
        "dataset": "intake.applications",
        "spec": {"measures": ["count"]},
        "owner": "nobody@example.cn",
    })  # fmt: skip
    write(tmp_path, "reports.yaml", data)
    boards = read(tmp_path, "dashboards.yaml")
    boards["dashboards"][0]["tiles"].append({"report": "外来报表", "x": 0, "y": 6, "w": 12, "h": 2})
    write(tmp_path, "dashboards.yaml", boards)

    applied = apply(app, tmp_path, slug)
    assert applied.exit_code == 0, applied.output
    assert "reports.yaml: 我的月度申请: update to version 2: chart_type" in applied.output
    assert "dashboards.yaml: 经营总览: update to version 2: tiles" in applied.output
    found = rows(app, slug)
    assert found["外来报表"] == (1, tenant_a.admin_email, "table")
    assert found["经营总览"][0] == 2 and found["经营总览"][2] == 3
    again = apply(app, tmp_path, slug)
    assert f"nothing to change in {slug}" in again.output, again.output


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (
            lambda r, d: r["reports"][0]["spec"]["dimensions"].append({"key": "shoe_size"}),
            "reports.yaml: 各部门通过率: spec.dimensions.1: No dimension shoe_size to group by.",
        ),
        (
            lambda r, d: r["reports"][1]["spec"].update({"filters": ["amount:ge:lots"]}),
            "reports.yaml: 我的月度申请: spec.filter.0:",
        ),
        (
            lambda r, d: r["reports"][0].update({"dataset": "loans.vintage"}),
            "reports.yaml: 各部门通过率: dataset: no dataset 'loans.vintage'",
        ),
        (
            lambda r, d: r["reports"][0].update({"shared_with_roles": ["astronaut"]}),
            "reports.yaml: 各部门通过率: shared_with_roles: no role 'astronaut'",
        ),
        (
            lambda r, d: d["dashboards"][0]["tiles"][0].update({"report": "不存在"}),
            "dashboards.yaml: 经营总览: tiles[0].report: no report '不存在'",
        ),
        (
            lambda r, d: d["dashboards"][0]["tiles"][1].update({"x": 2}),
            "dashboards.yaml: 经营总览: tiles.1: This tile overlaps tile 1.",
        ),
        (
            lambda r, d: d["role_defaults"].update({"auditor": "没有的看板"}),
            "dashboards.yaml: role_defaults.auditor: no dashboard '没有的看板'",
        ),
        (
            lambda r, d: d["dashboards"][0].update({"filters": ["weather"]}),
            "dashboards.yaml: dashboards[0].filters[0]: Must be one of",
        ),
    ],
)
def test_a_bad_report_or_dashboard_refuses_the_bundle(
    configured: Books, app: Flask, tmp_path: Path, mutate: Any, problem: str
) -> None:
    slug = configured.desk.firm.tenant.slug
    assert run(app, "tenant", "export", slug, str(tmp_path)).exit_code == 0
    reports, boards = read(tmp_path, "reports.yaml"), read(tmp_path, "dashboards.yaml")
    reports["reports"][1]["description"] = "changed first"  # would apply but for the problem
    mutate(reports, boards)
    write(tmp_path, "reports.yaml", reports)
    write(tmp_path, "dashboards.yaml", boards)
    before, kept = audit_count(app, slug), rows(app, slug)
    refused = apply(app, tmp_path, slug)
    assert refused.exit_code != 0
    assert problem in refused.output, refused.output
    assert "nothing changed" in refused.output
    assert audit_count(app, slug) == before and rows(app, slug) == kept


def test_exported_reports_and_dashboards_match_the_json_schema(
    configured: Books, app: Flask, tmp_path: Path
) -> None:
    slug = configured.desk.firm.tenant.slug
    assert run(app, "tenant", "export", slug, str(tmp_path)).exit_code == 0
    schema = json.loads((ROOT / "tenants" / "bundle.schema.json").read_text(encoding="utf-8"))
    bundle = {
        str(p.relative_to(tmp_path)): read(tmp_path, str(p.relative_to(tmp_path)))
        for p in tmp_path.rglob("*.yaml")
    }
    jsonschema.validate(bundle, schema)
    bundle["dashboards.yaml"]["dashboards"][0]["tiles"][0]["w"] = 13
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bundle, schema)
    bundle["dashboards.yaml"]["dashboards"][0]["tiles"][0]["w"] = 4
    bundle["reports.yaml"]["reports"][0]["chart_type"] = "radar"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bundle, schema)
