"""Resolving the tenant of a request: from ``/t/<slug>/...`` in the web UI, from the token in the
API. It is set once per request and undone when the request ends.

In single-tenant mode (``LOANDESK_SINGLE_TENANT``, a private install at one firm) the tenant's
pages have no ``/t/<slug>`` prefix and every one of them is the configured tenant's; the old
prefixed addresses redirect, and an API token of any other tenant is refused.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Flask, abort, g, redirect, request
from werkzeug.wrappers import Response

from loandesk import extension
from loandesk.errors import DomainError
from loandesk.i18n import N_
from loandesk.tenancy import context, service
from loandesk.tenancy.context import TenantRef
from loandesk.tenancy.paths import PREFIX, single_tenant

# The old addresses redirect whatever the method (a provider's callback posts).
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class TenantNotSetUp(DomainError):
    """Single-tenant mode names a tenant the database does not hold (yet)."""

    status = 503
    code = "tenant_not_set_up"


class SignUpOff(DomainError):
    """Public sign-up in single-tenant mode."""

    status = 403
    code = "sign_up_off"


def activate(ref: TenantRef) -> None:
    if "_tenant_token" in g:
        context.deactivate(g.pop("_tenant_token"))
    g._tenant_token = context.activate(ref)
    g.tenant = ref


def activate_tenant_by_id(tenant_id: uuid.UUID) -> bool:
    """Make tenant ``tenant_id`` current (the API's token names it); False when there is none,
    or, in single-tenant mode, when it is not the install's tenant."""
    with extension.get().db.transaction() as session:
        tenant = service.find_by_id(session, tenant_id)
        ref = tenant.ref() if tenant else None
    slug = single_tenant()
    if ref is not None and slug and ref.slug != slug:
        _check_set_up(slug)  # a clear 503 rather than a bare 401 on an install not set up
        ref = None
    if ref is None:
        return False
    activate(ref)
    return True


def tenant_suspended() -> bool:
    tenant: TenantRef | None = g.get("tenant")
    return tenant is not None and not tenant.is_active


def tenant_blueprint(single_tenant_slug: str = "") -> Blueprint:
    """A new blueprint for the pages of a tenant, at ``/t/<slug>/...`` (at ``/...`` in
    single-tenant mode): one per app, and every web blueprint of the core and of plugins is
    nested in it."""
    if single_tenant_slug:
        pages = Blueprint("tenant", __name__)
        pages.url_value_preprocessor(_activate_single_tenant)
        return pages
    pages = Blueprint("tenant", __name__, url_prefix="/t/<tenant_slug>")
    pages.url_value_preprocessor(_pull_slug)
    pages.url_defaults(_add_slug)
    return pages


def _pull_slug(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    slug = (values or {}).pop("tenant_slug", None)
    if slug is None:
        return
    ref = _find(slug)
    if ref is None:
        abort(404)
    activate(ref)


def _activate_single_tenant(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
    slug = single_tenant()
    ref = _find(slug)
    if ref is None:
        raise _not_set_up(slug)
    activate(ref)


def _find(slug: str) -> TenantRef | None:
    with extension.get().db.transaction() as session:
        tenant = service.find_by_slug(session, slug)
        return tenant.ref() if tenant else None


def _check_set_up(slug: str) -> None:
    if _find(slug) is None:
        raise _not_set_up(slug)


def check_sign_up_on() -> None:
    """Before a sign-up through the API: refused in single-tenant mode."""
    if single_tenant():
        raise SignUpOff(N_("Sign-up is off: this install serves a single firm."))


def _not_set_up(slug: str) -> TenantNotSetUp:
    return TenantNotSetUp(
        N_(
            "The tenant %(slug)s is not set up yet (LOANDESK_SINGLE_TENANT). Create it with: "
            "loandesk tenant create --slug %(slug)s --name NAME --admin-email EMAIL "
            "--admin-password -"
        ),
        params={"slug": slug},
    )


def _add_slug(endpoint: str, values: dict[str, Any]) -> None:
    tenant: TenantRef | None = g.get("tenant")
    if tenant is not None:
        values.setdefault("tenant_slug", tenant.slug)


def _redirect_prefixed(slug: str, rest: str = "") -> Response:
    """An address of the multi-tenant layout (``/t/<slug>/...``, in old links and bookmarks)
    on a single-tenant install: the same page without the prefix (308 keeps the method and
    body), or 404 for any slug but the install's."""
    if slug != single_tenant() or rest.startswith(("/", "\\")):
        abort(404)  # never "//host" or "/\host": another site to a browser
    target = "/" + quote(rest, safe="/:@!$&'()*+,;=~")  # as it came: %3F stays %3F
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    return redirect(target, 308)


def _reset(_exc: BaseException | None) -> None:
    token = g.pop("_tenant_token", None)
    if token is not None:
        context.deactivate(token)


def init_app(app: Flask) -> None:
    app.teardown_request(_reset)
    if app.extensions["loandesk"].settings.single_tenant:
        from loandesk.web import csrf

        # The redirect changes nothing; the page it leads to asks for the token (a provider's
        # callback to an old address has none).
        csrf.exempt(_redirect_prefixed)
        app.add_url_rule(
            PREFIX + "<slug>/", "tenant_prefixed", _redirect_prefixed, methods=ALL_METHODS
        )
        app.add_url_rule(
            PREFIX + "<slug>/<path:rest>",
            "tenant_prefixed",
            _redirect_prefixed,
            methods=ALL_METHODS,
        )
