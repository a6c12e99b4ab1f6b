"""Import customers from Excel through the real import path, against a bare COPY baseline.

On PostgreSQL (its own database, dropped at the end): a tenant with customers enabled and 10
custom fields published; a workbook of N rows (``--rows``, default 100,000). The import path
is everything a user's upload goes through: the upload checks, the preview job validating
every row, the import job writing each valid row through the customers' ``create`` service
(validation, encryption of personal data, audit event, domain event) with its fingerprint.
The baseline copies the same number of rows into the same table with psycopg's COPY in the
same run (no validation, no encryption, no audit). Prints both rates and their ratio.

    .venv/bin/python bench/import_customers.py --rows 2000
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import Database, admin_password, plugin_folders
from results import Row, write_rows

from loandesk import migrate
from loandesk.app import create_app
from loandesk.settings import Settings

CUSTOM = [
    ("purpose", "select", "借款用途"),
    ("years_employed", "integer", "工作年限"),
    ("has_car", "boolean", "有车"),
    ("first_contact", "date", "首次接触"),
    ("credit_limit", "money", "授信额度"),
    ("rate", "percent", "利率"),
    ("email", "email", "邮箱"),
    ("company_size", "integer", "公司规模"),
    ("education", "select", "学历"),
    ("remark", "text", "说明"),
]
OPTIONS = {
    "purpose": [("consume", "消费", "Consumption"), ("business", "经营", "Business")],
    "education": [("college", "本科", "College"), ("high", "高中", "High school")],
}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(serial: int) -> str:
    body = f"110105{1960 + serial % 40}0{1 + serial % 9}1{serial % 10}{serial % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def row(i: int) -> dict[str, Any]:
    return {
        "name": f"客户{i:06d}",
        "id_number": resident_id(i),
        "mobile": f"13{i % 10}{i:08d}"[:11],
        "employer": "示例科技有限公司",
        "monthly_income": f"{8000 + i % 500}.{i % 100:02d}",
        "purpose": "消费" if i % 2 else "经营",
        "years_employed": i % 30,
        "has_car": "是" if i % 4 == 0 else "否",
        "first_contact": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "credit_limit": f"{50000 + i % 1000}.00",
        "rate": "12.5",
        "email": f"c{i}@example.cn",
        "company_size": 10 + i % 500,
        "education": "本科" if i % 3 else "高中",
        "remark": f"第 {i} 位",
    }


def workbook(rows: int) -> tuple[bytes, list[str]]:
    keys = list(row(0))
    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(keys)
    sheet.append([*keys, "#keys"])
    for i in range(rows):
        values = row(i)
        sheet.append([values[k] for k in keys])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), keys


def setup_tenant(app: Any) -> tuple[Any, Any]:
    """A tenant with customers enabled and the 10 custom fields published; its admin."""
    from sqlalchemy import select

    from loandesk.auth.models import User
    from loandesk.fields import definitions
    from loandesk.plugins import runtime
    from loandesk.plugins import service as plugins
    from loandesk.tenancy import service, use

    db = app.extensions["loandesk"].db
    with app.test_request_context(), db.transaction() as session:
        result = service.sign_up(
            session,
            name="压测小贷",
            slug="bench",
            admin_email="admin@bench.example.cn",
            admin_password=admin_password(),
        )
        tenant = result.tenant
        with use(tenant.ref()):
            plugins.set_enabled(
                session,
                runtime.host(),
                tenant_id=tenant.id,
                name="customers",
                enabled=True,
                acting_user_id=None,
            )
            session.flush()
    with app.test_request_context(), db.transaction() as session:
        tenant = service.get_by_slug(session, "bench")
        with use(tenant.ref()):
            record_type = runtime.record_type("customer")
            for key, kind, label in CUSTOM:
                rules: dict[str, Any] = {}
                if key in OPTIONS:
                    rules["options"] = [
                        {"value": v, "label_zh": zh, "label_en": en} for v, zh, en in OPTIONS[key]
                    ]
                definitions.define_field(
                    session,
                    record_type,
                    {"key": key, "kind": kind, "label_zh": label, "label_en": key, "rules": rules},
                    record_types=["customer"],
                )
            admin = session.scalar(select(User).where(User.email == "admin@bench.example.cn"))
            definitions.publish(session, record_type, user_id=admin.id)
            session.flush()
            return tenant.ref(), admin.id


def work(app: Any) -> None:
    from loandesk.jobs.runtime import execute

    registry = app.extensions["loandesk.jobs"]
    registry.backend.work(functools.partial(execute, app), ["default"], burst=True)


def import_path(app: Any, tenant: Any, admin_id: uuid.UUID, data: bytes) -> dict[str, Any]:
    from flask import g
    from sqlalchemy import select

    from loandesk.auth.models import User
    from loandesk.fields.current import current_form
    from loandesk.imports import service
    from loandesk.imports.models import ImportBatch
    from loandesk.jobs.runtime import enqueue
    from loandesk.rbac.current import record_access
    from loandesk.tenancy import use

    db = app.extensions["loandesk"].db
    with app.test_request_context(), use(tenant):
        session = db.session()
        user = session.scalar(select(User).where(User.id == admin_id))
        g.user = user
        batch = service.upload(
            session,
            current_form("customer"),
            record_access("customer"),
            user=user,
            filename="bench.xlsx",
            data=data,
            locale="zh_CN",
        )
        session.commit()
        batch_id = batch.id
        enqueue("core.import_preview", tenant.id, str(batch_id))
        db.session.remove()
    started = time.perf_counter()
    work(app)
    print(f"  preview job (read and validate every row): {time.perf_counter() - started:8.1f} s")
    with app.test_request_context(), use(tenant):
        session = db.session()
        user = session.scalar(select(User).where(User.id == admin_id))
        batch = session.scalar(select(ImportBatch).where(ImportBatch.id == batch_id))
        service.confirm(session, batch, user)
        session.commit()
        enqueue("core.import_run", tenant.id, str(batch_id))
        db.session.remove()
    started = time.perf_counter()
    work(app)
    print(f"  import job (write the valid rows):          {time.perf_counter() - started:8.1f} s")
    with app.app_context(), use(tenant):
        session = db.session()
        batch = session.scalar(select(ImportBatch).where(ImportBatch.id == batch_id))
        result = {k: getattr(batch, k) for k in ("state", "imported_rows", "error_rows")}
        db.session.remove()
    return result


def copy_baseline(
    url: str, tenant: Any, owner_id: uuid.UUID, unit_id: uuid.UUID, rows: int
) -> None:
    """The same rows into the same table with COPY: values as they come, nothing checked.
    As the superuser: PostgreSQL refuses COPY FROM into a table under row-level security."""
    columns = (
        "tenant_id", "id", "name", "employer", "monthly_income", "status", "owner_id",
        "org_unit_id", "created_at", "updated_at", "custom", "mobile_enc", "id_number_enc",
    )  # fmt: skip
    with psycopg.connect(url) as conn:
        with conn.cursor().copy(
            f"COPY customers_customers ({', '.join(columns)}) FROM STDIN"
        ) as copy:
            for i in range(rows):
                values = row(i)
                custom = {k: values[k] for k, _, _ in CUSTOM}
                copy.write_row(
                    (
                        tenant.id, uuid.uuid4(), values["name"], values["employer"],
                        int(values["monthly_income"].replace(".", "")), "active", owner_id,
                        unit_id, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00",
                        json.dumps(custom, ensure_ascii=False), values["mobile"],
                        values["id_number"],
                    )
                )  # fmt: skip
        conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", metavar="PATH", help="also write the result rows as JSON")
    args = parser.parse_args()
    print(f"building a workbook of {args.rows:,} rows …", flush=True)
    data, _keys = workbook(args.rows)
    print(f"workbook: {len(data) / 1024 / 1024:.1f} MB", flush=True)
    with Database(args.postgres) as database, tempfile.TemporaryDirectory() as instance:
        settings = Settings(
            database_url=database.app_url,
            migration_database_url=database.owner_url,
            instance_path=Path(instance),
        )
        migrate.upgrade(settings, plugin_folders())
        app = create_app(settings)
        try:
            tenant, admin_id = setup_tenant(app)
            started = time.perf_counter()
            result = import_path(app, tenant, admin_id, data)
            imported = time.perf_counter() - started
            assert result["imported_rows"] == args.rows, result
            unit_id = _unit_of(app, tenant, admin_id)
            started = time.perf_counter()
            copy_baseline(database.superuser_url, tenant, admin_id, unit_id, args.rows)
            copied = time.perf_counter() - started
        finally:
            app.extensions["loandesk"].db.dispose()
    import_rate, copy_rate = args.rows / imported, args.rows / copied
    print(f"rows: {args.rows:,} customers, 10 custom fields")
    print(f"import path (upload, preview, import): {imported:8.1f} s  {import_rate:10,.0f} rows/s")
    print(f"COPY baseline (same rows, same table): {copied:8.1f} s  {copy_rate:10,.0f} rows/s")
    print(f"ratio COPY / import: {copy_rate / import_rate:,.1f}x")
    write_rows(args.json, [
        Row("import_customers", f"Excel import, {args.rows:,} rows", import_rate, "rows/s",
            "COPY", copy_rate, copy_rate / import_rate, "COPY / import"),
    ])  # fmt: skip


def _unit_of(app: Any, tenant: Any, user_id: uuid.UUID) -> uuid.UUID:
    from loandesk.rbac.org import unit_of
    from loandesk.tenancy import use

    with app.app_context(), use(tenant), app.extensions["loandesk"].db.transaction() as session:
        return unit_of(session, user_id)


if __name__ == "__main__":
    main()
