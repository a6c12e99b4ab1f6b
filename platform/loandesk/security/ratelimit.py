"""Rate limits: fixed-window counters, in Redis when it is configured, else in the database.

A rule (``login_ip``, ``signup_ip``, ...) counts the requests of one subject (an IP address, an
account, a client id) in windows of its period aligned on the Unix epoch. Subjects are stored
only as SHA-256 digests, so neither Redis nor the table holds e-mail addresses or IPs.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from loandesk.db import Database
from loandesk.security.models import RateLimitCounter
from loandesk.settings import Rate

REDIS_PREFIX = "loandesk:rl:"
# The database backend deletes counters of past windows at most this often (per process).
PRUNE_EVERY = 60.0


class CountersUnavailable(Exception):
    """The counter store did not answer (Redis down): the caller decides to let the request
    through, since the account lock-out still guards passwords."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window ends (0 when the rule is off)


class CounterStore(Protocol):
    def hit(self, key: str, window_end: int) -> int:
        """Add one to ``key``'s counter, which may be forgotten after ``window_end`` (Unix
        seconds); return the count including this hit."""


class RedisCounters:
    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def hit(self, key: str, window_end: int) -> int:
        import redis

        name = REDIS_PREFIX + key
        pipe = self.redis.pipeline(transaction=True)  # MULTI: INCR and EXPIREAT together
        pipe.incr(name)
        pipe.expireat(name, window_end + 1)
        try:
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            raise CountersUnavailable(str(exc)) from exc
        return int(count)


class DatabaseCounters:
    """One row per (rule, subject, window), incremented with an atomic upsert."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        self._next_prune = 0.0
        self._lock = threading.Lock()

    def hit(self, key: str, window_end: int) -> int:
        dialect = postgresql if self.db.dialect == "postgresql" else sqlite
        statement = (
            dialect.insert(RateLimitCounter)
            .values(key=key, count=1, expires_at=_utc(window_end))
            .on_conflict_do_update(
                index_elements=["key"], set_={"count": RateLimitCounter.count + 1}
            )
            .returning(RateLimitCounter.count)
        )
        with self.db.transaction() as session:
            count = int(session.execute(statement).scalar_one())
        self._prune_now_and_then()
        return count

    def prune(self, now: float | None = None) -> int:
        """Delete the counters of windows that have ended; returns how many."""
        moment = _utc(self.clock() if now is None else now)
        with self.db.transaction() as session:
            result = session.execute(
                delete(RateLimitCounter).where(RateLimitCounter.expires_at <= moment)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def _prune_now_and_then(self) -> None:
        now = self.clock()
        with self._lock:
            if now < self._next_prune:
                return
            self._next_prune = now + PRUNE_EVERY
        self.prune(now)


class RateLimiter:
    """Counts hits of a rule per subject; the same interface over both stores."""

    def __init__(self, store: CounterStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def hit(self, rule: str, subject: str, rate: Rate) -> Verdict:
        if not rate.enabled:
            return Verdict(True, 0, 0)
        now = self.clock()
        period = int(rate.period.total_seconds())
        window = int(now // period)
        window_end = (window + 1) * period
        count = self.store.hit(f"{rule}:{digest(subject)}:{window}", window_end)
        return Verdict(count <= rate.count, count, max(1, math.ceil(window_end - now)))


def digest(subject: str) -> str:
    return hashlib.sha256(subject.encode()).hexdigest()


def client_network(address: str | None) -> str:
    """The subject for per-IP limits: the IPv4 address, or the /64 of an IPv6 address (one
    client usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
