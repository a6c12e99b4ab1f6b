"""A field that joins a record type later (a module update, a custom field) is hidden from every
role but the tenant admin until an admin grants it; grants already made are never overwritten."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from tests.plugins.customers.conftest import Firm


def test_a_new_field_is_hidden_until_granted(app, firm: Firm) -> None:  # type: ignore[no-untyped-def]
    from loandesk_customers.record_type import CUSTOMER

    from loandesk.auth.models import User
    from loandesk.fields import FieldSpec
    from loandesk.rbac import grants
    from loandesk.rbac.access import RecordAccess
    from loandesk.rbac.models import Role, RoleRecordAccess
    from loandesk.tenancy import service, use

    grown = dataclasses.replace(
        CUSTOMER, fields=(*CUSTOMER.fields, FieldSpec("guarantor", "担保人", "Guarantor", "text"))
    )
    db = app.extensions["loandesk"].db
    with app.app_context(), db.transaction() as session:
        with use(service.get_by_slug(session, firm.tenant.slug).ref()):

            def access_of(name: str) -> RecordAccess:
                email = firm.staff[name].email if name != "admin" else firm.tenant.admin_email
                user = session.scalar(select(User).where(User.email == email))
                return RecordAccess.resolve(session, user, grown)

            for name in ("officer1", "risk", "auditor", "collector", "finance"):
                assert access_of(name).access("guarantor") == "hidden", name
                assert "guarantor" not in access_of(name).export
            admin = access_of("admin")
            assert admin.access("guarantor") == "edit" and "guarantor" in admin.export

            # the module's defaults apply only where a role has no grant yet: nothing changes
            before = {g.role_id: dict(g.fields) for g in session.scalars(select(RoleRecordAccess))}
            grants.apply_defaults(session, [grown])
            after = {g.role_id: dict(g.fields) for g in session.scalars(select(RoleRecordAccess))}
            assert after == before

            auditor_role = session.scalar(select(Role).where(Role.key == "auditor"))
            row = grants.grants_of(session, auditor_role)["customer"]
            grants.set_grant(
                session,
                auditor_role,
                grown,
                scope=row.scope,
                fields={**row.fields, "guarantor": "view"},
                export=row.export,
            )
            assert access_of("auditor").access("guarantor") == "view"
            assert access_of("collector").access("guarantor") == "hidden"
