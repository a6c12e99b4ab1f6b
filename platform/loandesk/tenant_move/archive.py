"""The tenant archive: a zip of JSON Lines, one member per table, the files, and a manifest.

Each table's member holds one JSON array per row, in the column order the manifest lists with
each column's kind. Values are written so that they read back exactly on any database:
decimals and money as strings (``"12000.00"``), datetimes ISO 8601 with their offset, dates
ISO, UUIDs in their canonical form, bytes base64, and JSON columns as their JSON text (so a
SQL ``NULL`` — ``null`` — stays apart from a JSON ``null`` — ``"null"``). The manifest keeps a
SHA-256 of every member's bytes, which the import checks before it writes anything.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from loandesk.db import Money, UTCDateTime

FORMAT = 1
KIND = "loandesk-tenant"
MANIFEST = "manifest.json"
TABLES = "tables"
FILES = "files"


class MoveError(RuntimeError):
    """An export or import that cannot be done; the message says why and what to do."""


# --- values --------------------------------------------------------------------------------


def kind_of(column_type: sa.types.TypeEngine[Any]) -> str:
    """The kind a column's values are written as (checked alike on both sides of a move)."""
    checks: list[tuple[type, str]] = [
        (Money, "money"),
        (UTCDateTime, "datetime"),
        (sa.JSON, "json"),
        (sa.Uuid, "uuid"),
        (sa.Boolean, "bool"),
        (sa.Integer, "int"),
        (sa.Numeric, "decimal"),
        (sa.DateTime, "datetime"),
        (sa.Date, "date"),
        (sa.Time, "time"),
        (sa.LargeBinary, "bytes"),
        (sa.String, "str"),
    ]
    for cls, kind in checks:
        if isinstance(column_type, cls):
            if kind == "decimal" and not getattr(column_type, "asdecimal", True):
                break  # a float column: no exact round trip, refused below
            return kind
    raise MoveError(f"no exact way to move a column of type {column_type!r}")


def encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("money", "decimal"):
        return str(value)
    if kind in ("datetime", "date", "time"):
        return str(value.isoformat())
    if kind == "uuid":
        return str(value)
    if kind == "bytes":
        return base64.b64encode(value).decode()
    return value  # json (already text), str, int, bool


def decoder(kind: str) -> Callable[[Any], Any]:
    """The function that turns a written value back into what the column's type binds."""
    decoders: dict[str, Callable[[Any], Any]] = {
        "money": Decimal,
        "decimal": Decimal,
        "datetime": datetime.fromisoformat,
        "date": date.fromisoformat,
        "time": time.fromisoformat,
        "uuid": uuid.UUID,
        "bytes": base64.b64decode,
        "json": _json_value,
    }
    decode = decoders.get(kind)
    if decode is None:
        return lambda value: value
    return lambda value: None if value is None else decode(value)


def _json_value(text: str) -> Any:
    value = json.loads(text)
    return sa.JSON.NULL if value is None else value


def select_expression(column: sa.Column[Any], kind: str) -> sa.ColumnElement[Any]:
    """What the export selects for ``column``: JSON columns as their text."""
    if kind == "json":
        return sa.cast(column, sa.Text).label(column.name)
    return column


def bind_column(column: sa.Column[Any], kind: str) -> sa.ColumnClause[Any]:
    """A bare column of the same type for the import's statements: no Python default, no
    ``onupdate`` (the archive gives every value), and a JSON ``None`` binds SQL ``NULL``."""
    if kind == "json":
        return sa.column(column.name, sa.JSON(none_as_null=True))
    return sa.column(column.name, column.type)


# --- writing -------------------------------------------------------------------------------


class Writer:
    """Writes the archive member by member, keeping each member's checksum."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self.checksums: dict[str, str] = {}

    def rows(self, name: str, rows: Iterator[list[Any]]) -> int:
        member = f"{TABLES}/{name}.jsonl"
        digest, count = hashlib.sha256(), 0
        with self.zip.open(member, "w", force_zip64=True) as out:
            for row in rows:
                line = json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                digest.update(line)
                out.write(line)
                count += 1
        self.checksums[member] = digest.hexdigest()
        return count

    def file(self, key: str, chunks: Iterator[bytes]) -> str:
        member = f"{FILES}/{key}"
        digest = hashlib.sha256()
        with self.zip.open(member, "w", force_zip64=True) as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
        self.checksums[member] = digest.hexdigest()
        return self.checksums[member]

    def manifest(self, manifest: dict[str, Any]) -> None:
        manifest = {**manifest, "checksums": self.checksums}
        self.zip.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))

    def close(self) -> None:
        self.zip.close()


# --- reading -------------------------------------------------------------------------------


class Reader:
    def __init__(self, path: Path) -> None:
        try:
            self.zip = zipfile.ZipFile(path)
            self.manifest: dict[str, Any] = json.loads(self.zip.read(MANIFEST))
        except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise MoveError(f"{path} is not a LoanDesk tenant archive: {exc}") from None
        if self.manifest.get("kind") != KIND:
            raise MoveError(f"{path} is not a LoanDesk tenant archive (no tenant manifest)")
        if self.manifest.get("format") != FORMAT:
            raise MoveError(f"{path}: archive format {self.manifest.get('format')} is not known")

    def check(self) -> None:
        """Every member's checksum against the manifest, and no member missing or added."""
        expected: dict[str, str] = self.manifest.get("checksums", {})
        present = {name for name in self.zip.namelist() if name != MANIFEST}
        if present != set(expected):
            odd = sorted(present ^ set(expected))[:5]
            raise MoveError(f"the archive's members do not match its manifest: {odd}")
        for name, checksum in expected.items():
            digest = hashlib.sha256()
            try:
                with self.zip.open(name) as member:
                    while chunk := member.read(1 << 20):
                        digest.update(chunk)
            except (zipfile.BadZipFile, OSError) as exc:
                raise MoveError(f"the archive is damaged at {name}: {exc}") from None
            if digest.hexdigest() != checksum:
                raise MoveError(
                    f"the archive is damaged or altered: {name} does not match its checksum; "
                    "nothing was imported"
                )

    def rows(self, name: str) -> Iterator[list[Any]]:
        with self.zip.open(f"{TABLES}/{name}.jsonl") as member:
            for line in io.TextIOWrapper(member, encoding="utf-8"):
                yield json.loads(line)

    def file(self, key: str) -> IO[bytes]:
        return self.zip.open(f"{FILES}/{key}")

    def close(self) -> None:
        self.zip.close()
