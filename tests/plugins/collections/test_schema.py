"""The cl001 and cl002 migrations create exactly what the models declare (autogenerate finds no
difference for the collections tables), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import loandesk_collections.models  # noqa: F401  (the tables join the metadata)
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from loandesk.db import Base, make_engine


def test_the_migration_and_the_models_agree(database_urls: Any) -> None:
    def include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table is not None and table.startswith("collections_")

    engine = make_engine(database_urls.owner_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include}
            )
            assert compare_metadata(context, Base.metadata) == []
            tables = {t for t in Base.metadata.tables if t.startswith("collections_")}
            assert len(tables) == 11
    finally:
        engine.dispose()
