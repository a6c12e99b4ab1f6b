"""``/api/v1/api-clients``: machine clients of the API and their secrets."""

from __future__ import annotations

import uuid
from typing import Any, cast

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.auth import clients
from loandesk.auth.models import ApiClient, User
from loandesk.auth.oauth import require_token
from loandesk.rbac.current import acting_user
from loandesk.tenancy import current

blp = Blueprint(
    "api_clients", __name__, url_prefix="/api-clients", description="API clients (OAuth2)."
)


class ApiClientSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    client_id = ma.fields.String(dump_only=True)
    name = ma.fields.String(dump_only=True)
    scopes = ma.fields.List(ma.fields.String(), dump_only=True)
    acts_as_id = ma.fields.UUID(dump_only=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)
    last_used_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)
    revoked_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)


class NewApiClientSchema(ApiClientSchema):
    client_secret = ma.fields.String(
        dump_only=True, metadata={"description": "Shown only in this response"}
    )


class ApiClientCreateSchema(ma.Schema):
    name = ma.fields.String(required=True)
    scopes = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Any of: " + ", ".join(clients.SCOPES)},
    )
    acts_as_id = ma.fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "The staff member whose data scope and field permissions apply "
            "to business records read or written with this client (records:* scopes)"
        },
    )


def _maker() -> User | None:
    """The staff member the calling client acts for; None when it acts for nobody (such a
    client is bounded by its scopes alone, and only a tenant admin makes one)."""
    if g.api_token.client.acts_as_id is None:
        return None
    return cast("User", acting_user())


@blp.route("")
class ApiClients(MethodView):
    @require_token("api-clients:read")
    @blp.response(200, ApiClientSchema(many=True))
    def get(self) -> list[ApiClient]:
        """The tenant's API clients, newest first."""
        return clients.list_clients(extension.session())

    @require_token("api-clients:write")
    @blp.arguments(ApiClientCreateSchema)
    @blp.response(201, NewApiClientSchema)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Create a client; its secret is in this response and nowhere else, ever."""
        new = clients.create_client(
            extension.session(),
            tenant_id=current().id,
            created_by_id=None,
            maker=_maker(),
            **args,
        )
        extension.session().commit()
        data = {name: getattr(new.client, name) for name in ApiClientSchema().fields}
        data["client_secret"] = new.client_secret
        return data


@blp.route("/<uuid:pk>")
class ApiClientById(MethodView):
    @require_token("api-clients:read")
    @blp.response(200, ApiClientSchema)
    def get(self, pk: uuid.UUID) -> ApiClient:
        """One API client."""
        return clients.get_client(extension.session(), pk)

    @require_token("api-clients:write")
    @blp.response(200, ApiClientSchema)
    def delete(self, pk: uuid.UUID) -> ApiClient:
        """Revoke a client and every token it holds."""
        client = clients.get_client(extension.session(), pk)
        clients.revoke_client(extension.session(), client)
        extension.session().commit()
        return client
