"""Resolving the tenant of a request: from ``/t/<slug>/...`` in the web UI, from the token in the
API. It is set once per request and undone when the request ends."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Flask, abort, g

from loandesk import extension
from loandesk.tenancy import context, service
from loandesk.tenancy.context import TenantRef


def activate(ref: TenantRef) -> None:
    if "_tenant_token" in g:
        context.deactivate(g.pop("_tenant_token"))
    g._tenant_token = context.activate(ref)
    g.tenant = ref


def activate_tenant_by_id(tenant_id: uuid.UUID) -> bool:
    with extension.get().db.transaction() as session:
        tenant = service.find_by_id(session, tenant_id)
        ref = tenant.ref() if tenant else None
    if ref is None:
        return False
    activate(ref)
    return True


def tenant_suspended() -> bool:
    tenant: TenantRef | None = g.get("tenant")
    return tenant is not None and not tenant.is_active


def tenant_blueprint() -> Blueprint:
    """A new blueprint for the pages of a tenant, at ``/t/<slug>/...``: one per app, and every
    web blueprint of the core and of plugins is nested in it."""
    pages = Blueprint("tenant", __name__, url_prefix="/t/<tenant_slug>")
    pages.url_value_preprocessor(_pull_slug)
    pages.url_defaults(_add_slug)
    return pages


def _pull_slug(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    slug = (values or {}).pop("tenant_slug", None)
    if slug is None:
        return
    with extension.get().db.transaction() as session:
        tenant = service.find_by_slug(session, slug)
        ref = tenant.ref() if tenant else None
    if ref is None:
        abort(404)
    activate(ref)


def _add_slug(endpoint: str, values: dict[str, Any]) -> None:
    tenant: TenantRef | None = g.get("tenant")
    if tenant is not None:
        values.setdefault("tenant_slug", tenant.slug)


def _reset(_exc: BaseException | None) -> None:
    token = g.pop("_tenant_token", None)
    if token is not None:
        context.deactivate(token)


def init_app(app: Flask) -> None:
    app.teardown_request(_reset)
