"""Who is acting, and from where: set once per request, read by ``audit.record``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # user, api_client, system, anonymous
    id: str | None = None
    label: str | None = None  # e-mail or client name, as it was at the time
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


SYSTEM = Actor(kind="system", label="system")
_actor: ContextVar[Actor] = ContextVar("loandesk_audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


@contextmanager
def actor_context(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def set_actor(actor: Actor) -> object:
    """For request hooks that cannot use a ``with`` block; undo with ``reset_actor``."""
    return _actor.set(actor)


def reset_actor(token: object) -> None:
    _actor.reset(token)  # type: ignore[arg-type]
