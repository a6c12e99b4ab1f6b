"""Signing in through a plugin's provider (``loandesk_sign_in_providers``: 钉钉登录, ...):
``/t/<slug>/sign-in/<key>`` sends the browser to the provider with a fresh ``state``,
``/t/<slug>/sign-in/<key>/callback`` checks it, lets the plugin identify the person and name
the staff member, and signs them in as single sign-on does (``loandesk.auth.sign_in_providers``).

The ``state`` is random (authlib's token generator, as for single sign-on), kept in the
browser's session with the tenant, the provider and an expiry, and good once: a callback that
this browser did not start here in the last ``SIGN_IN_TIMEOUT`` seconds signs nobody in (CSRF
on the sign-in: nobody can make a victim's browser sign in as the attacker).
"""

from __future__ import annotations

import hmac
from typing import Any

from authlib.common.security import generate_token
from flask import Blueprint, abort, current_app, redirect, request, session
from flask_babel import get_locale

from loandesk import extension
from loandesk.auth import sign_in_providers
from loandesk.auth.sign_in_providers import SignInProvider, SignInRefused
from loandesk.i18n import N_
from loandesk.plugins import runtime
from loandesk.security import web as security_web
from loandesk.tenancy import current
from loandesk.tenancy.paths import page_url
from loandesk.web import sign_in
from loandesk.web.sso_views import SIGN_IN_TIMEOUT, refusal_page, refuse

bp = Blueprint("provider_sign_in", __name__, url_prefix="/sign-in")
STATE = "provider_sign_in"  # the session key of the sign-in under way
TITLE = N_("Sign-in did not work")


def providers() -> dict[str, SignInProvider]:
    """The sign-in providers the current tenant's enabled plugins offer, by key."""
    found: dict[str, SignInProvider] = {}
    for offered in runtime.hook("loandesk_sign_in_providers")():
        for provider in offered or ():
            if not isinstance(provider, SignInProvider):
                raise TypeError(f"{provider!r} is not a loandesk.sdk.SignInProvider")
            found.setdefault(provider.key, provider)
    return found


def label(provider: SignInProvider) -> str:
    return provider.label_zh if str(get_locale() or "zh").startswith("zh") else provider.label_en


@bp.app_template_global("sign_in_provider_buttons")
def buttons() -> list[tuple[str, str]]:
    """For the sign-in page: (key, label) of each provider offered here. A plugin failing
    here is logged and shows no button: the password form must stay usable."""
    try:
        offered = providers()
    except Exception as exc:  # any plugin's bug, logged with its traceback
        extension.log_failure("sign-in providers", exc)
        return []
    return [(key, label(provider)) for key, provider in sorted(offered.items())]


def callback_url(key: str) -> str:
    """The redirect URI to register at the provider (from the configured base URL, so that
    it is the same behind any proxy)."""
    return page_url(current().slug, f"/sign-in/{key}/callback")


def _provider(key: str) -> SignInProvider:
    provider = providers().get(key)
    if provider is None:  # no such provider, or its plugin is off or not set up here
        abort(404)
    return provider


def _clock() -> float:
    return float(current_app.extensions[sign_in.CLOCK]())


@bp.get("/<key>")
def start(key: str) -> Any:
    """Send the browser to the provider, with a new state bound to this session."""
    provider = _provider(key)
    security_web.check_sso_sign_in()  # 429 when this address tries too often
    state = generate_token(48)
    session[STATE] = {
        "state": state,
        "provider": key,
        "tenant_id": str(current().id),
        "expires_at": int(_clock()) + SIGN_IN_TIMEOUT,
        "next": request.args.get("next", "")[:500],
    }
    return redirect(provider.authorize_url(state, callback_url(key)))


def _started(key: str) -> dict[str, Any] | None:
    """The sign-in this browser started here for this provider, if the callback's state is
    its state and it has not expired; it is dropped either way (a state is good once)."""
    started: Any = session.pop(STATE, None)
    state = request.args.get("state", "")
    if (
        not isinstance(started, dict)
        or not state
        or not hmac.compare_digest(str(started.get("state", "")), state)
        or started.get("provider") != key
        or started.get("tenant_id") != str(current().id)
        or not isinstance(started.get("expires_at"), int)
        or started["expires_at"] < _clock()
    ):
        return None
    return started


@bp.get("/<key>/callback")
def callback(key: str) -> Any:
    """The provider sends the browser back here with a code: check the state, let the plugin
    identify the person and name the staff member, and start the session as single sign-on
    does (no second factor: the provider authenticated them)."""
    provider = _provider(key)
    started = _started(key)
    if started is None:
        return refusal_page(
            N_("This sign-in was not started in this browser, or it took too long. Start again."),
            400,
            title=TITLE,
        )
    db_session = extension.session()
    shown = {"provider": label(provider)}
    external_id = ""
    try:
        if request.args.get("error"):
            raise SignInRefused(
                "provider_error",
                N_("%(provider)s did not sign you in. Try again, or ask your administrator."),
                detail={"error": request.args["error"][:100]},
            )
        code = request.args.get(provider.code_parameter, "")
        if not code:
            raise SignInRefused(
                "invalid_token",
                N_("%(provider)s sent no sign-in code. Start again."),
            )
        external_id = provider.identify(code, callback_url(key))
        user = sign_in_providers.sign_in(db_session, provider, external_id, now=sign_in.now())
    except SignInRefused as refused:
        source = {"subject": external_id[:255]} if external_id else {}
        return refuse(refused, method=key, shown=shown, title=TITLE, **source)
    db_session.commit()
    sign_in.open_session(user)
    return redirect(sign_in.safe_next(started.get("next")))
