"""Alembic environment: the core's migrations, run by ``loandesk db upgrade`` with the owner URL."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

import loandesk.models  # noqa: F401  (registers every core table on Base.metadata)
from loandesk.db import Base, Money, UTCDateTime, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from loandesk.migrate import foreign_keys_deferred

    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn, foreign_keys_deferred(conn):
        _run(conn)
    engine.dispose()


def _render_item(kind: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Autogenerate writes the project's column types as importable names."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from loandesk.db import UTCDateTime")
        return "UTCDateTime()"
    if kind == "type" and isinstance(obj, Money):
        autogen_context.imports.add("from loandesk.db import Money")
        return f"Money(scale={obj.scale})"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
