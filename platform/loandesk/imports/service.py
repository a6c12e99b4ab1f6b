"""Importing records from Excel, step by step; no Flask here (the jobs set up what they need).

1. ``upload``: the workbook is checked (size, .xlsx, a header row that maps to fields) and
   kept with its batch; the adapter enqueues the preview job.
2. ``preview``: every row goes through ``validate_record`` (the one validation path) as the
   uploader, and is recorded as ok, error (each problem with its column) or duplicate (its
   fingerprint was imported before, or the row repeats an earlier one). Nothing is written.
3. ``confirm``: the uploader accepts the preview; the adapter enqueues the import job.
4. ``run_import``: the ok rows are validated again (the form may have changed) and written
   through the record type's ``create``, in committed batches, each with its fingerprint. A
   retried job skips the rows whose fingerprint is there: nothing is created twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.db import utcnow, uuid7
from loandesk.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from loandesk.fields.forms import Form
from loandesk.fields.registry import FieldSpec, RecordType
from loandesk.fields.validation import validate_record
from loandesk.fields.values import Context
from loandesk.i18n import N_
from loandesk.imports import sheets
from loandesk.imports.models import ImportBatch, ImportedRow, ImportRow
from loandesk.pii.keys import Keyring
from loandesk.rbac.access import RecordAccess

PERMISSION = "records.import"
MAX_BYTES = 16 * 1024 * 1024  # as the app's request limit
MAX_ROWS = 100_000
CHUNK = 500  # rows validated, written and committed together
NOT_IMPORTED = ("read_only",)
SKIPPED_KINDS = ("attachment", "computed")  # an upload has no file; a formula is computed


def importable(record_type: RecordType) -> RecordType:
    if record_type.create is None:
        raise NotFound(N_("Records of this type cannot be imported."))
    return record_type


def importable_fields(form: Form, access: RecordAccess) -> list[FieldSpec]:
    """The template's columns: fields the user may edit, in form order (built-in first)."""
    return [
        spec
        for spec in form.ordered()
        if not spec.read_only
        and spec.kind not in SKIPPED_KINDS
        and access.access(spec.key) == "edit"
    ]


def require_permission(user: Any) -> None:
    if not user.can(PERMISSION):
        raise Forbidden(
            N_("You lack the permission %(permission)s."), params={"permission": PERMISSION}
        )


def _file_problem(text: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(
        N_("The file cannot be imported."), errors={"file": [text % params if params else text]}
    )


# --- 1. upload ----------------------------------------------------------------------------


def upload(
    session: Session,
    form: Form,
    access: RecordAccess,
    *,
    user: Any,
    filename: str,
    data: bytes,
    locale: str,
    translate: Callable[..., str] = lambda text, **p: text % p if p else text,
) -> ImportBatch:
    """A new batch for ``data`` (an .xlsx), waiting for its preview."""
    require_permission(user)
    importable(form.record_type)
    access.require_read()
    fields = importable_fields(form, access)
    if not fields:
        raise Forbidden(N_("You may not enter any field of these records."))
    name = (filename or "").strip().replace("\\", "/").rsplit("/", 1)[-1][:200]
    if not name.lower().endswith(".xlsx"):
        raise _file_problem(translate(N_("Upload an Excel workbook (.xlsx).")))
    if not data:
        raise _file_problem(translate(N_("The file is empty.")))
    if len(data) > MAX_BYTES:
        raise _file_problem(
            translate(N_("The file is larger than %(size)s MB."), size=MAX_BYTES // 1024 // 1024)
        )
    try:
        sheet = sheets.layout(data, fields)
    except sheets.UnreadableSheet as problem:
        raise _file_problem(translate(problem.message, **problem.params)) from None
    batch = ImportBatch(
        record_type=form.record_type.key,
        filename=name,
        size=len(data),
        locale=locale,
        content=data,
        state="previewing",
        columns=[{"letter": c.letter, "header": c.header, "key": c.key} for c in sheet.columns],
        warnings=[],
        created_by_id=user.id,
    )
    session.add(batch)
    session.flush()
    audit.record(
        session,
        "import.upload",
        form.record_type.key,
        None,
        {"batch": str(batch.id), "file": name, "bytes": len(data)},
    )
    return batch


def get_batch(session: Session, batch_id: uuid.UUID, user: Any) -> ImportBatch:
    """The batch, for the user who uploaded it or a tenant admin (its file holds the data
    of every row); ``NotFound`` otherwise."""
    batch = session.scalar(select(ImportBatch).where(ImportBatch.id == batch_id))
    if batch is None or not (batch.created_by_id == user.id or user.is_admin):
        raise NotFound(N_("No such import."))
    return batch


def batches(session: Session, record_type: str, user: Any, *, limit: int = 20) -> list[ImportBatch]:
    query = select(ImportBatch).where(ImportBatch.record_type == record_type)
    if not user.is_admin:
        query = query.where(ImportBatch.created_by_id == user.id)
    return list(session.scalars(query.order_by(ImportBatch.created_at.desc()).limit(limit)))


# --- what a job needs ---------------------------------------------------------------------


@dataclass
class Run:
    """What the preview and import jobs work with: the form as the uploader may fill it."""

    form: Form
    access: RecordAccess
    fields: list[FieldSpec]
    sheet: sheets.Sheet
    context: Context
    keys: Keyring
    locale: str

    def columns(self) -> dict[str, sheets.Column]:
        return {c.key: c for c in self.sheet.columns if c.key}

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        clean = validate_record(
            self.form,
            values,
            access=self.access,
            context=self.context,
            writable=[f.key for f in self.fields],
        )
        return clean.all

    def entered(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` as ``create`` takes them: staff named by the sheet given by their id
        (the record type's own validation knows ids, not names)."""
        entered = dict(values)
        for key, value in values.items():
            if self.form.field(key).kind == "user" and isinstance(value, str):
                entered[key] = self.context.users_by_name.get(value.strip(), value)
        return entered

    def fingerprint(self, clean: Mapping[str, Any]) -> str:
        """A keyed SHA-256 (HMAC with the tenant's search key) of the row's normalised
        values: a re-saved copy of a sheet, whatever its cells' types, gives the same."""
        canonical = json.dumps(
            {k: _plain(v) for k, v in sorted(clean.items()) if v is not None and v != []},
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        digest = self.keys.search_hash("text", f"{self.form.record_type.key}\x00{canonical}")
        assert digest is not None  # ensure_search_key ran first
        return digest


def ensure_search_key(keys: Keyring, batch: ImportBatch) -> None:
    """Fingerprints are keyed with the tenant's search key, which exists once the tenant has
    a data key; the first encryption creates it."""
    if keys.current_version is None:
        keys.encrypt("", record_type="import", field="fingerprint", record_id=batch.id)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _problems(run: Run, failure: DomainError) -> list[dict[str, str]]:
    columns = run.columns()
    found = []
    for key, messages in (failure.errors or {}).items():
        column = columns.get(key)
        label = run.form.field(key).label(run.locale) if run.form.has(key) else key
        for text in messages:
            found.append(
                {
                    "column": column.letter if column else "",
                    "header": column.header if column and column.header else label,
                    "message": str(text),
                }
            )
    if not found:
        found.append({"column": "", "header": "", "message": str(failure.message)})
    return found


# --- 2. preview ---------------------------------------------------------------------------


def preview(
    session: Session, batch: ImportBatch, run: Run, *, progress: Callable[[int, int], None]
) -> None:
    """Validate every row of ``batch`` and record what was found; writes no record."""
    # A retried preview starts over. Chunks are committed as they go, and progress is told
    # between transactions (on SQLite a write would wait for the job's open one).
    session.execute(delete(ImportRow).where(ImportRow.batch_id == batch.id))
    ensure_search_key(run.keys, batch)
    session.commit()
    assert batch.content is not None
    seen: set[str] = set()
    chunk: list[dict[str, Any]] = []
    total = 0
    expected = sheets.row_count(batch.content, run.sheet)
    progress(0, expected)
    for total, (number, values) in enumerate(sheets.rows(batch.content, run.sheet), start=1):
        if total > MAX_ROWS:
            raise TooManyRows()
        entry: dict[str, Any] = {"row": number, "errors": [], "fingerprint": None}
        try:
            clean = run.validate(values)
        except (ValidationFailed, Forbidden) as failure:
            entry.update(status="error", errors=_problems(run, failure))
        else:
            fingerprint = run.fingerprint(clean)
            entry.update(
                fingerprint=fingerprint, status="duplicate" if fingerprint in seen else "ok"
            )
            seen.add(fingerprint)
        chunk.append(entry)
        if len(chunk) >= CHUNK:
            _store_preview(session, batch, run, chunk)
            session.commit()
            chunk = []
            progress(total, max(expected, total))
    _store_preview(session, batch, run, chunk)
    _count(session, batch)
    batch.state = "previewed"
    session.flush()


class TooManyRows(Exception):
    pass


def _store_preview(
    session: Session, batch: ImportBatch, run: Run, chunk: list[dict[str, Any]]
) -> None:
    if not chunk:
        return
    prints = [e["fingerprint"] for e in chunk if e["status"] == "ok"]
    known = set(_imported(session, run.form.record_type.key, prints))
    for entry in chunk:
        if entry["status"] == "ok" and entry["fingerprint"] in known:
            entry["status"] = "duplicate"
    session.execute(
        insert(ImportRow),
        [
            {
                "tenant_id": batch.tenant_id,
                "id": uuid7(),
                "batch_id": batch.id,
                "record_id": None,
                **entry,
            }
            for entry in chunk
        ],
    )


def _imported(session: Session, record_type: str, prints: Sequence[str]) -> dict[str, ImportedRow]:
    if not prints:
        return {}
    rows = session.scalars(
        select(ImportedRow).where(
            ImportedRow.record_type == record_type, ImportedRow.fingerprint.in_(prints)
        )
    )
    return {r.fingerprint: r for r in rows}


def _count(session: Session, batch: ImportBatch) -> None:
    counts = dict(
        session.execute(
            select(ImportRow.status, func.count())
            .where(ImportRow.batch_id == batch.id)
            .group_by(ImportRow.status)
        ).all()
    )
    batch.ok_rows = counts.get("ok", 0)
    batch.error_rows = counts.get("error", 0)
    batch.duplicate_rows = counts.get("duplicate", 0)
    batch.imported_rows = counts.get("imported", 0)
    batch.total_rows = sum(counts.values())


def fail(batch: ImportBatch, problem: str) -> None:
    batch.state = "failed"
    batch.problem = problem[:500]
    batch.finished_at = utcnow()


# --- 3. confirm ---------------------------------------------------------------------------


def confirm(session: Session, batch: ImportBatch, user: Any) -> None:
    """Accept the preview: the batch moves to importing once, whoever clicks twice."""
    require_permission(user)
    if batch.state != "previewed":
        raise Conflict(N_("This import is not waiting for confirmation."))
    if not batch.ok_rows:
        raise Conflict(N_("No row of this file can be imported."))
    moved = session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.state == "previewed")
        .values(state="importing")
        .execution_options(synchronize_session=False)
    )
    if not getattr(moved, "rowcount", 0):
        raise Conflict(N_("This import is not waiting for confirmation."))
    batch.state = "importing"
    audit.record(
        session,
        "import.confirm",
        batch.record_type,
        None,
        {"batch": str(batch.id), "rows": batch.ok_rows},
    )


# --- 4. import ----------------------------------------------------------------------------


def run_import(
    session: Session,
    batch: ImportBatch,
    run: Run,
    *,
    owner_id: uuid.UUID,
    progress: Callable[[int, int], None],
) -> None:
    """Write the batch's ok rows, ``CHUNK`` at a time, each chunk committed with its rows'
    fingerprints and statuses (a crash loses at most the chunk in flight, and a retry skips
    what was committed)."""
    record_type = run.form.record_type
    importable(record_type)
    assert batch.content is not None
    pending: dict[int, str] = {
        row: fingerprint or ""
        for row, fingerprint in session.execute(
            select(ImportRow.row, ImportRow.fingerprint).where(
                ImportRow.batch_id == batch.id, ImportRow.status == "ok"
            )
        )
    }
    total = len(pending) + batch.imported_rows
    done = batch.imported_rows
    progress(done, total)
    for chunk in _chunks(
        ((n, v) for n, v in sheets.rows(batch.content, run.sheet) if n in pending), CHUNK
    ):
        known = _imported(session, record_type.key, [pending[n] for n, _ in chunk])
        outcome: dict[int, dict[str, Any]] = {}
        fresh: list[tuple[int, Mapping[str, Any]]] = []
        for number, values in chunk:
            previous = known.get(pending[number])
            if previous is not None:  # committed before: by this batch (a retry) or another
                mine = previous.batch_id == batch.id
                outcome[number] = {
                    "status": "imported" if mine else "duplicate",
                    "record_id": previous.record_id if mine else None,
                }
            else:
                fresh.append((number, run.entered(values)))
        # The record type's own service validates (the one validation path) before it writes
        # anything: a refused row leaves no trace. A database error fails the chunk, and the
        # job's retry starts after the last committed one.
        for (number, _), result in zip(fresh, _create(session, run, fresh, owner_id), strict=True):
            if isinstance(result, DomainError):
                outcome[number] = {"status": "error", "errors": _problems(run, result)}
            else:
                outcome[number] = {"status": "imported", "record_id": result.id}
        imported = [(n, o["record_id"]) for n, o in outcome.items() if o["status"] == "imported"]
        new_prints = [
            {
                "tenant_id": batch.tenant_id,
                "id": uuid7(),
                "record_type": record_type.key,
                "fingerprint": pending[number],
                "record_id": record_id,
                "batch_id": batch.id,
            }
            for number, record_id in imported
            if known.get(pending[number]) is None
        ]
        if new_prints:
            session.execute(insert(ImportedRow), new_prints)
        for status in ("imported", "duplicate", "error"):
            updates = [
                {
                    "b_row": n,
                    "b_status": o["status"],
                    "b_record": o.get("record_id"),
                    "b_errors": o.get("errors"),
                }
                for n, o in outcome.items()
                if o["status"] == status
            ]
            if not updates:
                continue
            values_of: dict[str, Any] = {
                "status": bindparam("b_status"),
                "record_id": bindparam("b_record"),
            }
            if status == "error":
                values_of["errors"] = bindparam("b_errors", type_=ImportRow.errors.type)
            table: Any = ImportRow.__table__
            session.connection().execute(
                update(table)
                .where(
                    table.c.tenant_id == batch.tenant_id,
                    table.c.batch_id == batch.id,
                    table.c.row == bindparam("b_row"),
                )
                .values(**values_of),
                [
                    {k: v for k, v in u.items() if status == "error" or k != "b_errors"}
                    for u in updates
                ],
            )
        done += len(chunk)
        _count(session, batch)
        session.commit()
        progress(done, total)
    _count(session, batch)
    batch.state = "done"
    batch.finished_at = utcnow()
    audit.record(
        session,
        "import.finish",
        record_type.key,
        None,
        {
            "batch": str(batch.id),
            "imported": batch.imported_rows,
            "rejected": batch.error_rows,
            "duplicates": batch.duplicate_rows,
        },
    )


def _create(
    session: Session, run: Run, rows: list[tuple[int, Mapping[str, Any]]], owner_id: uuid.UUID
) -> list[Any]:
    """New records for ``rows`` through the record type's service: ``create_many`` when it
    has one, else ``create`` row by row (a refused row gives its ``DomainError``)."""
    declared = run.form.record_type
    values = [v for _, v in rows]
    if not values:
        return []
    if declared.create_many is not None:
        return declared.create_many(session, run.access, run.keys, values, owner_id=owner_id)
    assert declared.create is not None
    results: list[Any] = []
    for entry in values:
        try:
            with session.begin_nested():
                results.append(
                    declared.create(session, run.access, run.keys, entry, owner_id=owner_id)
                )
        except DomainError as refused:
            results.append(refused)
    return results


def _chunks(items: Iterator[Any] | Any, size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- what the preview shows ---------------------------------------------------------------


@dataclass(frozen=True)
class RowPage:
    items: list[ImportRow]
    total: int
    page: int
    per_page: int


def rejected_rows(
    session: Session, batch: ImportBatch, *, page: int = 1, per_page: int = 50
) -> RowPage:
    query = select(ImportRow).where(ImportRow.batch_id == batch.id, ImportRow.status == "error")
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(ImportRow.row).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return RowPage(list(items), total, page, per_page)


def rejected_workbook(
    session: Session,
    batch: ImportBatch,
    *,
    describe: Callable[[dict[str, str]], str],
    error_header: str,
) -> bytes:
    """The rejected rows as a workbook: the original columns plus the reasons."""
    rows = session.scalars(
        select(ImportRow)
        .where(ImportRow.batch_id == batch.id, ImportRow.status == "error")
        .order_by(ImportRow.row)
    ).all()
    assert batch.content is not None
    cells = sheets.raw_rows(batch.content, {r.row for r in rows})
    headers = cells.pop(1, [])
    return sheets.rejected(
        headers,
        (
            (
                r.row,
                cells.get(r.row, []),
                "；".join(describe({**e, "row": str(r.row)}) for e in r.errors),
            )
            for r in rows
        ),
        error_header=error_header,
    )
