"""OAuth2 with authlib: ``POST /oauth/token`` (client-credentials grant), ``POST /oauth/revoke``
(RFC 7009), and the bearer-token check that protects every ``/api/v1`` endpoint but sign-up.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import Blueprint, Flask, current_app, g
from flask_babel import gettext

from loandesk import extension
from loandesk.api.errors import json_error
from loandesk.audit import web as audit_web
from loandesk.auth import clients
from loandesk.auth.models import ApiClient, ApiToken
from loandesk.db import utcnow
from loandesk.plugins import runtime as plugin_runtime
from loandesk.security import web as security_web
from loandesk.tenancy import web as tenancy_web

F = TypeVar("F", bound=Callable[..., Any])


class OAuthClient(ClientMixin):
    """authlib's view of an ``ApiClient``."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = self.client.scopes
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return clients.secret_matches(self.client, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class OAuthToken(TokenMixin):
    def __init__(self, token: ApiToken, now: datetime) -> None:
        self.token = token
        self.now = now

    def check_client(self, client: OAuthClient) -> bool:
        return client.client.id == self.token.client_pk

    def get_scope(self) -> str:
        return self.token.scope

    def get_expires_in(self) -> int:
        return int((self.token.expires_at - self.token.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.token.expires_at <= self.now

    def is_revoked(self) -> bool:
        return self.token.revoked_at is not None or self.token.client.revoked_at is not None


def _activate_tenant_of(identifier: str, prefix: str) -> bool:
    """Make the tenant named inside a client id or token current; False if there is none.

    A suspended tenant is made current too; the callers refuse it with their own error.
    """
    tenant_id = clients.tenant_of(identifier, prefix)
    return tenant_id is not None and tenancy_web.activate_tenant_by_id(tenant_id)


def query_client(client_id: str) -> OAuthClient | None:
    if not _activate_tenant_of(client_id, clients.CLIENT_PREFIX) or tenancy_web.tenant_suspended():
        return None
    client = clients.find_by_client_id(extension.session(), client_id)
    if client is None or client.is_revoked:
        return None
    audit_web.identify("api_client", client.client_id, client.name)
    return OAuthClient(client)


def save_token(token: dict[str, Any], oauth_request: Any) -> None:
    client: OAuthClient = oauth_request.client
    lifetime = extension.get().settings.access_token_lifetime
    clients.save_token(
        extension.session(), client.client, token["access_token"], token["scope"], lifetime
    )
    extension.session().commit()


class Revocation(RevocationEndpoint):
    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuthToken | None:
        if not token_string.startswith(clients.TOKEN_PREFIX + "_"):
            return None
        token = clients.find_token(extension.session(), token_string)
        return OAuthToken(token, utcnow()) if token else None

    def revoke_token(self, token: OAuthToken, oauth_request: Any) -> None:
        clients.revoke_token(extension.session(), token.token)
        extension.session().commit()


class TokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> OAuthToken | None:
        if not _activate_tenant_of(token_string, clients.TOKEN_PREFIX):
            return None
        token = clients.find_token(extension.session(), token_string)
        return OAuthToken(token, utcnow()) if token else None


class JsonResourceProtector(ResourceProtector):
    def raise_error_response(self, error: OAuth2Error) -> None:
        from werkzeug.exceptions import HTTPException

        status = error.status_code
        if status == 403:
            message = gettext("This token lacks the scope this endpoint needs.")
            code = "insufficient_scope"
        else:
            message = gettext("A valid bearer token is required.")
            code = "invalid_token" if error.error == "invalid_token" else "unauthorized"
        response = json_error(status, message, code=code, headers=dict(error.get_headers()))
        raise HTTPException(response=response)


def _protector() -> JsonResourceProtector:
    protector: JsonResourceProtector = current_app.extensions["loandesk.oauth"]["protector"]
    return protector


def _authorization() -> AuthorizationServer:
    server: AuthorizationServer = current_app.extensions["loandesk.oauth"]["authorization"]
    return server


def require_token(scope: str) -> Callable[[F], F]:
    """Protect an API view: a valid bearer token with ``scope``, of an active tenant."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            protector = _protector()
            try:
                token: OAuthToken = protector.acquire_token([scope])
            except OAuth2Error as error:
                protector.raise_error_response(error)
            if tenancy_web.tenant_suspended():
                from werkzeug.exceptions import HTTPException

                raise HTTPException(
                    response=json_error(
                        403,
                        gettext("This tenant is suspended."),
                        code="tenant_suspended",
                    )
                )
            g.api_token = token.token
            client = token.token.client
            audit_web.identify("api_client", client.client_id, client.name)
            plugin_runtime.check_request_plugin()
            check_acting_permission(scope)
            return view(*args, **kwargs)

        wrapped._loandesk_scope = scope  # type: ignore[attr-defined]  # read by the OpenAPI docs
        return cast(F, wrapped)

    return decorator


def require_scope_now(scope: str) -> None:
    """Inside a protected view: refuse (403) unless the token also holds ``scope``."""
    token: ApiToken = g.api_token
    if scope not in token.scopes:
        from werkzeug.exceptions import HTTPException

        raise HTTPException(
            response=json_error(
                403,
                gettext("This token lacks the scope this endpoint needs."),
                code="insufficient_scope",
                errors={"scope": [scope]},
            )
        )
    check_acting_permission(scope)


def check_acting_permission(scope: str) -> None:
    """Refuse (403) an administration ``scope`` (``clients.ACTING_PERMISSIONS``) to a client
    acting for a staff member who holds none of its permissions, or who is no longer active:
    a client never does more than the person it acts for. Clients acting for nobody are
    bounded by their scopes alone."""
    needed = clients.ACTING_PERMISSIONS.get(scope)
    token: ApiToken = g.api_token
    if needed is None or token.client.acts_as_id is None:
        return
    from loandesk.errors import Forbidden
    from loandesk.i18n import N_
    from loandesk.rbac.current import acting_user

    user = acting_user()  # 403 when they are deactivated
    if not any(user.can(permission) for permission in needed):
        raise Forbidden(
            N_("You lack the permission %(permission)s."), params={"permission": needed[0]}
        )


def current_client_id() -> uuid.UUID:
    token: ApiToken = g.api_token
    return token.client_pk


bp = Blueprint("oauth", __name__, url_prefix="/oauth")


@bp.post("/token")
def issue_token() -> Any:
    security_web.check_token_request()  # 429 when this address or client id asks too often
    return _authorization().create_token_response()


@bp.post("/revoke")
def revoke() -> Any:
    # The client authenticates first, which makes its tenant current: a token of another
    # tenant is then simply not found, and RFC 7009 answers 200 for unknown tokens.
    return _authorization().create_endpoint_response(Revocation.ENDPOINT_NAME)


def init_app(app: Flask) -> None:
    authorization = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    authorization.register_token_generator("default", _generate_token)
    authorization.register_grant(grants.ClientCredentialsGrant)
    authorization.register_endpoint(Revocation)
    protector = JsonResourceProtector()
    protector.register_token_validator(TokenValidator())
    app.extensions["loandesk.oauth"] = {"authorization": authorization, "protector": protector}
    app.register_blueprint(bp)


def _generate_token(
    grant_type: str,
    client: OAuthClient,
    user: Any = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = False,
) -> dict[str, Any]:
    lifetime = extension.get().settings.access_token_lifetime
    return {
        "token_type": "Bearer",
        "access_token": clients.new_token_string(client.client.tenant_id),
        "expires_in": int(lifetime.total_seconds()),
        "scope": client.get_allowed_scope(scope),
    }
