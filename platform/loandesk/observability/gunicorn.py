"""gunicorn's logs as JSON lines (``LOANDESK_LOG_FORMAT=json``): its error log, and its access
log with the request's method, path, status, duration, size and request id as fields. The
access line itself is masked by the personal-data filter on ``gunicorn.access``; the fields by
the JSON formatter."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from loandesk.observability.logs import EXTRA, JsonFormatter


class JsonLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        fields = {
            "request_id": atoms.get("{x-request-id}o"),
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"] or None,
            "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
            "duration_ms": atoms["M"],
            "bytes": atoms["B"],
            "remote_addr": atoms["h"],
            "user_agent": atoms["a"],
        }
        try:
            self.access_log.info(
                "%s %s %s",
                atoms["m"],
                atoms["U"],
                atoms["s"],
                extra={EXTRA: {k: v for k, v in fields.items() if v not in (None, "-")}},
            )
        except Exception:
            self.exception("access log")
