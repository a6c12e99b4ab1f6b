"""The Excel export of customers: the list's filters and the exporter's data scope apply, only
exportable fields are columns, masked fields stay masked, and the export is audited."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from tests.plugins.customers.conftest import Firm, add_staff, audit_events, new_customer


def _table(response: Any) -> list[list[Any]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_finance_exports_its_fields_with_the_bank_card_in_full(app, firm: Firm) -> None:  # type: ignore[no-untyped-def]
    officer = firm.staff["officer1"].api
    new_customer(officer, name="李四", bank_card="6222021234567890128", monthly_income="9000.50")
    new_customer(officer, name="王五", mobile="13900139000")
    table = _table(firm.staff["finance"].api.get("/customers/export.xlsx"))
    # finance exports name, bank card and status; the mobile it sees masked is no column
    assert table[0] == ["Name", "Bank card", "Status"]
    rows = sorted(table[1:])
    assert rows == [["李四", "6222021234567890128", "Active"], ["王五", None, "Active"]]
    export = audit_events(app, firm, "customer.export")[-1]
    assert export.diff["format"] == "xlsx" and export.diff["rows"] == 2
    shown = audit_events(app, firm, "personal_data.export")[-1]
    assert shown.diff["fields"] == ["bank_card"]


def test_masked_fields_stay_masked_and_scope_and_filters_apply(app, client, firm: Firm) -> None:  # type: ignore[no-untyped-def]
    new_customer(firm.staff["officer1"].api, name="甲", monthly_income="8500.00")
    new_customer(firm.staff["officer3"].api, name="乙")  # another team of the branch
    head_office = add_staff(
        app, client, firm.tenant, "hq", ["credit_officer"], firm.units["company"]
    )
    new_customer(head_office.api, name="丁")  # outside the risk manager's branch
    risk = firm.staff["risk"].api  # scope: the branch and below; views everything
    # a risk manager may export; make the mobile masked for that role to see masking
    _set_risk_mobile(app, firm, "masked")
    table = _table(risk.get("/customers/export.xlsx"))
    header = table[0]
    mobile, income = header.index("Mobile"), header.index("Monthly income")
    values = {r[0]: r for r in table[1:]}
    assert set(values) == {"甲", "乙"}
    assert values["甲"][mobile] == "138****8000"
    assert str(values["甲"][income]) == "8500"  # an amount, as a number cell
    only = _table(risk.get("/customers/export.xlsx?q=甲"))
    assert [r[0] for r in only[1:]] == ["甲"]
    # a credit officer's scope is their own customers; they may export nothing by default
    assert firm.staff["officer1"].api.get("/customers/export.xlsx").status_code == 403


def _set_risk_mobile(app, firm: Firm, level: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from loandesk.rbac.models import Role, RoleRecordAccess
    from loandesk.tenancy import service, use

    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, firm.tenant.slug).ref()):
            role = session.scalar(select(Role).where(Role.key == "risk_manager"))
            grant = session.scalar(
                select(RoleRecordAccess).where(RoleRecordAccess.role_id == role.id)
            )
            grant.fields = {**grant.fields, "mobile": level}
            session.flush()


def test_the_web_list_offers_excel_export_and_import(app, client, firm: Firm) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import web_login

    new_customer(firm.staff["officer1"].api, name="丙")
    web_login(client, firm.tenant)
    page = client.get("/t/tenant-a/customers/").get_data(as_text=True)
    assert "/t/tenant-a/customers/export.xlsx" in page
    assert "/t/tenant-a/imports/customer/" in page
    table = _table(client.get("/t/tenant-a/customers/export.xlsx"))
    assert table[0][0] == "姓名" and table[1][0] == "丙"
