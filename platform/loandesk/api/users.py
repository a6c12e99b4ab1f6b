"""``/api/v1/users``: the current tenant's staff accounts."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from loandesk import extension
from loandesk.api.schemas import PageArgs, page_of
from loandesk.auth import two_factor, users
from loandesk.auth.models import User
from loandesk.auth.oauth import require_scope_now, require_token
from loandesk.i18n import LOCALES
from loandesk.tenancy import current
from loandesk.web.sessions import end_sessions_of

blp = Blueprint("api_users", __name__, url_prefix="/users", description="Staff accounts.")


class UserSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    email = ma.fields.String(dump_only=True)
    display_name = ma.fields.String(dump_only=True)
    is_admin = ma.fields.Boolean(dump_only=True, metadata={"description": "Holds tenant_admin"})
    roles = ma.fields.Method(
        "_role_keys", dump_only=True, metadata={"description": "Keys of the roles the user holds"}
    )
    status = ma.fields.String(
        dump_only=True, metadata={"description": "invited, active or deactivated"}
    )
    locale = ma.fields.String(dump_only=True, allow_none=True)
    org_unit_id = ma.fields.UUID(
        dump_only=True, allow_none=True, metadata={"description": "The org unit they sit in"}
    )
    two_factor_enabled = ma.fields.Boolean(
        dump_only=True,
        metadata={"description": "Signs in with a code from an authenticator app (TOTP)"},
    )
    last_login_at = ma.fields.AwareDateTime(dump_only=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(dump_only=True)

    def _role_keys(self, user: Any) -> list[str]:
        roles = user["roles"] if isinstance(user, dict) else user.roles
        return [role if isinstance(role, str) else role.key for role in roles]


class InvitedUserSchema(UserSchema):
    invitation_url = ma.fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Shown once, for a user created without a password"},
    )


class UserCreateSchema(ma.Schema):
    email = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    is_admin = ma.fields.Boolean(load_default=False)
    roles = ma.fields.List(
        ma.fields.String(),
        load_default=list,
        metadata={"description": "Role keys; needs the roles:write scope"},
    )
    locale = ma.fields.String(load_default=None, validate=validate.OneOf(LOCALES))
    password = ma.fields.String(
        load_default=None,
        load_only=True,
        metadata={"description": "Omit it to get an invitation link instead"},
    )
    org_unit_id = ma.fields.UUID(
        load_default=None, metadata={"description": "Default: the company (the root unit)"}
    )


class UserUpdateSchema(ma.Schema):
    display_name = ma.fields.String()
    is_admin = ma.fields.Boolean(metadata={"description": "Needs the roles:write scope"})
    roles = ma.fields.List(
        ma.fields.String(), metadata={"description": "Replaces the roles; needs roles:write"}
    )
    locale = ma.fields.String(validate=validate.OneOf(LOCALES))
    status = ma.fields.String(validate=validate.OneOf(["active", "deactivated"]))
    password = ma.fields.String(load_only=True)
    org_unit_id = ma.fields.UUID(metadata={"description": "Move them to this org unit"})


class UserListArgs(PageArgs):
    include_deactivated = ma.fields.Boolean(load_default=True)


@blp.route("")
class Users(MethodView):
    @require_token("users:read")
    @blp.arguments(UserListArgs, location="query")
    @blp.response(200, page_of(UserSchema, "UserPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """List the tenant's users (deactivated ones too, unless excluded)."""
        return users.list_users(extension.session(), **args)

    @require_token("users:write")
    @blp.arguments(UserCreateSchema)
    @blp.response(201, InvitedUserSchema)
    @blp.alt_response(409, description="The e-mail is already in use in this tenant")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Invite a user: with a password they can sign in at once, without one they get an
        invitation link."""
        if args.get("is_admin") or args.get("roles"):
            require_scope_now("roles:write")
        new = users.create_user(extension.session(), **args)
        extension.session().commit()
        data = {name: getattr(new.user, name) for name in UserSchema().fields}
        data["invitation_url"] = (
            users.invitation_url(
                extension.get().settings.base_url, current().slug, new.invite_token
            )
            if new.invite_token
            else None
        )
        return data


@blp.route("/<uuid:user_id>")
class UserById(MethodView):
    @require_token("users:read")
    @blp.response(200, UserSchema)
    def get(self, user_id: uuid.UUID) -> User:
        """One user."""
        return users.get_user(extension.session(), user_id)

    @require_token("users:write")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, args: dict[str, Any], user_id: uuid.UUID) -> User:
        """Change a user's name, admin right, roles, language, status, password or unit."""
        if "is_admin" in args or "roles" in args:
            require_scope_now("roles:write")
        user = users.update_user(
            extension.session(),
            users.get_user(extension.session(), user_id),
            acting_user_id=None,
            **args,
        )
        if "password" in args:
            end_sessions_of(extension.session(), user.id)  # a reset signs them out
        extension.session().commit()
        return user

    @require_token("users:write")
    @blp.response(200, UserSchema)
    def delete(self, user_id: uuid.UUID) -> User:
        """Deactivate a user. Users are never erased: records keep pointing at them."""
        user = users.deactivate_user(
            extension.session(), users.get_user(extension.session(), user_id), acting_user_id=None
        )
        extension.session().commit()
        return user


@blp.route("/<uuid:user_id>/two-factor")
class UserTwoFactor(MethodView):
    @require_token("users:write")
    @blp.response(200, UserSchema)
    @blp.alt_response(409, description="The user has no two-factor sign-in")
    def delete(self, user_id: uuid.UUID) -> User:
        """Reset a user's two-factor sign-in (lost phone and recovery codes): their secret and
        recovery codes are deleted and their web sessions end. They then sign in with their
        password alone, or set two-factor sign-in up again where the tenant requires it."""
        db_session = extension.session()
        user = users.get_user(db_session, user_id)
        two_factor.reset(db_session, user, acting_user_id=None)
        end_sessions_of(db_session, user.id)
        db_session.commit()
        return user


class InvitationSchema(ma.Schema):
    invitation_url = ma.fields.String(dump_only=True)


@blp.route("/<uuid:user_id>/invitation")
class UserInvitation(MethodView):
    @require_token("users:write")
    @blp.response(201, InvitationSchema)
    @blp.alt_response(409, description="The user has already accepted an invitation")
    def post(self, user_id: uuid.UUID) -> dict[str, str]:
        """A new invitation link for an invited user; the previous link stops working."""
        user = users.get_user(extension.session(), user_id)
        token = users.new_invite(extension.session(), user)
        extension.session().commit()
        base_url = extension.get().settings.base_url
        return {"invitation_url": users.invitation_url(base_url, current().slug, token)}
