"""Approval actions per second on PostgreSQL for a 3-node flow, against plain single-row
UPDATEs in the same run.

A tenant with customers and intake enabled and a published flow of three approver nodes (one
approver each). N applications are submitted into it (set-up, not timed). Timed: every
approval of every instance, each in its own transaction as a request would do it — lock the
instance, check the approver, decide the task, write the timeline entry, the audit event and
the domain events, and open the next node (the third approval finishes the instance and sets
the application's status). The baseline is the same number of single-row UPDATEs of the
applications table, each committed, through the same app role and session set-up (row-level
security on). Prints both rates and their ratio.

    .venv/bin/python bench/flow_actions.py --instances 300
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import Database, admin_password, plugin_folders
from results import Row, write_rows
from sqlalchemy import text

from loandesk import migrate
from loandesk.app import create_app
from loandesk.settings import Settings

NODES = ("first", "second", "third")


def setup(app: Any, instances: int) -> tuple[Any, list[uuid.UUID], list[uuid.UUID], list[str]]:
    """The tenant, its three approvers, the running instances and their applications."""
    from decimal import Decimal

    from loandesk_customers.service import create_customer
    from loandesk_intake.models import Application
    from loandesk_intake.service import values_of
    from sqlalchemy import select

    from loandesk.auth import users
    from loandesk.auth.models import User
    from loandesk.fields.forms import published_form
    from loandesk.flows import definitions, engine
    from loandesk.pii import for_current_tenant
    from loandesk.plugins import runtime
    from loandesk.plugins import service as plugins
    from loandesk.rbac.access import RecordAccess
    from loandesk.tenancy import service, use

    db = app.extensions["loandesk"].db
    with app.test_request_context(), db.transaction() as session:
        tenant = service.sign_up(
            session,
            name="压测小贷",
            slug="bench",
            admin_email="admin@bench.example.cn",
            admin_password=admin_password(),
        ).tenant
        with use(tenant.ref()):
            for name in ("customers", "intake"):
                plugins.set_enabled(
                    session,
                    runtime.host(),
                    tenant_id=tenant.id,
                    name=name,
                    enabled=True,
                    acting_user_id=None,
                )
            session.flush()
        ref = tenant.ref()
    with app.test_request_context(), use(ref), db.transaction() as session:
        approvers = [
            users.create_user(
                session,
                email=f"{node}@bench.example.cn",
                display_name=node,
                password=secrets.token_urlsafe(16),
                roles=["credit_officer"],
            ).user.id
            for node in NODES
        ]
        admin = session.scalar(select(User).where(User.email == "admin@bench.example.cn"))
        declared = runtime.record_type("application")
        form = published_form(session, declared)
        nodes = [
            {"id": node, "type": "approver", "name": node, "assignees": [
                {"kind": "user", "user": str(user)}]}
            for node, user in zip(NODES, approvers, strict=True)
        ]  # fmt: skip
        definitions.save_draft(session, declared, form, {"nodes": nodes})
        definitions.publish(session, declared, form)
        access = RecordAccess.resolve(session, admin, runtime.record_type("customer"))
        customer = create_customer(
            session,
            access,
            for_current_tenant(),
            {"name": "张三", "mobile": "13800138000", "id_number": "11010519491231002X"},
            owner_id=admin.id,
        )
        unit = customer.org_unit_id
        instance_ids, application_ids = [], []
        for i in range(instances):
            application = Application(
                number=f"SQ{i:012d}",
                customer_id=customer.id,
                amount=Decimal("80000.00"),
                term_months=12,
                status="submitted",
                owner_id=admin.id,
                org_unit_id=unit,
                custom={},
            )
            session.add(application)
            session.flush()
            instance = engine.start(
                session,
                declared,
                application,
                submitter_id=admin.id,
                values=values_of(application, form),
                kinds=form.expression_kinds,
                title=application.number,
            )
            assert instance is not None
            instance_ids.append(instance.id)
            application_ids.append(str(application.id))
        return ref, approvers, instance_ids, application_ids


def flow_actions(app: Any, tenant: Any, approvers: list[uuid.UUID], ids: list[uuid.UUID]) -> int:
    from loandesk.flows import actions
    from loandesk.tenancy import use

    db = app.extensions["loandesk"].db
    done = 0
    with app.app_context(), use(tenant):
        for approver in approvers:  # node by node: every instance waits at the same one
            for instance_id in ids:
                session = db.session()
                try:
                    actions.approve(session, instance_id, actions.Actor(approver))
                    session.commit()
                finally:
                    db.session.remove()
                done += 1
    return done


def plain_updates(app: Any, tenant: Any, application_ids: list[str], count: int) -> int:
    from loandesk.tenancy import use

    db = app.extensions["loandesk"].db
    statement = text(
        "update intake_applications set updated_at = now() where tenant_id = :tenant and id = :id"
    )
    with app.app_context(), use(tenant):
        for i in range(count):
            session = db.session()
            try:
                session.execute(
                    statement,
                    {"tenant": tenant.id, "id": application_ids[i % len(application_ids)]},
                )
                session.commit()
            finally:
                db.session.remove()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", metavar="PATH", help="also write the result rows as JSON")
    args = parser.parse_args()
    with Database(args.postgres) as database, tempfile.TemporaryDirectory() as instance:
        settings = Settings(
            database_url=database.app_url,
            migration_database_url=database.owner_url,
            instance_path=Path(instance),
        )
        migrate.upgrade(settings, plugin_folders())
        app = create_app(settings)
        try:
            print(f"setting up {args.instances:,} running instances …", flush=True)
            tenant, approvers, ids, application_ids = setup(app, args.instances)
            started = time.perf_counter()
            actions = flow_actions(app, tenant, approvers, ids)
            acted = time.perf_counter() - started
            started = time.perf_counter()
            updates = plain_updates(app, tenant, application_ids, actions)
            updated = time.perf_counter() - started
            _check_finished(app, tenant, ids)
        finally:
            app.extensions["loandesk"].db.dispose()
    action_rate, update_rate = actions / acted, updates / updated
    print(f"flow: 3 approver nodes, {args.instances:,} instances, {actions:,} approvals")
    print(f"flow actions (approve, one per transaction): {acted:7.1f} s {action_rate:9,.0f} /s")
    print(f"plain single-row UPDATEs (same number):      {updated:7.1f} s {update_rate:9,.0f} /s")
    print(f"ratio UPDATE / flow action: {update_rate / action_rate:,.1f}x")
    write_rows(args.json, [
        Row("flow_actions", f"approvals, {args.instances:,} x 3 nodes", action_rate, "/s",
            "single-row UPDATE", update_rate, update_rate / action_rate, "UPDATE / action"),
    ])  # fmt: skip


def _check_finished(app: Any, tenant: Any, ids: list[uuid.UUID]) -> None:
    from sqlalchemy import func, select

    from loandesk.flows.models import FlowInstance
    from loandesk.tenancy import use

    with app.app_context(), use(tenant), app.extensions["loandesk"].db.transaction() as session:
        approved = session.scalar(
            select(func.count(FlowInstance.id)).where(
                FlowInstance.id.in_(ids), FlowInstance.state == "approved"
            )
        )
    assert approved == len(ids), f"{approved} of {len(ids)} approved"


if __name__ == "__main__":
    main()
