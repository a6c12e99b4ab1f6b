"""``/healthz``: the process answers. ``/readyz``: the database (and Redis, where set) answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask
from sqlalchemy import text

from loandesk import extension

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> Any:
    ext = extension.get()
    checks: dict[str, str] = {}
    try:
        with ext.db.engine.connect() as connection:
            connection.execute(text("select 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log only
        extension.log_failure("readyz: database", exc)
        checks["database"] = "unavailable"
    if ext.settings.redis_url:
        import redis

        try:
            redis.Redis.from_url(ext.settings.redis_url, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            extension.log_failure("readyz: redis", exc)
            checks["redis"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
