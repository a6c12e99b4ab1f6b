"""Alembic environment: the core's migrations, run by ``loandesk db upgrade`` with the owner URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import loandesk.models  # noqa: F401  (registers every core table on Base.metadata)
from loandesk.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
