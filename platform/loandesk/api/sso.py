"""``/api/v1/sso``: the tenant's single sign-on provider (OpenID Connect)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import Blueprint

from loandesk import extension, pii
from loandesk.auth import sso_client, sso_config
from loandesk.auth.oauth import require_token
from loandesk.auth.sso_models import SsoConfig
from loandesk.errors import ValidationFailed
from loandesk.i18n import N_
from loandesk.tenancy import current
from loandesk.tenancy.paths import page_url

blp = Blueprint(
    "api_sso",
    __name__,
    url_prefix="/sso",
    description="Single sign-on: the tenant's OpenID Connect provider and its role mapping.",
)


class SsoConfigSchema(ma.Schema):
    issuer = ma.fields.String(
        metadata={"description": "Issuer URL; https unless the install allows http for tests"}
    )
    client_id = ma.fields.String()
    client_secret = ma.fields.String(
        load_only=True,
        metadata={"description": "Write-only; required at first, empty or absent keeps it"},
    )
    client_secret_set = ma.fields.Boolean(dump_only=True)
    display_name = ma.fields.String(metadata={"description": "Shown as “Sign in with …”"})
    scopes = ma.fields.String(
        metadata={"description": 'Space-separated, with "openid"; default "openid email profile"'}
    )
    role_claim = ma.fields.String(
        metadata={"description": "Claim with groups or roles; dots for nested claims"}
    )
    role_mapping = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Claim value → role keys (existing roles only)"},
    )
    provision_users = ma.fields.Boolean(
        metadata={"description": "Create accounts at first sign-in (verified e-mail needed)"}
    )
    password_sign_in = ma.fields.Boolean(
        metadata={"description": "Staff other than tenant admins may still use passwords"}
    )
    enabled = ma.fields.Boolean()
    redirect_uri = ma.fields.String(
        dump_only=True, metadata={"description": "Register this at the provider"}
    )
    updated_at = ma.fields.DateTime(dump_only=True)


class DiscoveryTestSchema(ma.Schema):
    issuer = ma.fields.String(metadata={"description": "Default: the saved issuer"})


class DiscoveryReportSchema(ma.Schema):
    ok = ma.fields.Boolean()
    issuer = ma.fields.String()
    message = ma.fields.String(allow_none=True, metadata={"description": "Why it failed"})
    authorization_endpoint = ma.fields.String(allow_none=True)
    token_endpoint = ma.fields.String(allow_none=True)
    jwks_uri = ma.fields.String(allow_none=True)
    userinfo_endpoint = ma.fields.String(allow_none=True)
    signing_keys = ma.fields.Integer()


def _dump(config: SsoConfig) -> dict[str, Any]:
    return {
        **{key: getattr(config, key) for key in sso_config.FIELDS if key != "client_secret"},
        "client_secret_set": bool(config.client_secret),
        "redirect_uri": page_url(current().slug, "/sso/callback"),
        "updated_at": config.updated_at,
    }


@blp.route("")
class SsoSettings(MethodView):
    @require_token("sso:read")
    @blp.response(200, SsoConfigSchema)
    @blp.alt_response(404, description="Single sign-on is not set up")
    def get(self) -> dict[str, Any]:
        """The tenant's provider settings; the client secret is never returned."""
        return _dump(sso_config.require_config(extension.session()))

    @require_token("sso:write")
    @blp.arguments(SsoConfigSchema)
    @blp.response(200, SsoConfigSchema)
    @blp.alt_response(422, description="Invalid settings; nothing was changed")
    def put(self, args: dict[str, Any]) -> dict[str, Any]:
        """Set up or replace the provider settings. Fields left out take their defaults
        (``enabled`` false, ``password_sign_in`` true, ``provision_users`` false), except
        ``client_secret``, which keeps its stored value. Audited, the secret redacted."""
        session = extension.session()
        config = sso_config.save_config(
            session,
            keyring=pii.for_current_tenant(),
            values=args,
            acting_user_id=None,
            allow_http=extension.get().settings.sso_http_allowed,
        )
        session.commit()
        sso_client.forget(current().id)
        return _dump(config)

    @require_token("sso:write")
    @blp.response(204)
    @blp.alt_response(404, description="Single sign-on is not set up")
    def delete(self) -> None:
        """Remove single sign-on; staff sign in with passwords again. Identity links stay."""
        session = extension.session()
        sso_config.delete_config(session)
        session.commit()
        sso_client.forget(current().id)


@blp.route("/discovery-test")
class DiscoveryTest(MethodView):
    @require_token("sso:write")
    @blp.arguments(DiscoveryTestSchema)
    @blp.response(200, DiscoveryReportSchema)
    @blp.alt_response(422, description="The issuer URL is not acceptable")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Read ``<issuer>/.well-known/openid-configuration`` and the signing keys, as a
        sign-in would; ``ok`` false with ``message`` says what is wrong. Changes nothing."""
        issuer = (args.get("issuer") or "").strip().rstrip("/")
        if not issuer:
            issuer = sso_config.require_config(extension.session()).issuer
        if problem := sso_config.issuer_problem(
            issuer, allow_http=extension.get().settings.sso_http_allowed
        ):
            raise ValidationFailed(N_("Some fields need attention."), errors={"issuer": [problem]})
        report = sso_client.check_discovery(issuer)
        problem_text = None
        if report.problem is not None:
            problem_text = gettext(report.problem.message, **report.problem.params)
        return {
            "ok": report.ok,
            "issuer": issuer,
            "message": problem_text,
            "signing_keys": report.signing_keys,
            **{
                key: report.metadata.get(key)
                for key in (
                    "authorization_endpoint",
                    "token_endpoint",
                    "jwks_uri",
                    "userinfo_endpoint",
                )
            },
        }
