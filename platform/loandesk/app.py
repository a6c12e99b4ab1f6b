"""``create_app(settings)``: the only place that wires extensions, blueprints and plugins."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Flask

from loandesk import api, extension, health
from loandesk.audit import web as audit_web
from loandesk.auth import oauth
from loandesk.db import Database
from loandesk.jobs import runtime as jobs_runtime
from loandesk.observability import logs, metrics
from loandesk.pii import logfilter
from loandesk.plugins import runtime as plugin_runtime
from loandesk.plugins.host import PluginHost
from loandesk.security import web as security_web
from loandesk.settings import Settings
from loandesk.tenancy import guard
from loandesk.tenancy import web as tenancy_web
from loandesk.web import init_app as init_web
from loandesk.web.htmx import htmx
from loandesk.web.sessions import DatabaseSessionInterface

PACKAGE_DIR = Path(__file__).resolve().parent
# The core shell's templates live at the top of the source tree (DESIGN §1).
SOURCE_TEMPLATES = PACKAGE_DIR.parents[1] / "templates"


def create_app(settings: Settings | None = None, *, plugins: Iterable[object] = ()) -> Flask:
    """Build the app. Plugins are those installed in the ``loandesk.plugins`` entry-point
    group, plus ``plugins`` (plugin modules or objects), for embedding and tests."""
    settings = settings or Settings.from_env()
    from loandesk.fields import search_values

    search_values.install()  # search rows of custom fields follow every write (PostgreSQL)
    instance_path = Path(settings.instance_path).resolve()
    instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(
        "loandesk",
        root_path=str(PACKAGE_DIR),
        instance_path=str(instance_path),
        template_folder=str(settings.templates_path or SOURCE_TEMPLATES),
        static_folder=str(PACKAGE_DIR / "web" / "static"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime,
        SESSION_COOKIE_SECURE=not settings.is_embedded,
        SESSION_COOKIE_SAMESITE="Lax",
        # room for the largest upload allowed, with the rest of its form
        MAX_CONTENT_LENGTH=max(16 * 1024 * 1024, settings.attachment_max_size + 1024 * 1024),
        PREFERRED_URL_SCHEME="http" if settings.is_embedded else "https",
    )
    logs.configure(settings.log_format, (app.logger,))
    logfilter.install([app.logger])  # before anything can log personal data
    metrics.init_app(app)  # first: its after-request hook runs last and sees the final status
    db = Database(settings.database_url, echo=settings.sql_echo)
    guard.install(db.session_factory)
    extension.LoanDesk(settings=settings, db=db).init_app(app)
    app.session_interface = DatabaseSessionInterface(db)
    app.teardown_appcontext(lambda _exc: db.session.remove())

    plugin_host = PluginHost()
    plugin_host.discover()
    for plugin in plugins:
        plugin_host.register(plugin)
    plugin_host.gather()
    plugin_runtime.init_app(app, plugin_host)
    jobs_runtime.init_app(app, db, settings.redis_url, plugin_host)

    htmx.init_app(app)
    audit_web.init_app(app)
    tenancy_web.init_app(app)
    init_web(app, plugin_host)
    security_web.init_app(app, settings, db)  # after the web shell: follows its CSRF check
    api.init_app(app, plugin_host)
    oauth.init_app(app)
    health.init_app(app)
    return app
