"""Server-side web sessions: the cookie holds only a random id; the data stays in the database.

``web_sessions`` is a platform table (like ``tenants``): it is read before the tenant of a
request is known. A session belongs to at most one tenant (``tenant_id``), and the views accept
its sign-in only on that tenant's pages.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from datetime import datetime
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import JSON, String, Uuid, delete
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.datastructures import CallbackDict

from loandesk.db import Base, Database, UTCDateTime, utcnow
from loandesk.security import session_policy

COOKIE_NAME = "loandesk_session"
# The API authenticates with bearer tokens only; static files need no session.
SESSIONLESS_PREFIXES = ("/api/", "/oauth/", "/static/", "/healthz", "/readyz")


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie value
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)  # who signed in
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ServerSession(CallbackDict[str, Any], SessionMixin):
    def __init__(self, initial: dict[str, Any] | None = None, sid: str | None = None) -> None:
        def on_update(_self: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.sid = sid
        self.modified = False
        self.rotate = False

    def regenerate(self) -> None:
        """Give the session a new id at the next save (at sign-in: no session fixation)."""
        self.rotate = True
        self.modified = True


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class DatabaseSessionInterface(SessionInterface):
    def __init__(self, db: Database) -> None:
        self.db = db

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        if request.path.startswith(SESSIONLESS_PREFIXES):
            return ServerSession()
        sid = request.cookies.get(COOKIE_NAME)
        if not sid or len(sid) > 100:
            return ServerSession()
        with self.db.transaction() as s:
            row = s.get(WebSession, _key(sid))
            if row is None or row.expires_at <= utcnow():
                return ServerSession()
            return ServerSession(dict(row.data), sid=sid)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ServerSession)
        cookie = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "httponly": True,
            "secure": self.get_cookie_secure(app),
            "samesite": "Lax",
        }
        if not session:
            if session.sid:
                self._delete(session.sid)
                response.delete_cookie(COOKIE_NAME, **cookie)  # type: ignore[arg-type]
            return
        if not session.modified and session.sid:
            return
        lifetime = app.permanent_session_lifetime
        expires = utcnow() + lifetime
        old_sid = session.sid
        if session.rotate or not session.sid:
            session.sid = secrets.token_urlsafe(32)
        session_policy.stamp(session, time.time())  # the sign-in time, for the timeouts
        tenant_id = session.get("tenant_id")
        with self.db.transaction() as s:
            if old_sid and old_sid != session.sid:
                s.execute(delete(WebSession).where(WebSession.id == _key(old_sid)))
            row = s.get(WebSession, _key(session.sid))
            if row is None:
                row = WebSession(id=_key(session.sid))
                s.add(row)
            row.data = dict(session)
            row.tenant_id = uuid.UUID(tenant_id) if tenant_id else None
            user_id = session.get("user_id")
            row.user_id = uuid.UUID(user_id) if user_id else None
            row.expires_at = expires
        session.rotate = False
        response.set_cookie(
            COOKIE_NAME,
            session.sid,
            expires=expires,
            **cookie,  # type: ignore[arg-type]
        )
        response.vary.add("Cookie")

    def _delete(self, sid: str) -> None:
        with self.db.transaction() as s:
            s.execute(delete(WebSession).where(WebSession.id == _key(sid)))


def purge_expired(db: Database, now: datetime | None = None) -> int:
    """Delete expired sessions; a periodic job calls this."""
    with db.transaction() as s:
        result = s.execute(delete(WebSession).where(WebSession.expires_at <= (now or utcnow())))
        return int(getattr(result, "rowcount", 0) or 0)


def end_sessions_of(db_session: Session, user_id: uuid.UUID, *, keep_sid: str | None = None) -> int:
    """Sign a user out everywhere (but ``keep_sid``): after a password change or reset."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_sid:
        query = query.where(WebSession.id != _key(keep_sid))
    result = db_session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)
