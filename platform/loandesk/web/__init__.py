"""The htmx web shell: layout, navigation, language, CSRF, error pages, and the core's pages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request, session
from flask_babel import Babel, get_locale, lazy_gettext

from loandesk import extension
from loandesk.i18n import LOCALES, normalise_locale
from loandesk.tenancy.web import tenant_blueprint
from loandesk.web import admin_views, auth_views, csrf, errors, home_views, public_views

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any
    section: Any
    admin_only: bool = False


# The core's entries; plugins add theirs through a hook (the plugin issue).
CORE_NAV = (
    NavItem("tenant.home.index", lazy_gettext("Home"), lazy_gettext("Workspace")),
    NavItem("tenant.admin.users", lazy_gettext("Users"), lazy_gettext("Administration"), True),
    NavItem(
        "tenant.admin.api_clients",
        lazy_gettext("API clients"),
        lazy_gettext("Administration"),
        True,
    ),
)


def select_locale() -> str:
    if request.path.startswith(("/api/", "/oauth/")):
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        return normalise_locale(best) or "en"
    for candidate in (
        request.args.get("lang"),
        session.get("locale"),
        getattr(g.get("user"), "locale", None),
        getattr(g.get("tenant"), "locale", None),
    ):
        if (locale := normalise_locale(candidate)) is not None:
            return locale
    return extension.get().settings.default_locale


def select_timezone() -> str:
    """Times show in the tenant's timezone (DESIGN §5: UTC in the database)."""
    tenant = g.get("tenant")
    return tenant.timezone if tenant is not None else "Asia/Shanghai"


def _shell_context() -> dict[str, Any]:
    user = g.get("user")
    items = [i for i in CORE_NAV if not i.admin_only or (user is not None and user.is_admin)]
    return {
        "current_tenant": g.get("tenant"),
        "current_user": user,
        "nav_items": items if user is not None else [],
        "locales": LOCALES,
    }


def _vary_on_htmx(response: Response) -> Response:
    # One URL serves a full page or, to htmx, a fragment: caches must keep them apart.
    if not request.path.startswith(("/api/", "/oauth/", "/static/")):
        response.vary.add("HX-Request")
    return response


def init_app(app: Flask) -> None:
    Babel(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(TRANSLATIONS),
    )
    csrf.init_app(app)
    errors.init_app(app)
    app.context_processor(_shell_context)
    app.after_request(_vary_on_htmx)
    app.jinja_env.globals["get_locale"] = get_locale

    pages = tenant_blueprint()
    pages.before_request(auth_views.load_user)
    for blueprint in (auth_views.bp, home_views.bp, admin_views.bp):
        pages.register_blueprint(blueprint)
    app.register_blueprint(pages)
    app.register_blueprint(public_views.bp)
