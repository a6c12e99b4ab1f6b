"""Helpers for the Excel import tests: an API client acting for the tenant admin, custom fields
defined and published, valid rows, and the in-process job runner."""

from __future__ import annotations

import functools
import io
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook

from tests.helpers import ApiClient, TenantFixture, fetch_token

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

CUSTOM_FIELDS = (
    {
        "key": "loan_purpose",
        "kind": "select",
        "label_zh": "借款用途",
        "label_en": "Loan purpose",
        "required": True,
        "rules": {
            "options": [
                {"value": "consume", "label_zh": "消费", "label_en": "Consumption"},
                {"value": "business", "label_zh": "经营", "label_en": "Business"},
            ]
        },
    },
    {
        "key": "years_employed",
        "kind": "integer",
        "label_zh": "工作年限",
        "label_en": "Years employed",
        "rules": {"minimum": "0", "maximum": "60"},
    },
    {"key": "has_car", "kind": "boolean", "label_zh": "有车", "label_en": "Owns a car"},
    {"key": "first_contact", "kind": "date", "label_zh": "首次接触", "label_en": "First contact"},
)


def resident_id(serial: int, birth: str | None = None) -> str:
    """A valid resident ID number (GB 11643 check digit) of 朝阳区, Beijing; different serials
    give different numbers (a tenant holds each number once), born a day apart every 1000."""
    if birth is None:
        birth = (date(1990, 1, 1) + timedelta(days=serial // 1000)).strftime("%Y%m%d")
    body = f"110105{birth}{serial % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def bad_check_digit(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last != "0" else "1")


def valid_row(i: int) -> dict[str, Any]:
    return {
        "name": f"客户{i:05d}",
        "id_number": resident_id(i),
        "mobile": f"139{i:08d}",
        "employer": "示例科技有限公司" if i % 3 else None,
        "monthly_income": f"{8000 + i % 500}.{i % 100:02d}",
        "loan_purpose": "消费" if i % 2 else "经营",
        "years_employed": i % 30,
        "has_car": "是" if i % 4 == 0 else "否",
        "first_contact": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
    }


def admin_api(app: Flask, client: FlaskClient, tenant: TenantFixture) -> ApiClient:
    """An API client acting for the tenant admin (who holds every permission)."""
    from loandesk.auth import clients
    from loandesk.tenancy import service, use

    ext = app.extensions["loandesk"]
    with app.app_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, tenant.slug).ref()):
            new = clients.create_client(
                session,
                tenant_id=uuid.UUID(tenant.id),
                name="admin acting",
                scopes=list(clients.SCOPES),
                created_by_id=None,
                acts_as_id=uuid.UUID(tenant.admin_user_id),
            )
            client_id, secret = new.client.client_id, new.client_secret
    token = fetch_token(client, client_id, secret).get_json()["access_token"]
    return ApiClient(client, token)


def define_custom_fields(app: Flask, tenant: TenantFixture) -> None:
    """The custom fields above, defined and published through ``loandesk.fields.definitions``."""
    from loandesk.fields import definitions
    from loandesk.plugins import runtime
    from loandesk.tenancy import service, use

    ext = app.extensions["loandesk"]
    with app.test_request_context(), ext.db.transaction() as session:
        with use(service.get_by_slug(session, tenant.slug).ref()):
            record_type = runtime.record_type("customer")
            for values in CUSTOM_FIELDS:
                definitions.define_field(session, record_type, values, record_types=["customer"])
            definitions.publish(session, record_type, user_id=uuid.UUID(tenant.admin_user_id))


def work(app: Flask) -> int:
    """Run the queued import jobs in this process (the jobs are kept in the database); the
    events the imported records raise are not delivered here."""
    from loandesk.jobs.database import DatabaseBackend
    from loandesk.jobs.runtime import execute

    registry = app.extensions["loandesk.jobs"]
    assert isinstance(registry.backend, DatabaseBackend)
    return int(registry.backend.work(functools.partial(execute, app), ["default"], burst=True))


def fill(template: bytes, rows: Sequence[dict[str, Any]]) -> bytes:
    """The template with ``rows`` (field key -> cell value) from row 3 on."""
    book = load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    keys = [c.value for c in sheet[2]]
    for offset, row in enumerate(rows):
        for index, key in enumerate(keys, start=1):
            if key in row and row[key] is not None:
                sheet.cell(row=3 + offset, column=index, value=row[key])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sheet_of(keys: Sequence[str], headers: Sequence[str], rows: Sequence[dict[str, Any]]) -> bytes:
    """A workbook like the template (headers, hidden keys row, data), written fast."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(list(headers))
    sheet.append([*keys, "#keys"])
    for row in rows:
        sheet.append([row.get(k) for k in keys])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(api: ApiClient, data: bytes, name: str = "customers.xlsx") -> Any:
    return api.post(
        "/imports/customer",
        data={"file": (io.BytesIO(data), name, XLSX)},
        content_type="multipart/form-data",
    )


def batch(api: ApiClient, batch_id: str) -> dict[str, Any]:
    response = api.get(f"/imports/batches/{batch_id}")
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def rejected(api: ApiClient, batch_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        body = api.get(f"/imports/batches/{batch_id}/rejected?page={page}&per_page=100").get_json()
        found.extend(body["items"])
        if page * 100 >= body["total"]:
            return found
        page += 1
