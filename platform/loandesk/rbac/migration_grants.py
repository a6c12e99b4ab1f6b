"""What migrations that add permissions share: giving them to existing tenants' built-in
roles. Migrations are a record of the past, so this must keep doing exactly what it does;
a migration that needs something else writes its own."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa


def change_builtin_roles(
    op: Any, grants: Mapping[str, Sequence[str]], added: Sequence[str], *, add: bool
) -> None:
    """Existing tenants' built-in roles get ``grants`` (role key -> permissions), as new
    tenants' do from the catalog (or, with ``add`` false, every role loses ``added``
    again). Runs per tenant with app.tenant_id set: FORCE ROW LEVEL SECURITY binds the owner
    role too."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    roles = sa.table(
        "roles",
        sa.column("tenant_id", sa.Uuid),
        sa.column("id", sa.Uuid),
        sa.column("key", sa.String),
        sa.column("builtin", sa.Boolean),
        sa.column("permissions", sa.JSON),
    )
    tenants = sa.table("tenants", sa.column("id", sa.Uuid))
    for tenant_id in list(bind.execute(sa.select(tenants.c.id)).scalars()):
        if postgres:
            bind.execute(
                sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
        rows = bind.execute(
            sa.select(roles.c.id, roles.c.key, roles.c.builtin, roles.c.permissions).where(
                roles.c.tenant_id == tenant_id
            )
        ).all()
        for role_id, key, builtin, permissions in rows:
            held = json.loads(permissions) if isinstance(permissions, str) else list(permissions)
            if add:
                wanted = sorted({*held, *grants.get(key, ())}) if builtin else held
            else:
                wanted = [p for p in held if p not in added]
            if wanted != held:
                bind.execute(
                    roles.update()
                    .where(roles.c.tenant_id == tenant_id, roles.c.id == role_id)
                    .values(permissions=wanted)
                )
    if postgres:
        bind.execute(sa.text("select set_config('app.tenant_id', '', true)"))
