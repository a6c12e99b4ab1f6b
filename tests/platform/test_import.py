"""Excel import of customers: the template, the preview that checks every row through the one
validation path, the import job, the rejected rows' workbook, idempotency (a second upload
of the same rows, a re-saved copy, a retried job), permissions and tenant isolation.

Jobs are kept in the database and run in this process (``work``), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import random
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from loandesk.settings import Settings
from tests.helpers import ApiClient, TenantFixture
from tests.platform.import_helpers import (
    admin_api,
    bad_check_digit,
    batch,
    define_custom_fields,
    fill,
    rejected,
    sheet_of,
    upload,
    valid_row,
    work,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # jobs in the database, run by ``work`` in this process (rq would need a worker process)
    return settings.replace(redis_url="")


@pytest.fixture
def admin(app: Flask, client: FlaskClient, tenant_a: TenantFixture, api_a: ApiClient) -> ApiClient:
    """Tenant A with customers enabled and four custom fields published; its admin's client."""
    assert api_a.put("/plugins/customers", json={"enabled": True}).status_code == 200
    define_custom_fields(app, tenant_a)
    return admin_api(app, client, tenant_a)


def template(api: ApiClient) -> bytes:
    response = api.get("/imports/customer/template")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return bytes(response.data)


def customer_count(app: Flask, tenant: TenantFixture) -> int:
    from loandesk_customers.models import Customer

    from loandesk.tenancy import service, use

    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, tenant.slug).ref()):
            return int(session.scalar(select(func.count()).select_from(Customer)) or 0)


def previewed(
    app: Flask, api: ApiClient, data: bytes, name: str = "customers.xlsx"
) -> dict[str, Any]:
    response = upload(api, data, name)
    assert response.status_code == 202, response.get_json()
    work(app)
    found = batch(api, response.get_json()["id"])
    assert found["state"] == "previewed", found
    return found


def imported(app: Flask, api: ApiClient, batch_id: str) -> dict[str, Any]:
    response = api.post(f"/imports/batches/{batch_id}/confirm")
    assert response.status_code == 202, response.get_json()
    work(app)
    return batch(api, batch_id)


# --- the acceptance test -------------------------------------------------------------------

BAD_KINDS = (
    # (how many, what is wrong, the field whose column is named)
    (8, lambda r: r.update(mobile="1380013800"), "mobile"),
    (6, lambda r: r.update(name=None), "name"),
    (6, lambda r: r.update(loan_purpose="旅游"), "loan_purpose"),
    (6, lambda r: r.update(monthly_income="12.345"), "monthly_income"),
    (6, lambda r: r.update(id_number=bad_check_digit(r["id_number"])), "id_number"),
    (5, lambda r: r.update(loan_purpose=None), "loan_purpose"),
)


@pytest.mark.slow
def test_ten_thousand_rows_with_37_bad_ones(app: Flask, admin: ApiClient, tenant_a) -> None:
    sheet = load_workbook(io.BytesIO(template(admin))).worksheets[0]
    headers = [c.value for c in sheet[1]][:-1]
    keys = [c.value for c in sheet[2]][:-1]
    letters = {key: chr(ord("A") + i) for i, key in enumerate(keys)}
    rows = [valid_row(i) for i in range(10_000)]
    bad: dict[int, str] = {}  # sheet row -> the field that is wrong
    positions = random.Random(37).sample(range(10_000), 37)
    kinds = [(mutate, key) for count, mutate, key in BAD_KINDS for _ in range(count)]
    for position, (mutate, key) in zip(positions, kinds, strict=True):
        mutate(rows[position])
        bad[position + 3] = key
    data = sheet_of(keys, headers, rows)

    first = previewed(app, admin, data)
    assert (first["total_rows"], first["ok_rows"], first["error_rows"]) == (10_000, 9_963, 37)
    assert customer_count(app, tenant_a) == 0  # the preview writes nothing
    refused = {r["row"]: r["errors"] for r in rejected(admin, first["id"])}
    assert set(refused) == set(bad)
    for row, problems in refused.items():
        assert [p["column"] for p in problems] == [letters[bad[row]]], (row, problems)
        assert problems[0]["text"].startswith(f"Row {row}, column {letters[bad[row]]}, ")

    done = imported(app, admin, first["id"])
    assert (done["state"], done["imported_rows"], done["error_rows"]) == ("done", 9_963, 37)
    assert customer_count(app, tenant_a) == 9_963

    errors = admin.get(f"/imports/batches/{first['id']}/rejected.xlsx")
    assert errors.status_code == 200
    book = load_workbook(io.BytesIO(errors.data), read_only=True).worksheets[0]
    table = [list(r) for r in book.iter_rows(values_only=True)]
    assert table[0][: len(headers)] == headers and table[0][len(headers)]
    assert len(table) == 1 + 37
    names = {r[0] for r in table[1:]} - {None}
    assert names == {rows[row - 3]["name"] for row in bad} - {None}
    assert all(r[len(headers)] for r in table[1:])  # every row has its reasons

    again = previewed(app, admin, data, "customers (1).xlsx")
    assert (again["ok_rows"], again["duplicate_rows"], again["error_rows"]) == (0, 9_963, 37)
    assert admin.post(f"/imports/batches/{again['id']}/confirm").status_code == 409
    assert customer_count(app, tenant_a) == 9_963


# --- smaller, fast tests -------------------------------------------------------------------


def test_template_has_translated_headers_hidden_keys_and_drop_downs(app, admin, client) -> None:
    from tests.helpers import web_login

    web_login(client, admin_tenant(app))
    response = client.get("/t/tenant-a/imports/customer/template.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    keys = [c.value for c in sheet[2]]
    assert headers[:3] == ["姓名 *", "身份证号", "手机号 *"]
    assert keys[-1] == "#keys" and sheet.row_dimensions[2].hidden
    assert keys[:-1] == [
        "name", "id_number", "mobile", "address", "bank_card", "employer", "monthly_income",
        "marital_status", "notes", "loan_purpose", "years_employed", "has_car", "first_contact",
    ]  # fmt: skip
    assert "借款用途 *" in headers
    lists = book["lists"]
    assert lists.sheet_state == "hidden"
    validations = {str(v.sqref).split(":")[0]: v for v in sheet.data_validations.dataValidation}
    purpose = keys.index("loan_purpose") + 1
    letter = chr(ord("A") + purpose - 1)
    assert validations[f"{letter}3"].type == "list"
    assert [lists.cell(row=i, column=purpose).value for i in (1, 2)] == ["消费", "经营"]
    car = keys.index("has_car") + 1
    assert [lists.cell(row=i, column=car).value for i in (1, 2)] == ["是", "否"]
    assert sheet.column_dimensions["C"].number_format == "@"  # a mobile stays text
    assert sheet.column_dimensions["G"].number_format == "#,##0.00"  # money
    instructions = book.worksheets[-1]
    text = [[c for c in r if c] for r in instructions.iter_rows(values_only=True)]
    assert any("借款用途" in r and "消费、经营" in r for r in text)


def admin_tenant(app: Flask) -> TenantFixture:
    return app.config["import_tenant"]


@pytest.fixture(autouse=True)
def _remember_tenant(app: Flask, tenant_a: TenantFixture) -> None:
    app.config["import_tenant"] = tenant_a


def test_preview_names_row_column_and_field_in_the_sheets_language(app, admin, client) -> None:
    from tests.helpers import csrf_from, web_login

    rows = [valid_row(1), {**valid_row(2), "mobile": "12345"}, valid_row(3)]
    data = fill(template(admin), rows)
    web_login(client, admin_tenant(app))
    token = csrf_from(client, "/t/tenant-a/imports/customer/")
    response = client.post(
        "/t/tenant-a/imports/customer/",
        data={"csrf_token": token, "file": (io.BytesIO(data), "客户.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    work(app)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    problem = re.search(r'<tr data-row="4">.*?<li>(.*?)</li>', page, re.S)
    assert problem and "4" in problem.group(1) and "C" in problem.group(1), page
    assert "手机号" in problem.group(1) and "*" not in problem.group(1)
    assert len(re.findall(r"<tr data-row=", page)) == 1
    assert 'data-count="ok">2<' in page and 'data-count="error">1<' in page


def test_a_re_saved_copy_and_a_retried_job_add_nothing(app, admin, tenant_a) -> None:
    from loandesk.imports import service

    rows = [valid_row(i) for i in range(1, 1201)]
    data = fill(template(admin), rows)
    first = previewed(app, admin, data)
    assert first["ok_rows"] == 1200
    # the import job "crashes" after its first committed chunk; the retry finishes the rest
    calls = {"n": 0}
    real = service.run_import

    def crashing(*args: Any, **kwargs: Any) -> None:
        progress = kwargs["progress"]

        def report(done: int, total: int) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("worker lost")
            progress(done, total)

        real(*args, **{**kwargs, "progress": report})

    service.run_import = crashing  # type: ignore[assignment]
    try:
        assert admin.post(f"/imports/batches/{first['id']}/confirm").status_code == 202
        work(app)  # attempt 1 fails after chunk 1; the retry waits for its backoff
    finally:
        service.run_import = real  # type: ignore[assignment]
    assert customer_count(app, tenant_a) == service.CHUNK
    retry_now(app)
    work(app)
    done = batch(admin, first["id"])
    assert (done["state"], done["imported_rows"]) == ("done", 1200)
    assert customer_count(app, tenant_a) == 1200

    # a re-saved copy: amounts as numbers, dates as dates, another file name
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    keys = [c.value for c in sheet[2]]
    income, contact = keys.index("monthly_income") + 1, keys.index("first_contact") + 1
    from datetime import date
    from decimal import Decimal

    for row in range(3, 3 + len(rows)):
        sheet.cell(row=row, column=income).value = float(
            Decimal(sheet.cell(row=row, column=income).value)
        )
        sheet.cell(row=row, column=contact).value = date.fromisoformat(
            sheet.cell(row=row, column=contact).value
        )
    buffer = io.BytesIO()
    book.save(buffer)
    copy = previewed(app, admin, buffer.getvalue(), "copy.xlsx")
    assert (copy["ok_rows"], copy["duplicate_rows"]) == (0, 1200)


def retry_now(app: Flask) -> None:
    from sqlalchemy import update

    from loandesk.db import utcnow
    from loandesk.jobs.database import Job

    with app.app_context(), app.extensions["loandesk"].db.transaction() as session:
        session.execute(update(Job).where(Job.state == "failed").values(run_after=utcnow()))


def test_import_needs_the_permission(app, client, tenant_a, api_a) -> None:
    from tests.plugins.customers.conftest import add_staff

    assert api_a.put("/plugins/customers", json={"enabled": True}).status_code == 200
    company = api_a.get("/org-units").get_json()["items"][0]["id"]
    officer = add_staff(app, client, tenant_a, "officer", ["credit_officer"], company)
    data = sheet_of(["name", "mobile"], ["姓名", "手机号"], [valid_row(1)])
    response = upload(officer.api, data)
    assert response.status_code == 403
    assert "records.import" in response.get_json()["message"]
    assert officer.api.get("/imports/customer/template").status_code == 403


def test_batches_of_one_tenant_are_not_seen_by_another(app, admin, client, tenant_b) -> None:
    data = fill(template(admin), [valid_row(1)])
    found = previewed(app, admin, data)
    api_b = ApiClient(client, tenant_b.token)
    assert api_b.put("/plugins/customers", json={"enabled": True}).status_code == 200
    other = admin_api(app, client, tenant_b)
    assert other.get(f"/imports/batches/{found['id']}").status_code == 404
    assert other.get(f"/imports/batches/{found['id']}/rejected.xlsx").status_code == 404
    assert other.post(f"/imports/batches/{found['id']}/confirm").status_code == 404
    # the same rows are new to tenant B: fingerprints are per tenant
    theirs = previewed(
        app,
        other,
        sheet_of(
            ["name", "mobile", "loan_purpose"],
            ["a", "b", "c"],
            [{"name": "客户00001", "mobile": "13900000001"}],
        ),
    )
    assert theirs["ok_rows"] == 1


def test_not_an_xlsx_is_refused(app, admin) -> None:
    response = upload(admin, b"name,mobile\n", "customers.csv")
    assert response.status_code == 422
    assert response.get_json()["errors"]["file"]
    response = upload(admin, b"PK\x03\x04 not really", "customers.xlsx")
    assert response.status_code == 422
    unknown = sheet_of(["x"], ["序号"], [{"x": 1}])
    assert upload(admin, unknown).status_code == 422


def test_batch_ids_are_checked(app, admin) -> None:
    assert admin.get(f"/imports/batches/{uuid.uuid4()}").status_code == 404
