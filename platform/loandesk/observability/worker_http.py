"""``loandesk worker --metrics-port``: a worker's own ``/metrics``.

A worker has no web server, so the jobs and close-of-business runs it counts reach Prometheus
only through a web process sharing its ``PROMETHEUS_MULTIPROC_DIR``, which a worker on its own
host or pod does not have. With ``--metrics-port`` the worker answers ``GET /metrics`` itself,
on a thread, with the same rule as the web's: only while ``LOANDESK_METRICS_TOKEN`` is set and
only to ``Authorization: Bearer <token>``. It serves this process's metrics (or those of every
process sharing the multiprocess folder); the queue depth stays with the web processes, so a
scrape of every worker does not count the queues again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST

from loandesk.observability import metrics

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def wsgi(token: str) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application of the worker's metrics address."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b"method not allowed\n"]
        if not metrics.authorized(token, environ.get("HTTP_AUTHORIZATION", "")):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", metrics.CHALLENGE)],
            )
            return [metrics.UNAUTHORIZED.encode()]
        body = metrics.process_metrics()
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Cache-Control", "no-store")]
        )
        return [body]

    return application


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would drown the worker's log."""


def serve(token: str, host: str, port: int) -> WSGIServer:
    """Start answering ``/metrics`` on ``host:port`` in a daemon thread; the server (its
    ``server_port`` is the port bound, ``shutdown()`` stops it)."""
    server = make_server(host, port, wsgi(token), handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="loandesk-metrics", daemon=True).start()
    return server
