# ruff: noqa: F811  (fixtures imported from the reports tests are used by name)
"""The report pages beyond the designer: the built-in reports a viewer may run (their numbers
those of the API and of a hand-written query, copied into a saved report from the page), the
export buttons shown only to who may export — and their downloads — and a saved report's
e-mail schedule managed from its page by its owner, a problem shown next to its field."""

from __future__ import annotations

import io
import re
import uuid
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from tests.helpers import ApiClient
from tests.platform.reports.conftest import Books, books, reports_client  # noqa: F401
from tests.platform.reports.test_builtin import money
from tests.platform.reports.test_catalog import APPLICATION_FIELDS
from tests.platform.reports.test_designer_web import Web, chart_data
from tests.platform.reports.test_export import _grant, sql
from tests.platform.reports.test_tasks_dataset import approvals  # noqa: F401
from tests.plugins.customers.conftest import audit_events

HTMX = {"HX-Request": "true"}


def post(web: Web, path: str, data: Any, htmx: bool = True) -> Any:
    headers = {"X-CSRFToken": web.csrf, **(HTMX if htmx else {})}
    return web.client.post(web.url(path), data=data, headers=headers)


def html_of(response: Any) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def web(app: Flask, books: Books) -> dict[str, Web]:
    return {name: Web(app, books, name) for name in ("officer1", "risk", "finance")}


def saved_report(books: Books, app: Flask, client: FlaskClient, owner: str, **body: Any) -> str:
    api = reports_client(
        app,
        client,
        books.desk.firm.tenant.slug,
        books.desk.firm.tenant.id,
        books.desk.firm.staff[owner].user_id,
        ("reports:read", "reports:write"),
    )
    data = {
        "name": "各部门申请",
        "dataset": "intake.applications",
        "spec": {"dimensions": [{"key": "status"}], "measures": ["count"]},
        **body,
    }
    created = api.post("/reports", json=data)
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"])


# --- built-in reports ------------------------------------------------------------------------


def test_the_list_shows_the_builtins_the_viewer_may_run(
    books: Books, web: dict[str, Web], api_a: ApiClient
) -> None:
    html = html_of(web["finance"].get("/reports"))
    listed = re.findall(r'id="builtin-(intake-[a-z_]+)"', html)
    assert listed == [
        "intake-application_funnel",
        "intake-applications_by_unit",
        "intake-approver_efficiency",
    ]
    assert 'id="builtin-hidden"' not in html
    # without the amount field the officer cannot run "applications by unit": not listed
    fields = dict.fromkeys(APPLICATION_FIELDS, "edit")
    fields.pop("amount")
    _grant(api_a, "credit_officer", scope="own", fields=fields)
    html = html_of(web["officer1"].get("/reports"))
    assert re.findall(r'id="builtin-(intake-[a-z_]+)"', html) == [
        "intake-application_funnel",
        "intake-approver_efficiency",
    ]
    assert re.search(r'id="builtin-hidden">另有 1 个', html)
    refused = web["officer1"].get("/reports/builtin/intake.applications_by_unit")
    assert refused.status_code == 422
    assert 'id="report-problem"' in refused.get_data(as_text=True)
    assert web["finance"].get("/reports/builtin/intake.nope").status_code == 404


def test_a_builtin_page_shows_the_apis_numbers(approvals: Books, app: Flask) -> None:
    for name in ("officer1", "finance"):
        page = Web(app, approvals, name).get("/reports/builtin/intake.approver_efficiency")
        assert page.status_code == 200, page.get_data(as_text=True)
        shown = chart_data(page.get_data(as_text=True))
        assert shown["chart_type"] == "bar"
        api = approvals.api[name].post("/reports/builtin/intake.approver_efficiency/run")
        assert shown["rows"] == api.get_json()["rows"]
        assert shown["rows"]  # not two empty answers


def test_applications_by_unit_on_its_page_equal_hand_written_sql(
    books: Books, web: dict[str, Web]
) -> None:
    page = web["finance"].get("/reports/builtin/intake.applications_by_unit")
    assert page.status_code == 200
    rows = chart_data(page.get_data(as_text=True))["rows"]
    found = {(r["org_unit_id"], r["status"]): (r["count"], r["amount_sum"]) for r in rows}
    by_hand = sql(
        books,
        "SELECT org_unit_id, status, count(*), sum(amount) FROM intake_applications "
        "WHERE tenant_id = :tenant GROUP BY org_unit_id, status",
    )
    assert found == {(str(uuid.UUID(str(u))), s): (c, money(t)) for u, s, c, t in by_hand}
    assert sum(c for c, _ in found.values()) == 11


def test_a_builtin_is_copied_from_its_page(books: Books, web: dict[str, Web], app: Flask) -> None:
    path = "/reports/builtin/intake.approver_efficiency/copy"
    answer = post(web["risk"], path, {"name": ""})
    assert answer.status_code == 204, answer.get_data(as_text=True)
    target = answer.headers["HX-Redirect"]
    report_id = re.fullmatch(r"/t/[^/]+/reports/([0-9a-f-]{36})/edit", target)
    assert report_id, target
    assert web["risk"].client.get(target).status_code == 200
    (event,) = audit_events(app, books.desk.firm, "report.create")
    assert event.record_id == report_id.group(1)
    from loandesk.reports.models import Report

    with books.desk.session() as session:
        row = session.scalar(select(Report).where(Report.id == uuid.UUID(report_id.group(1))))
        assert row is not None
        assert (row.name, row.dataset, row.chart_type) == (
            "审批人效率排名",
            "intake.approval_tasks",
            "bar",
        )
    # again: the name is taken, said next to it
    again = post(web["risk"], path, {"name": "审批人效率排名"})
    assert again.status_code == 422
    error = html_of(again).split('id="f-copy-name-error"', 1)[1].split("</div></div>", 1)[0]
    assert "已有同名的报表。" in error  # "A report with this name exists already."
    # without JavaScript: a redirect to the copy's designer
    plain = post(web["risk"], path, {"name": "我的排名"}, htmx=False)
    assert plain.status_code == 302 and plain.headers["Location"].endswith("/edit")


# --- export buttons --------------------------------------------------------------------------


def buttons(html: str) -> dict[str, str]:
    """The export buttons of a page: format → the download's URL."""
    return {fmt: url for url, fmt in re.findall(r'href="([^"]+)" id="export-(xlsx|csv)"', html)}


def test_export_buttons_follow_the_permission(
    books: Books, web: dict[str, Web], app: Flask, client: FlaskClient, api_a: ApiClient
) -> None:
    # the risk manager holds reports.export; the finance clerk does not
    builtin = "/reports/builtin/intake.applications_by_unit"
    assert buttons(web["finance"].get(builtin).get_data(as_text=True)) == {}
    found = buttons(web["risk"].get(builtin).get_data(as_text=True))
    assert set(found) == {"xlsx", "csv"}
    download = web["risk"].client.get(found["xlsx"])
    assert download.status_code == 200, download.get_data(as_text=True)[:300]
    sheet = load_workbook(io.BytesIO(download.get_data())).active
    assert sheet is not None
    counted = sum(int(r[2].value) for r in list(sheet.iter_rows())[1:])
    scope = sql(
        books,
        "SELECT count(*) FROM intake_applications a WHERE a.tenant_id = :tenant AND "
        "a.org_unit_id IN (:u0, :u1, :u2)",
        **{
            f"u{i}": uuid.UUID(books.desk.firm.units[u])
            for i, u in enumerate(("branch", "team1", "team2"))
        },
    )
    assert counted == scope[0][0] == 9
    (event,) = audit_events(app, books.desk.firm, "report.export")
    assert event.diff["spec"]["dataset"] == "intake.applications"

    report_id = saved_report(
        books,
        app,
        client,
        "risk",
        spec={"dimensions": [{"key": "status"}], "measures": ["count", "amount_sum"]},
    )
    page = web["risk"].get(f"/reports/{report_id}").get_data(as_text=True)
    links = buttons(page)
    assert links == {
        "xlsx": web["risk"].url(f"/reports/{report_id}/export.xlsx"),
        "csv": web["risk"].url(f"/reports/{report_id}/export.csv"),
    }
    csv = web["risk"].client.get(links["csv"])
    assert csv.status_code == 200 and csv.get_data().startswith("\ufeff".encode())
    # seeing the amount is not exporting it: the buttons go, and the download is refused
    fields = dict.fromkeys(APPLICATION_FIELDS, "view")
    exported = [k for k in APPLICATION_FIELDS if k != "amount"]
    _grant(api_a, "risk_manager", scope="unit", fields=fields, export=exported)
    page = web["risk"].get(f"/reports/{report_id}").get_data(as_text=True)
    assert buttons(page) == {} and "report-chart" in page
    assert web["risk"].client.get(links["csv"]).status_code == 403


# --- e-mail schedule -------------------------------------------------------------------------


def subscriptions_of(books: Books, report_id: str) -> list[Any]:
    from loandesk.reports.subscriptions import ReportSubscription

    with books.desk.session() as session:
        rows = session.scalars(
            select(ReportSubscription).where(ReportSubscription.report_id == uuid.UUID(report_id))
        )
        return [(r.id, r.cron, sorted(r.recipients), r.format, r.enabled) for r in rows]


def test_the_schedule_is_managed_from_the_page(
    books: Books, web: dict[str, Web], app: Flask, client: FlaskClient, api_a: ApiClient
) -> None:
    report_id = saved_report(books, app, client, "risk", shared_with_roles=["credit_officer"])
    page = web["risk"].get(f"/reports/{report_id}")
    html = html_of(page)
    assert 'id="report-subscriptions"' in html and 'id="no-subscriptions"' in html
    officer1, officer3 = (books.desk.firm.staff[n].user_id for n in ("officer1", "officer3"))
    assert f'value="{officer1}"' in html  # the picker offers the tenant's active staff
    base = f"/reports/{report_id}/subscriptions"

    added = post(
        web["risk"],
        base,
        {"preset": "0 8 * * 1", "cron": "", "recipients": [officer1, officer3], "format": "inline"},
    )
    assert added.status_code == 200, added.get_data(as_text=True)
    html = html_of(added)
    assert html.lstrip().startswith('<section class="card" id="report-subscriptions">')
    assert "每周一 08:00" in html or "Every Monday at 08:00" in html
    assert "officer1" in html and "officer3" in html
    ((ident, cron, recipients, fmt, enabled),) = subscriptions_of(books, report_id)
    assert (cron, recipients, fmt, enabled) == (
        "0 8 * * 1",
        sorted([officer1, officer3]),
        "inline",
        True,
    )
    # the next send, in Beijing time, is a Monday at 08:00
    next_send = re.search(r'<time datetime="([^"]+)"', html)
    assert next_send and "T00:00:00" in next_send.group(1)  # 08:00 in Beijing is 00:00 UTC

    # a bad cron: the problem is said next to the field, nothing changes
    bad = post(
        web["risk"],
        f"{base}/{ident}",
        {"preset": "", "cron": "every monday", "recipients": [officer1], "format": "xlsx"},
    )
    assert bad.status_code == 422
    error = html_of(bad).split('id="f-cron-error"', 1)[1].split("</div>\n  </div>", 1)[0]
    assert 'class="field-error"' in error
    assert 'aria-invalid="true"' in html_of(bad).split('id="f-cron"', 1)[1].split(">", 1)[0]
    assert subscriptions_of(books, report_id)[0][1:] == (
        "0 8 * * 1",
        sorted([officer1, officer3]),
        "inline",
        True,
    )
    # no recipient: said next to the recipients
    none = post(web["risk"], base, {"preset": "0 8 * * *", "format": "csv"})
    assert none.status_code == 422 and 'id="f-recipients-error"' in none.get_data(as_text=True)

    # the edit form, then a change: a free cron, Excel, paused
    form = web["risk"].client.get(web["risk"].url(f"{base}?edit={ident}"), headers=HTMX)
    assert form.status_code == 200 and f'/subscriptions/{ident}"' in form.get_data(as_text=True)
    changed = post(
        web["risk"],
        f"{base}/{ident}",
        {"preset": "", "cron": "30 7 * * 1-5", "recipients": [officer1], "format": "xlsx"},
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert subscriptions_of(books, report_id) == [
        (ident, "30 7 * * 1-5", [officer1], "xlsx", False)
    ]
    # without JavaScript: back to the page
    plain = post(
        web["risk"],
        f"{base}/{ident}",
        {"preset": "0 8 1 * *", "recipients": [officer1], "format": "csv", "enabled": "on"},
        htmx=False,
    )
    assert plain.status_code == 302
    assert subscriptions_of(books, report_id)[0][1:] == ("0 8 1 * *", [officer1], "csv", True)
    events = audit_events(app, books.desk.firm, "report.subscription.create")
    assert [e.record_id for e in events] == [report_id]

    # who only sees the report sees no schedule and may not change it
    theirs = web["officer1"].get(f"/reports/{report_id}")
    assert theirs.status_code == 200 and 'id="report-subscriptions"' not in theirs.get_data(
        as_text=True
    )
    assert (
        post(web["officer1"], base, {"preset": "0 8 * * 1", "recipients": [officer1]}).status_code
        == 403
    )
    assert post(web["officer1"], f"{base}/{ident}/delete", {}).status_code == 403
    assert web["finance"].get(f"/reports/{report_id}").status_code == 404

    deleted = post(web["risk"], f"{base}/{ident}/delete", {})
    assert deleted.status_code == 200 and 'id="no-subscriptions"' in deleted.get_data(as_text=True)
    assert subscriptions_of(books, report_id) == []
    assert len(audit_events(app, books.desk.firm, "report.subscription.delete")) == 1
