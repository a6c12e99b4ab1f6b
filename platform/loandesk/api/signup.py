"""``POST /api/v1/signup``: a lending firm signs up; the one endpoint that needs no token. Off
(403 ``sign_up_off``) in single-tenant mode."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.security import web as security_web
from loandesk.tenancy import service
from loandesk.tenancy import web as tenancy_web
from loandesk.tenancy.paths import page_url

blp = Blueprint(
    "api_signup", __name__, url_prefix="/signup", description="Self-service sign-up of a tenant."
)
blp.before_request(tenancy_web.check_sign_up_on)
# Counted before the body is read: malformed attempts count too.
blp.before_request(security_web.check_sign_up)


class SignupSchema(ma.Schema):
    name = ma.fields.String(required=True, metadata={"description": "The firm's name"})
    slug = ma.fields.String(
        required=True,
        metadata={"description": "Address of the tenant: 3-40 lowercase letters, digits, hyphens"},
    )
    admin_email = ma.fields.String(required=True)
    admin_password = ma.fields.String(required=True, load_only=True)
    admin_name = ma.fields.String(load_default=None)


class SignupResultSchema(ma.Schema):
    id = ma.fields.UUID()
    slug = ma.fields.String()
    name = ma.fields.String()
    admin_user_id = ma.fields.UUID()
    login_url = ma.fields.String()


@blp.route("")
class Signup(MethodView):
    @blp.arguments(SignupSchema)
    @blp.response(201, SignupResultSchema)
    @blp.alt_response(409, description="The slug is taken")
    @blp.alt_response(422, description="A field is invalid (e.g. a weak password)")
    @blp.alt_response(403, description="Sign-up is off: a single-tenant install")
    @blp.alt_response(429, description="Too many sign-ups from this address; see Retry-After")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Create a tenant and its first admin."""
        session = extension.session()
        result = service.sign_up(session, **args)
        session.commit()
        return {
            "id": result.tenant.id,
            "slug": result.tenant.slug,
            "name": result.tenant.name,
            "admin_user_id": result.admin.id,
            "login_url": page_url(result.tenant.slug, "/login"),
        }
