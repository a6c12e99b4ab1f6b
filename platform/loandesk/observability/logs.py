"""Log records that say where they come from, and JSON log lines (``LOANDESK_LOG_FORMAT=json``).

Every record gets ``request_id``, ``tenant`` (slug), ``user_id``, ``job_id`` and ``job_name``
from the context it was logged in (the request's actor and tenant, the running job), so a text
format of one's own can print them too. The JSON formatter writes one object per line; the
message and traceback it prints were masked by the personal-data filter (``pii.logfilter``),
which every handler keeps, and the few structured fields it adds are masked the same way.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from loandesk.audit.context import current_actor
from loandesk.pii import logfilter
from loandesk.tenancy.context import current_or_none

CONTEXT_FIELDS = ("request_id", "tenant", "user_id", "job_id", "job_name")
# Structured fields a logger may pass in ``extra={"fields": {...}}`` (gunicorn's access log).
EXTRA = "fields"

_job: ContextVar[tuple[str, str] | None] = ContextVar("loandesk_log_job", default=None)


@contextmanager
def job_context(job_id: str, name: str) -> Iterator[None]:
    """Records logged inside the block carry the job's id and name."""
    token = _job.set((job_id, name))
    try:
        yield
    finally:
        _job.reset(token)


def context() -> dict[str, str | None]:
    """Where a record logged now comes from (None where unknown)."""
    actor = current_actor()
    tenant = current_or_none()
    job = _job.get()
    return {
        "request_id": actor.request_id,
        "tenant": tenant.slug if tenant else None,
        "user_id": actor.id if actor.kind == "user" else None,
        "job_id": job[0] if job else None,
        "job_name": job[1] if job else None,
    }


class ContextFilter(logging.Filter):
    """Stamps a record with ``context()`` once (the first handler's filter wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            for key, value in context().items():
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (ISO 8601, UTC), level, logger, message, the context
    fields that are known, structured ``fields`` and the exception text."""

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            ContextFilter().filter(record)
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        extra = getattr(record, EXTRA, None)
        if isinstance(extra, dict):
            for key, value in extra.items():
                line.setdefault(key, logfilter.scrub(value) if isinstance(value, str) else value)
        if record.exc_info and not record.exc_text:
            record.exc_text = logfilter.scrub(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def _is_ours(handler: logging.Handler) -> bool:
    return getattr(handler, "_loandesk_json", False)


def configure(log_format: str, loggers: tuple[logging.Logger, ...] = ()) -> None:
    """Stamp the context on the records of the root logger's and ``loggers``' handlers; with
    ``json``, the root logger writes JSON lines to stderr (once per process) and the handlers
    ``loggers`` had (Flask's default one) give way to it."""
    root = logging.getLogger()
    if log_format == "json":
        if not any(_is_ours(h) for h in root.handlers):
            json_lines = logging.StreamHandler(sys.stderr)
            json_lines.setFormatter(JsonFormatter())
            json_lines._loandesk_json = True  # type: ignore[attr-defined]
            json_lines.addFilter(logfilter.PersonalDataFilter())
            root.addHandler(json_lines)
        for logger in loggers:
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
    for handler in (*root.handlers, *(h for lg in loggers for h in lg.handlers)):
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
