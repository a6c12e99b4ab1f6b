"""Searchable custom fields on PostgreSQL: their values kept as sortable text in
``field_search_values``, so that a filter is an index scan under row-level security.

Why not an expression index on the JSON column: with row-level security on, PostgreSQL lets a
query's condition into an index scan only if every function in it is LEAKPROOF; ``jsonb ->>``,
text-to-number casts and ``numeric`` comparisons are not, and only a superuser can declare a
function LEAKPROOF. Text equality and order (``texteq``, ``text_lt``, ...) and ``uuid``
equality are. So each value of a searchable field is also written here, encoded so that byte
order ("C" collation) is the value's order (``sortable``), and a filter becomes
``id IN (SELECT record_id FROM field_search_values WHERE record_type = .. AND key = .. AND
value >= ..)`` — an index range scan on ``(tenant_id, record_type, key, value, record_id)``.

Rows follow every write through a flush listener (``install``); ``sync`` (job
``core.sync_field_search``, after a publish that changes what is searchable) fills them for
records written before a field became searchable and deletes those of fields no longer
searchable. SQLite keeps filtering on the JSON column: it has no row-level security.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, event, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from loandesk.db import uuid7
from loandesk.fields.models import FieldSearchValue
from loandesk.fields.registry import NUMERIC_KINDS, FieldSpec, RecordType

log = logging.getLogger(__name__)
WIDTH = 20  # digits before the point: |value| < 10**20
PLACES = 6  # digits after it (a decimal field has at most 6 places)
BATCH = 2000
OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "empty", "not_empty")


def sortable(spec: FieldSpec, value: Any) -> list[str]:
    """The search texts of a field's Python value (several for a multi select): numbers so
    that byte order is numeric order, date-times in UTC at a fixed width, the rest as is."""
    if value is None:
        return []
    if isinstance(value, list):
        return [t for item in value for t in sortable(spec, item)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if spec.value_kind in NUMERIC_KINDS:
        return [_number(Decimal(value))]
    if isinstance(value, datetime):
        return [value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")]
    if isinstance(value, date):
        return [value.isoformat()]
    return [str(value)[:300]]


def _number(number: Decimal) -> str:
    """'1' + 20 integer digits + '.' + 6 fraction digits for 0 and above; below 0, '0' and
    every digit's complement (9 - d), so that -2 sorts before -1."""
    fixed = f"{abs(number):0{WIDTH + PLACES + 1}.{PLACES}f}"
    if number >= 0:
        return "1" + fixed
    return "0" + "".join(c if c == "." else str(9 - int(c)) for c in fixed)


def stored_texts(spec: FieldSpec, raw: Any) -> list[str]:
    """The search texts of a value as the ``custom`` JSON holds it (a personal kind: its
    keyed hash, so that whole values are found without decrypting)."""
    from loandesk.fields.values import from_json

    if raw is None:
        return []
    if spec.encrypted:
        digest = raw.get("h") if isinstance(raw, dict) else None
        return [digest] if digest else []
    return sortable(spec, from_json(spec, raw))


def clause(
    model: Any, spec: FieldSpec, op: str, value: Any, keys: Any = None
) -> ColumnElement[bool]:
    """A WHERE clause on searchable custom field ``spec`` of ``model`` through its search
    rows; ``value`` is parsed (a list for ``in``)."""
    rows = select(FieldSearchValue.record_id).where(
        FieldSearchValue.record_type == _record_type_of(model),
        FieldSearchValue.key == spec.key,
    )
    if op in ("empty", "not_empty"):
        present = model.id.in_(rows)
        return ~present if op == "empty" else present
    if spec.encrypted:
        digest = keys.search_hash(spec.kind, str(value)) if keys is not None else None
        texts = [digest or "-"]
    elif op == "in":
        texts = [t for item in value for t in sortable(spec, item)]
    else:
        texts = sortable(spec, value)
    column = FieldSearchValue.value
    if op in ("eq", "ne", "in"):
        found = model.id.in_(
            rows.where(column.in_(texts) if len(texts) != 1 else column == texts[0])
        )
        return ~found if op == "ne" else found
    compare = {"lt": column.__lt__, "le": column.__le__, "gt": column.__gt__, "ge": column.__ge__}
    return model.id.in_(rows.where(compare[op](texts[0])))


# --- keeping rows in step with writes -----------------------------------------------------

_MODELS: dict[type, str] = {}


def _record_type_of(model: Any) -> str:
    if model not in _MODELS:
        from loandesk.plugins import runtime

        host = runtime.host()
        for record_type in host.record_types(sorted(host.contributions)):
            _MODELS[record_type.model] = record_type.key
    return _MODELS[model]


def install() -> None:
    """Keep search rows in step with every flush of a record with custom values."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def _after_flush(session: Session, _context: Any) -> None:
    from loandesk.fields.models import CustomValues

    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    changed: list[Any] = []
    removed: list[Any] = []
    for record in session.new:
        if isinstance(record, CustomValues):
            changed.append(record)
    for record in session.dirty:
        if isinstance(record, CustomValues) and _custom_changed(record):
            changed.append(record)
    for record in session.deleted:
        if isinstance(record, CustomValues):
            removed.append(record)
    if not changed and not removed:
        return
    connection = session.connection()
    by_type: dict[str, list[Any]] = {}
    for record in changed + removed:
        by_type.setdefault(_record_type_of(type(record)), []).append(record)
    for record_type, records in by_type.items():
        searchable = _searchable(session, type(records[0]), record_type)
        ids = [r.id for r in records]
        tenant_ids = {r.tenant_id for r in records}
        connection.execute(
            delete(FieldSearchValue).where(
                FieldSearchValue.tenant_id.in_(tenant_ids),
                FieldSearchValue.record_type == record_type,
                FieldSearchValue.record_id.in_(ids),
            )
        )
        rows = [
            row
            for record in records
            if record not in removed
            for row in _rows(record_type, record.tenant_id, record.id, record.custom, searchable)
        ]
        if rows:
            connection.execute(insert(FieldSearchValue), rows)


def _custom_changed(record: Any) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(record).attrs.custom.history.has_changes())


def _searchable(session: Session, model: Any, record_type: str) -> list[FieldSpec]:
    from flask import has_app_context

    from loandesk.fields.forms import published_form
    from loandesk.plugins import runtime

    host = runtime.host()
    declared = next(
        t for t in host.record_types(sorted(host.contributions)) if t.key == record_type
    )
    if has_app_context():
        from loandesk.fields.current import current_form

        form = current_form(declared)
    else:
        form = published_form(session, declared)
    return [f for f in form.custom_fields if f.searchable]


def _rows(
    record_type: str,
    tenant_id: uuid.UUID,
    record_id: uuid.UUID,
    custom: dict[str, Any] | None,
    searchable: Iterable[FieldSpec],
) -> Iterator[dict[str, Any]]:
    for spec in searchable:
        for value in stored_texts(spec, (custom or {}).get(spec.key)):
            yield {
                "tenant_id": tenant_id,
                "id": uuid7(),
                "record_type": record_type,
                "key": spec.key,
                "value": value,
                "record_id": record_id,
            }


# --- after publishing -----------------------------------------------------------------------


def sync(engine: Engine, record_types: Iterable[RecordType]) -> dict[str, int]:
    """For every tenant's latest published forms: delete the search rows of fields no longer
    searchable, and write those missing for records saved before a field became searchable.
    Returns counts per "record_type.key" (rows written) and "-record_type.key" (deleted).
    Row-level security binds the owner too: each tenant is read and written as itself."""
    from loandesk.fields.forms import spec_of

    counts: dict[str, int] = {}
    if engine.dialect.name != "postgresql":
        return counts
    types = {t.key: t for t in record_types}
    with engine.connect() as connection:
        tenants = [t for (t,) in connection.execute(text("select id from tenants")).all()]
    for tenant_id in tenants:
        with engine.begin() as connection:
            _as_tenant(connection, tenant_id)
            for record_type, layout in _latest_layouts(connection):
                declared = types.get(record_type)
                if declared is None:
                    continue
                wanted = [spec_of(f) for f in layout.get("fields", ()) if f.get("searchable")]
                keys = [s.key for s in wanted]
                gone = connection.execute(
                    delete(FieldSearchValue)
                    .where(
                        FieldSearchValue.record_type == record_type,
                        FieldSearchValue.key.not_in(keys)
                        if keys
                        else FieldSearchValue.key.is_not(None),
                    )
                    .returning(FieldSearchValue.key)
                ).all()
                for (key,) in gone:
                    counts[f"-{record_type}.{key}"] = counts.get(f"-{record_type}.{key}", 0) + 1
                for spec in wanted:
                    written = _fill(connection, declared, spec, tenant_id)
                    if written:
                        counts[f"{record_type}.{spec.key}"] = written
    if counts:
        log.info("custom field search rows: %s", counts)
    return counts


def _as_tenant(connection: Connection, tenant_id: Any) -> None:
    connection.execute(
        text("select set_config('app.tenant_id', :tenant, true)"), {"tenant": str(tenant_id)}
    )


def _latest_layouts(connection: Connection) -> list[tuple[str, dict[str, Any]]]:
    import json

    rows = connection.execute(
        text(
            "select fv.record_type, fv.layout from form_versions fv where fv.number = ("
            " select max(number) from form_versions o"
            " where o.tenant_id = fv.tenant_id and o.record_type = fv.record_type)"
        )
    ).all()
    return [(r, layout if isinstance(layout, dict) else json.loads(layout)) for r, layout in rows]


def _fill(connection: Connection, declared: RecordType, spec: FieldSpec, tenant_id: Any) -> int:
    """Write the search rows of ``spec`` for the tenant's records that have a value and no
    row for it yet, in batches (a restart goes on where it stopped)."""
    model: Any = declared.model
    table = model.__table__
    written = 0
    last: Any = None
    while True:
        has_row = select(FieldSearchValue.record_id).where(
            FieldSearchValue.record_type == declared.key, FieldSearchValue.key == spec.key
        )
        query = (
            select(table.c.id, table.c.custom)
            .where(table.c.id.not_in(has_row))
            .where(text(f"{table.name}.custom ? :key").bindparams(key=spec.key))
            .order_by(table.c.id)
            .limit(BATCH)
        )
        if last is not None:
            query = query.where(table.c.id > last)
        batch = connection.execute(query).all()
        if not batch:
            return written
        rows = [
            row
            for record_id, custom in batch
            for row in _rows(declared.key, tenant_id, record_id, custom, [spec])
        ]
        if rows:
            connection.execute(insert(FieldSearchValue), rows)
            written += len(rows)
        last = batch[-1][0]


def schedule(session: Session) -> None:
    """Ask for ``sync`` once this transaction has committed (PostgreSQL only)."""
    from loandesk.jobs.runtime import enqueue

    if session.get_bind().dialect.name != "postgresql":
        return
    event.listen(
        session, "after_commit", lambda _s: enqueue("core.sync_field_search", None), once=True
    )
