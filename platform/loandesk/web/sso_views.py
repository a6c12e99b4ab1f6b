"""Single sign-on pages: ``/t/<slug>/sso/login`` sends staff to the tenant's OpenID Connect
provider, ``/t/<slug>/sso/callback`` signs them in; ``/t/<slug>/admin/sso`` is where the tenant
admin sets the provider up."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import FlaskOAuth2App
from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext
from joserfc.errors import JoseError

from loandesk import extension, pii
from loandesk.auth import sso, sso_client, sso_config
from loandesk.auth.sso_models import SsoConfig
from loandesk.errors import NotFound, ValidationFailed
from loandesk.i18n import N_
from loandesk.rbac import service as rbac
from loandesk.security import web as security_web
from loandesk.tenancy import current
from loandesk.tenancy.paths import page_url
from loandesk.web.auth_views import admin_required
from loandesk.web.forms import FormErrors
from loandesk.web.htmx import htmx
from loandesk.web.sign_in import open_session, safe_next

bp = Blueprint("sso", __name__, url_prefix="/sso")
SIGN_IN_TIMEOUT = 600  # seconds from the sign-in button to the provider's answer
admin_bp = Blueprint("admin_sso", __name__, url_prefix="/admin/sso")


def callback_url() -> str:
    """The redirect URI to register at the provider (from the configured base URL, so that it
    is the same behind any proxy)."""
    return page_url(current().slug, "/sso/callback")


@bp.app_template_global("sso_sign_in_option")
def sso_sign_in_option() -> SsoConfig | None:
    """For the sign-in page: the tenant's enabled provider, if any."""
    return sso_config.enabled_config(extension.session())


def _enabled_config() -> SsoConfig:
    config = sso_config.enabled_config(extension.session())
    if config is None:
        abort(404)
    return config


def _client(config: SsoConfig) -> FlaskOAuth2App:
    return sso_client.client_for(
        tenant_id=current().id,
        issuer=config.issuer,
        client_id=config.client_id,
        client_secret=sso_config.client_secret(config, pii.for_current_tenant()),
        scopes=config.scopes,
        version=config.updated_at,
    )


def refusal_page(message: str, status: int, *, title: str | None = None, **params: Any) -> Any:
    """The page that says why a sign-in through a provider did not work (``title``: a
    message id, single sign-on's by default)."""
    return render_template(
        "auth/sso_refused.html",
        message=gettext(message, **params) if params else gettext(message),
        title=gettext(title) if title else None,
    ), status


def refuse(
    refused: sso.SignInRefused,
    *,
    method: str = "oidc",
    shown: Mapping[str, Any] | None = None,
    title: str | None = None,
    **source: str,
) -> Any:
    """Undo what the sign-in began, audit the refusal (``method``, ``source``: see
    ``sso.record_refusal``), and show why (403); ``shown`` fills the message besides the
    refusal's own ``params``."""
    db_session = extension.session()
    db_session.rollback()
    sso.record_refusal(db_session, refused, method=method, **source)
    db_session.commit()
    params = {**(shown or {}), **refused.params}
    return refusal_page(refused.message, 403, title=title, **params)


@bp.get("/login")
def login() -> Any:
    """Start the authorization-code flow: state, nonce and PKCE verifier go into the session."""
    config = _enabled_config()
    security_web.check_sso_sign_in()  # 429 when this address tries too often
    try:
        client = _client(config)
    except sso_client.ProviderError as problem:
        extension.log_failure("single sign-on discovery", problem)
        return refusal_page(
            N_("The identity provider cannot be reached right now: %(reason)s"),
            502,
            reason=gettext(problem.message, **problem.params),
        )
    locale = "zh-CN" if str(get_locale() or "zh").startswith("zh") else "en"
    redirect_uri = callback_url()
    found = client.create_authorization_url(redirect_uri, ui_locales=locale)
    client.save_authorize_data(
        redirect_uri=redirect_uri,
        next=request.args.get("next", "")[:500],
        started_at=int(time.time()),
        **found,
    )
    return redirect(found["url"])


@bp.get("/callback")
def callback() -> Any:
    """The provider sends the browser back here with a code; exchange it, validate the ID
    token, find or create the user, and start the session as a password sign-in does."""
    config = _enabled_config()
    try:
        client = _client(config)
    except sso_client.ProviderError as problem:
        extension.log_failure("single sign-on discovery", problem)
        return refusal_page(
            N_("The identity provider cannot be reached right now: %(reason)s"),
            502,
            reason=gettext(problem.message, **problem.params),
        )
    state = request.args.get("state", "")
    started = client.framework.get_state_data(session, state) if state else None
    if started is None or time.time() - started.get("started_at", 0) > SIGN_IN_TIMEOUT:
        # not begun in this browser, for this tenant, in the last few minutes
        if started is not None:
            client.framework.clear_state_data(session, state)
        return refusal_page(
            N_("This sign-in was not started in this browser, or it took too long. Start again."),
            400,
        )
    db_session = extension.session()
    issuer = str(client.server_metadata["issuer"])
    try:
        claims = _validated_claims(client, config)
        user = sso.sign_in(db_session, config, claims)
    except sso.SignInRefused as refused:
        return refuse(refused, issuer=issuer)
    db_session.commit()
    open_session(user)
    return redirect(safe_next(started.get("next")))


def _validated_claims(client: FlaskOAuth2App, config: SsoConfig) -> dict[str, Any]:
    """The ID token's claims, after authlib checked signature (JWKS), issuer, audience,
    expiry, nonce and at_hash; UserInfo fills in e-mail or the role claim when the ID token
    lacks them."""
    if request.args.get("error"):
        client.framework.clear_state_data(session, request.args.get("state"))
        raise sso.SignInRefused(
            "provider_error",
            N_("The identity provider did not sign you in. Try again, or ask your administrator."),
            detail={"error": request.args["error"][:100]},
        )
    try:
        token = client.authorize_access_token(claims_options=sso_client.claims_options(client))
        if not token.get("userinfo"):
            raise sso_client.ProviderError(N_("The provider sent no ID token."))
        claims = dict(token["userinfo"])
        if "email" not in claims or sso.claim_at(claims, config.role_claim) is None:
            extra = sso_client.userinfo_claims(client, token)
            if extra and extra.get("sub") != claims["sub"]:
                raise sso_client.ProviderError(
                    N_("The provider's user information is not about the signed-in user.")
                )
            claims = {**extra, **claims}
    except (
        AuthlibBaseError,
        JoseError,
        sso_client.ProviderError,
        requests.RequestException,
        ValueError,
    ) as exc:
        raise sso.SignInRefused(
            "invalid_token",
            N_(
                "The identity provider's answer could not be verified. Try again; if it keeps "
                "failing, ask your administrator."
            ),
            detail={"error": f"{type(exc).__name__}: {exc}"[:300]},
        ) from None
    return claims


# --- the admin page --------------------------------------------------------------------------


def _mapping_text(mapping: dict[str, list[str]]) -> str:
    return "\n".join(f"{value} = {', '.join(keys)}" for value, keys in mapping.items())


def parse_mapping(text: str) -> tuple[dict[str, list[str]], list[str]]:
    """``claim value = role_key, role_key``, one per line (a value may itself hold "=": the
    last one separates). Blank lines and lines starting with # are skipped."""
    mapping: dict[str, list[str]] = {}
    problems: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        value, sep, keys = line.rpartition("=")
        role_keys = [k.strip() for k in keys.split(",") if k.strip()]
        if not sep or not value.strip() or not role_keys:
            problems.append(N_("Write one mapping per line: claim value = role key, role key."))
            continue
        mapping.setdefault(value.strip(), [])
        mapping[value.strip()] = sorted({*mapping[value.strip()], *role_keys})
    return mapping, list(dict.fromkeys(problems))


def _form_values(config: SsoConfig | None) -> dict[str, Any]:
    if config is None:
        return {
            "issuer": "",
            "client_id": "",
            "display_name": "",
            "scopes": sso_config.DEFAULT_SCOPES,
            "role_claim": sso_config.DEFAULT_ROLE_CLAIM,
            "role_mapping": "",
            "provision_users": False,
            "password_sign_in": True,
            "enabled": False,
        }
    return {
        **{key: getattr(config, key) for key in sso_config.FIELDS if key != "client_secret"},
        "role_mapping": _mapping_text(config.role_mapping),
    }


def _render(
    config: SsoConfig | None,
    values: dict[str, Any],
    errors: FormErrors,
    report: sso_client.DiscoveryReport | None = None,
    status: int = 200,
) -> Any:
    locale = str(get_locale() or "zh")
    roles = [(role.key, role.name(locale)) for role in rbac.list_roles(extension.session())]
    return render_template(
        "admin/sso.html",
        config=config,
        values=values,
        errors=errors,
        report=report,
        roles=roles,
        callback_url=callback_url(),
    ), status


@admin_bp.get("", endpoint="settings")
@admin_required
def settings_page() -> Any:
    config = sso_config.get_config(extension.session())
    return _render(config, _form_values(config), FormErrors())


@admin_bp.post("")
@admin_required
def settings_save() -> Any:
    db_session = extension.session()
    config = sso_config.get_config(db_session)
    form = request.form
    values: dict[str, Any] = {
        key: form.get(key, "")
        for key in ("issuer", "client_id", "display_name", "scopes", "role_claim", "role_mapping")
    }
    for flag in ("provision_users", "password_sign_in", "enabled"):
        values[flag] = form.get(flag) == "on"
    errors = FormErrors()
    mapping, problems = parse_mapping(values["role_mapping"])
    for problem in problems:
        errors.add("role_mapping", gettext(problem))
    if not errors:
        try:
            sso_config.save_config(
                db_session,
                keyring=pii.for_current_tenant(),
                values={
                    **values,
                    "role_mapping": mapping,
                    "client_secret": form.get("client_secret", ""),
                },
                acting_user_id=g.user.id,
                allow_http=extension.get().settings.sso_http_allowed,
            )
        except ValidationFailed as invalid:
            db_session.rollback()
            errors.update(invalid)
        else:
            db_session.commit()
            sso_client.forget(current().id)
            flash(gettext("Saved."), "success")
            return redirect(url_for("tenant.admin_sso.settings"))
    return _render(config, values, errors, status=422)


@admin_bp.post("/test")
@admin_required
def discovery_test() -> Any:
    """Read the provider's discovery document and signing keys; htmx swaps in the result."""
    config = sso_config.get_config(extension.session())
    issuer = (request.form.get("issuer") or (config.issuer if config else "")).strip().rstrip("/")
    problem = sso_config.issuer_problem(
        issuer, allow_http=extension.get().settings.sso_http_allowed
    )
    report = (
        sso_client.DiscoveryReport(issuer, problem=sso_client.ProviderError(problem))
        if problem
        else sso_client.check_discovery(issuer)
    )
    if htmx:
        return render_template("admin/_sso_discovery.html", report=report)
    values = {**_form_values(config), "issuer": issuer}
    return _render(config, values, FormErrors(), report=report)


@admin_bp.post("/delete")
@admin_required
def settings_delete() -> Any:
    db_session = extension.session()
    try:
        sso_config.delete_config(db_session)
    except NotFound:
        abort(404)
    db_session.commit()
    sso_client.forget(current().id)
    flash(gettext("Single sign-on is removed. Staff sign in with their passwords."), "success")
    return redirect(url_for("tenant.admin_sso.settings"))
