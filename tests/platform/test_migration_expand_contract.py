"""Expand/contract (docs/upgrades.md): a revision newer than the last recorded release only
adds (tables, nullable columns, indexes), so that the code still running during a rolling
upgrade keeps working. One that drops or renames a table or column, or makes an existing
column NOT NULL, is a contract step: it says so and why in a module constant ``CONTRACT``
(and ships a release after the code that stopped using what it removes)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from alembic.script import ScriptDirectory

from loandesk import migrate
from tests.helpers import installed_plugins

_SQL = re.compile(r"\b(drop\s+column|drop\s+table|rename\s+(column|to))\b", re.IGNORECASE)


def contracting_operations(source: str) -> list[str]:
    """What ``upgrade()`` in a migration's ``source`` does that code of the release before
    may not survive: each as "operation (line n)"."""
    tree = ast.parse(source)
    upgrade = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"
    )
    found = []
    for node in ast.walk(upgrade):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            said = _SQL.search(node.value)
            if said:
                found.append(f"SQL {said.group(0)!r} (line {node.lineno})")
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, keywords = node.func.attr, {k.arg: k.value for k in node.keywords}
        if name in ("drop_column", "drop_table", "rename_table"):
            found.append(f"{name} (line {node.lineno})")
        elif name == "alter_column" and "new_column_name" in keywords:
            found.append(f"alter_column new_column_name (line {node.lineno})")
        elif name == "alter_column" and _is_false(keywords.get("nullable")):
            found.append(f"alter_column nullable=False (line {node.lineno})")
    return found


def _is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _since_last_release(script: ScriptDirectory) -> list[str]:
    """The revisions that are not in the newest release recorded in releases.json."""
    newest = list(migrate.released_heads().values())[-1]
    released = {
        r.revision for head in newest for r in script.revision_map.iterate_revisions(head, "base")
    }
    return sorted(r.revision for r in script.walk_revisions() if r.revision not in released)


def test_revisions_since_the_last_release_only_expand_unless_they_say_they_contract() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://", installed_plugins()))
    offending = {}
    for name in _since_last_release(script):
        revision = script.get_revision(name)
        assert revision is not None and revision.module is not None
        if getattr(revision.module, "CONTRACT", None):
            continue
        found = contracting_operations(Path(revision.path).read_text(encoding="utf-8"))
        if found:
            offending[name] = found
    assert offending == {}, (
        "these revisions drop, rename or tighten what the release before uses; make them a "
        f"contract step (CONTRACT = 'why', docs/upgrades.md): {offending}"
    )


def test_the_check_finds_what_contracts_and_lets_additions_pass() -> None:
    contracting = """
def upgrade():
    with op.batch_alter_table("loans") as batch:
        batch.drop_column("old_rate")
        batch.alter_column("note", new_column_name="remark")
        batch.alter_column("owner_id", nullable=False)
    op.drop_table("loans_old")
    op.execute("ALTER TABLE loans RENAME TO credits")
    op.execute("alter table loans drop column x")
def downgrade():
    op.drop_table("loans_new")
"""
    assert sorted(f.split(" (")[0] for f in contracting_operations(contracting)) == [
        "SQL 'RENAME TO'",
        "SQL 'drop column'",
        "alter_column new_column_name",
        "alter_column nullable=False",
        "drop_column",
        "drop_table",
    ]
    expanding = """
def upgrade():
    op.create_table("loans_new", sa.Column("id", sa.Uuid()))
    with op.batch_alter_table("loans") as batch:
        batch.add_column(sa.Column("rate", sa.String(20), nullable=True))
        batch.alter_column("status", type_=sa.String(12), existing_nullable=False)
    op.create_index("ix_loans_rate", "loans", ["tenant_id", "rate"])
def downgrade():
    op.drop_table("loans_new")
"""
    assert contracting_operations(expanding) == []
