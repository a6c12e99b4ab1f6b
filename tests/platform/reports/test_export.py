"""Exports of a report: the CSV and the Excel workbook hold what a hand-written SQL query
counts over the seeded applications — under the viewer's data scope, labelled in their
language — only with ``reports.export`` and an export grant for every field the report reads,
and each export is audited without its numbers."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.helpers import ApiClient, TenantFixture
from tests.platform.flows.test_inbox_web import sign_in
from tests.platform.reports.conftest import Books, reports_client
from tests.platform.reports.test_catalog import APPLICATION_FIELDS
from tests.plugins.customers.conftest import audit_events

ZH = {"Accept-Language": "zh-CN"}
SPEC = {
    "dataset": "intake.applications",
    "dimensions": [{"key": "org_unit_id"}, {"key": "status"}],
    "measures": ["count", "amount_sum", "amount_avg"],
}
# A ratio by unit: every group has decided applications, so every rate has a value.
RATIO_SPEC = {
    "dataset": "intake.applications",
    "dimensions": [{"key": "org_unit_id"}],
    "measures": ["approved", "decided", "approval_rate"],
}
STATUS_ZH = {"approved": "已批准", "rejected": "已拒绝", "submitted": "审批中", "draft": "草稿"}
HAND_WRITTEN = """
    SELECT u.name, a.status, count(*), sum(a.amount)
    FROM intake_applications a
    JOIN org_units u ON u.tenant_id = a.tenant_id AND u.id = a.org_unit_id
    WHERE a.tenant_id = :tenant AND ({scope})
    GROUP BY u.name, a.status
"""


def expected(books: Books, scope: str, **params: Any) -> set[tuple[Any, ...]]:
    """(unit name, status label, count, total and average amount in yuan) by hand."""
    found = set()
    for unit, status, count, cents in sql(books, HAND_WRITTEN.format(scope=scope), **params):
        average = (Decimal(cents) / count).quantize(Decimal(1), ROUND_HALF_UP).scaleb(-2)
        found.add((unit, STATUS_ZH[status], int(count), Decimal(cents).scaleb(-2), average))
    return found


def sql(books: Books, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """A hand-written query over tenant A, ids bound as UUIDs on every database."""
    from sqlalchemy import bindparam, text
    from sqlalchemy.types import Uuid

    typed = [bindparam(k, type_=Uuid) for k in ("tenant", *params)]
    with books.desk.session() as session:
        tenant = uuid.UUID(books.desk.firm.tenant.id)
        found = session.execute(text(statement).bindparams(*typed), {"tenant": tenant, **params})
        return [tuple(r) for r in found]


def _ids(books: Books, *units: str) -> dict[str, uuid.UUID]:
    return {f"u{i}": uuid.UUID(books.desk.firm.units[u]) for i, u in enumerate(units)}


def branch_scope(books: Books) -> tuple[str, dict[str, uuid.UUID]]:
    """The risk manager's scope (华东分公司 and its teams), written out by hand."""
    params = _ids(books, "branch", "team1", "team2")
    return f"a.org_unit_id IN ({', '.join(':' + k for k in params)})", params


def export_csv(api: ApiClient, spec: dict[str, Any] = SPEC) -> Any:
    return api.post("/reports/export", json={**spec, "format": "csv"}, headers=ZH)


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_data()
    assert data.startswith("\ufeff".encode())  # Excel reads the BOM as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def parsed(rows: list[list[str]]) -> set[tuple[Any, ...]]:
    return {
        (unit, status, int(count), Decimal(amount), Decimal(average))
        for unit, status, count, amount, average in rows
    }


def test_csv_and_xlsx_hold_what_the_hand_written_query_counts(books: Books, app: Flask) -> None:
    scope, params = branch_scope(books)
    wanted = expected(books, scope, **params)
    assert len(wanted) == 6  # the finance clerk's company-level applications are not in scope

    response = export_csv(books.api["risk"])
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    # an ASCII fallback, and the Chinese name (借款申请-<date>.csv) as RFC 5987 filename*
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''" + quote("借款申请-20", safe="") in disposition
    assert disposition.endswith(".csv")
    header, *rows = csv_rows(response)
    assert header == ["所属部门", "状态", "申请笔数", "申请金额合计", "平均申请金额"]
    assert parsed(rows) == wanted

    workbook = books.api["risk"].post(
        "/reports/export", json={**SPEC, "format": "xlsx"}, headers=ZH
    )
    assert workbook.status_code == 200
    assert workbook.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert workbook.headers["Content-Disposition"].endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(workbook.get_data())).active
    assert sheet is not None
    cells = list(sheet.iter_rows())
    assert [c.value for c in cells[0]] == header
    found = set()
    for unit, status, count, amount, average in cells[1:]:
        assert isinstance(count.value, int) and count.number_format == "#,##0"
        for money in (amount, average):
            assert money.number_format == "#,##0.00" and not isinstance(money.value, str)
        found.add(
            (
                unit.value,
                status.value,
                count.value,
                Decimal(str(amount.value)),
                Decimal(str(average.value)),
            )
        )
    assert found == wanted


def test_a_ratio_is_exported_exactly_as_a_percentage(books: Books) -> None:
    scope, params = branch_scope(books)
    by_hand = sql(
        books,
        "SELECT u.name, sum(CASE WHEN a.status = 'approved' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN a.status IN ('approved', 'rejected') THEN 1 ELSE 0 END) "
        "FROM intake_applications a JOIN org_units u "
        "ON u.tenant_id = a.tenant_id AND u.id = a.org_unit_id "
        f"WHERE a.tenant_id = :tenant AND {scope} GROUP BY u.name",
        **params,
    )
    wanted = {
        (unit, int(approved), int(decided), (Decimal(approved) / decided).quantize(
            Decimal("0.0001"), ROUND_HALF_UP))
        for unit, approved, decided in by_hand
    }  # fmt: skip
    assert {w[0] for w in wanted} == {"一组", "二组"}

    _header, *rows = csv_rows(export_csv(books.api["risk"], RATIO_SPEC))
    assert {(u, int(a), int(d), Decimal(r)) for u, a, d, r in rows} == wanted
    response = books.api["risk"].post("/reports/export", json={**RATIO_SPEC, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    found = set()
    for unit, approved, decided, rate in list(sheet.iter_rows())[1:]:
        assert rate.number_format == "0.00%"
        found.add((unit.value, approved.value, decided.value, Decimal(str(rate.value))))
    assert found == wanted


def test_each_export_is_audited_without_its_numbers(books: Books, app: Flask) -> None:
    export_csv(books.api["risk"])
    books.api["risk"].post("/reports/export", json={**SPEC, "format": "xlsx"})
    first, second = audit_events(app, books.desk.firm, "report.export")
    assert first.diff == {"format": "csv", "rows": 6, "spec": {**SPEC, "filters": [],
                          "sort": "", "limit": 1000}}  # fmt: skip
    assert second.diff["format"] == "xlsx" and second.diff["rows"] == 6
    text = str(first.diff) + str(second.diff)
    assert "10000" not in text and "已批准" not in text and "一组" not in text


def test_a_saved_report_exports_under_its_viewers_scope(books: Books, app: Flask) -> None:
    risk = reports_client(
        app,
        books.desk.app.test_client(),
        books.desk.firm.tenant.slug,
        books.desk.firm.tenant.id,
        books.desk.firm.staff["risk"].user_id,
        ("reports:read", "reports:write"),
    )
    spec = {k: v for k, v in SPEC.items() if k != "dataset"}
    saved = risk.post(
        "/reports",
        json={"name": "分部门审批/通过率", "dataset": SPEC["dataset"], "spec": spec},
    )
    assert saved.status_code == 201, saved.get_json()
    report_id = saved.get_json()["id"]

    response = books.api["risk"].get(f"/reports/{report_id}/export?format=csv", headers=ZH)
    disposition = response.headers["Content-Disposition"]
    # the slash a file name cannot hold is replaced; the Chinese name travels as filename*
    assert "filename*=UTF-8''" + quote("分部门审批_通过率-", safe="") in disposition
    _header, *rows = csv_rows(response)
    scope, params = branch_scope(books)
    assert parsed(rows) == expected(books, scope, **params)

    (event,) = audit_events(app, books.desk.firm, "report.export")
    assert (event.record_type, event.record_id) == ("report", report_id)
    assert event.diff == {
        "format": "csv",
        "rows": 6,
        "name": "分部门审批/通过率",
        "dataset": "intake.applications",
        "version": 1,
    }
    assert books.api["risk"].get(f"/reports/{report_id}/export?format=pdf").status_code == 422
    # seen by nobody else: not there for them
    assert books.api["finance"].get(f"/reports/{report_id}/export").status_code == 404


def test_without_reports_export_there_is_no_export(books: Books) -> None:
    # the finance clerk may export every application field, but not reports
    response = export_csv(books.api["finance"])
    assert response.status_code == 403, response.get_json()
    assert "reports.export" in response.get_json()["message"]
    assert books.api["finance"].post("/reports/query", json=SPEC).status_code == 200


def _grant(api_a: ApiClient, role_key: str, **access: Any) -> None:
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == role_key)
    put = api_a.put(f"/roles/{role['id']}/record-access/application", json=access)
    assert put.status_code == 200, put.get_json()


def _permit(api_a: ApiClient, role_key: str, permission: str) -> None:
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == role_key)
    changed = api_a.patch(
        f"/roles/{role['id']}", json={"permissions": [*role["permissions"], permission]}
    )
    assert changed.status_code == 200, changed.get_json()


def test_a_field_the_viewer_may_not_export_refuses_the_export(
    books: Books, api_a: ApiClient
) -> None:
    fields = dict.fromkeys(APPLICATION_FIELDS, "view")
    exported = [k for k in APPLICATION_FIELDS if k not in ("amount", "status")]
    _grant(api_a, "risk_manager", scope="unit", fields=fields, export=exported)

    response = export_csv(books.api["risk"])
    assert response.status_code == 403, response.get_json()
    found = response.get_json()
    assert "amount, status" in found["message"]
    assert set(found["errors"]) == {"amount", "status"}
    # seeing is not exporting: the report still runs on the page
    assert books.api["risk"].post("/reports/query", json=SPEC).status_code == 200
    # without those fields it exports
    plain = {**SPEC, "dimensions": [{"key": "org_unit_id"}], "measures": ["count"]}
    assert export_csv(books.api["risk"], plain).status_code == 200


def test_an_own_scope_officer_exports_only_their_own_numbers(
    books: Books, api_a: ApiClient
) -> None:
    _permit(api_a, "credit_officer", "reports.export")
    fields = dict.fromkeys(APPLICATION_FIELDS, "edit")
    _grant(api_a, "credit_officer", scope="own", fields=fields, export=list(APPLICATION_FIELDS))

    _header, *rows = csv_rows(export_csv(books.api["officer1"]))
    officer = books.desk.user("officer1")
    assert parsed(rows) == expected(books, "a.owner_id = :owner", owner=officer)
    assert {r[0] for r in rows} == {"一组"} and sum(int(r[2]) for r in rows) == 4


def test_english_labels_and_names(books: Books) -> None:
    spec = {**SPEC, "dimensions": [{"key": "owner_id"}, {"key": "created_at", "bucket": "month"}]}
    response = books.api["risk"].post(
        "/reports/export", json={**spec, "format": "csv", "measures": ["count"]}
    )
    header, *rows = csv_rows(response)
    assert header == ["Credit officer", "Created", "Applications"]
    by_hand = books.sql(
        "SELECT u.display_name, count(*) FROM intake_applications a JOIN users u "
        "ON u.tenant_id = a.tenant_id AND u.id = a.owner_id WHERE a.tenant_id = :tenant "
        "AND u.display_name IN ('officer1', 'officer2', 'officer3') GROUP BY u.display_name"
    )
    totals: dict[str, int] = {}
    for name, month, count in rows:
        assert month[:5] == "2026-" and len(month) == 7  # a month bucket: 2026-01
        totals[name] = totals.get(name, 0) + int(count)
    assert totals == {name: int(count) for name, count in by_hand}


def test_the_web_download(books: Books, app: Flask, client: FlaskClient) -> None:
    risk = reports_client(
        app,
        client,
        books.desk.firm.tenant.slug,
        books.desk.firm.tenant.id,
        books.desk.firm.staff["risk"].user_id,
        ("reports:read", "reports:write"),
    )
    spec = {"measures": ["count"], "dimensions": [{"key": "status"}]}
    saved = risk.post("/reports", json={"name": "状态", "dataset": SPEC["dataset"], "spec": spec})
    report_id = saved.get_json()["id"]
    base = f"/t/{books.desk.firm.tenant.slug}/reports/{report_id}"

    web = sign_in(books.desk, "risk")
    response = web.get(f"{base}/export.xlsx")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    assert [c.value for c in next(sheet.iter_rows())] == ["Status", "Applications"]
    statement, params = branch_status_counts(books)
    by_hand = dict(sql(books, statement, **params))
    labels = {"Approved": "approved", "Rejected": "rejected", "In approval": "submitted",
              "Draft": "draft"}  # fmt: skip
    assert {labels[r[0].value]: r[1].value for r in list(sheet.iter_rows())[1:]} == by_hand
    assert web.get(f"{base}/export.pdf").status_code == 404
    # the finance clerk does not see the report at all
    assert sign_in(books.desk, "finance").get(f"{base}/export.csv").status_code == 404


def branch_status_counts(books: Books) -> tuple[str, dict[str, uuid.UUID]]:
    scope, params = branch_scope(books)
    return (
        "SELECT a.status, count(*) FROM intake_applications a "
        f"WHERE a.tenant_id = :tenant AND {scope} GROUP BY a.status",
        params,
    )


def test_another_tenant_exports_only_its_own(
    books: Books, app: Flask, client: FlaskClient, tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    for plugin in ("customers", "intake"):
        assert api_b.put(f"/plugins/{plugin}", json={"enabled": True}).status_code == 200
    theirs = reports_client(app, client, tenant_b.slug, tenant_b.id, tenant_b.admin_user_id)
    _header, *rows = csv_rows(export_csv(theirs))
    assert rows == []  # tenant A's applications are not counted for B
    assert len(csv_rows(export_csv(books.api["risk"]))) == 7
