"""ch001 gives tenants that existed before the ``channel_agent`` role was built in that role,
with the access to customers and applications that enabling those plugins gives it now."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select

from loandesk.migrate import alembic_config
from tests.helpers import installed_plugins


def test_ch001_adds_the_agent_role_to_existing_tenants(tmp_path: Path) -> None:
    from alembic import command

    from loandesk.db import Database
    from loandesk.plugins.models import TenantPlugin
    from loandesk.rbac.models import Role, RoleRecordAccess
    from loandesk.tenancy import guard, service, use

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    config = alembic_config(url, installed_plugins())
    command.upgrade(config, "c004")
    command.upgrade(config, "i002")
    db = Database(url)
    guard.install(db.session_factory)
    try:
        with db.transaction() as session:
            tenant = service.sign_up(
                session,
                name="旧机构",
                slug="old-firm",
                admin_email="admin@old.cn",
                admin_password="Correct-horse-42",
            ).tenant
            ref = service.tenant_ref(tenant)
        with use(ref), db.transaction() as session:  # as the tenant was before the role
            session.execute(delete(Role).where(Role.key == "channel_agent"))
            session.add(TenantPlugin(name="intake", enabled=True, settings={}, secrets={}))
        command.upgrade(config, "ch001")
        with use(ref), db.transaction() as session:
            role = session.scalar(select(Role).where(Role.key == "channel_agent"))
            assert role is not None and role.builtin and role.name_zh == "渠道代理"
            grants = {
                g.record_type: g
                for g in session.scalars(
                    select(RoleRecordAccess).where(RoleRecordAccess.role_id == role.id)
                )
            }
        assert set(grants) == {"application"}  # customers was not enabled
        assert grants["application"].scope == "own"
        assert grants["application"].fields["amount"] == "edit"
        command.downgrade(config, "channels@base")
        command.upgrade(config, "ch001")  # a tenant that has the role keeps its own
        with use(ref), db.transaction() as session:
            assert len(list(session.scalars(select(Role).where(Role.key == "channel_agent")))) == 1
    finally:
        db.dispose()
