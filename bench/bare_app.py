"""The baseline of ``api_throughput.py`` and ``tenant_scale.py``: a bare Flask app reading the
same loan row and its installments with psycopg, one connection per gunicorn worker, as the
superuser: no token, no tenant, no row-level security, no ORM, no schema. Served by gunicorn
with ``loandesk serve``'s settings.

    BENCH_BARE_DATABASE_URL=postgresql://... gunicorn --chdir bench bare_app:app
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import psycopg
from flask import Flask, abort, jsonify
from psycopg.rows import dict_row

app = Flask(__name__)
_connection: list[psycopg.Connection[Any]] = []


def connection() -> psycopg.Connection[Any]:
    if not _connection or _connection[0].closed:
        _connection[:] = [
            psycopg.connect(
                os.environ["BENCH_BARE_DATABASE_URL"], autocommit=True, row_factory=dict_row
            )
        ]
    return _connection[0]


@app.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}


@app.get("/loans/<uuid:loan_id>")
def loan(loan_id: uuid.UUID) -> Any:
    db = connection()
    found = db.execute("select * from repayment_loans where id = %s", (loan_id,)).fetchone()
    if found is None:
        abort(404)
    found["installments"] = db.execute(
        "select * from repayment_installments where loan_id = %s and not superseded "
        "order by number",
        (loan_id,),
    ).fetchall()
    return jsonify(_plain(found))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)  # uuid, date, datetime, Decimal: as the API writes them, strings
