"""Prometheus metrics (``prometheus_client``) and ``GET /metrics``.

Labels are bounded: the route template (``/t/<tenant_slug>/loans/<uuid:loan_id>``, or
``/loans/<uuid:loan_id>`` in single-tenant mode; never the path), the status class, a job's
registered name, a queue's name. No tenant, id or personal data is ever a label.
``GET /metrics`` exists only while ``LOANDESK_METRICS_TOKEN`` is set and answers only to
``Authorization: Bearer <token>``. With ``PROMETHEUS_MULTIPROC_DIR`` set (before the process
starts), the values of every process that shares the folder (gunicorn's workers,
``loandesk worker`` on the same host) are added up (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request, request_started
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from loandesk import extension

HTTP_REQUESTS = Counter(
    "loandesk_http_requests_total",
    "HTTP requests answered, by method, route template and status class.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "loandesk_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
)
JOBS = Counter(
    "loandesk_jobs_total",
    "Background jobs run, by job name and outcome (done, error, skipped).",
    ["job", "outcome"],
)
JOB_DURATION = Histogram(
    "loandesk_job_duration_seconds",
    "Time a background job ran, by job name.",
    ["job"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)


def counter(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
    """A counter of the plugin's own (plugin SDK): made once, at import; named
    ``loandesk_<plugin>_..._total``; labels bounded, never a tenant, id or personal data."""
    return Counter(_checked(name), documentation, list(labels))


def histogram(
    name: str,
    documentation: str,
    labels: tuple[str, ...] = (),
    buckets: tuple[float, ...] = Histogram.DEFAULT_BUCKETS,
) -> Histogram:
    """A histogram of the plugin's own (plugin SDK), as ``counter``; ``buckets`` in the unit
    of the name (``_seconds``)."""
    return Histogram(_checked(name), documentation, list(labels), buckets=buckets)


def _checked(name: str) -> str:
    if not name.startswith("loandesk_"):
        raise ValueError(f"metric {name!r} must be named loandesk_<plugin>_...")
    return name


# Requests that matched no route (404s of made-up paths) share one label.
UNMATCHED = "<unmatched>"
# A client may send any method name; the others share one label.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Any:
    token = extension.get().settings.metrics_token
    if not token:
        abort(404)
    if not authorized(token, request.headers.get("Authorization", "")):
        return Response(UNAUTHORIZED, 401, {"WWW-Authenticate": CHALLENGE}, "text/plain")
    body = generate_latest(_registry()) + generate_latest(_queues_registry(current_app))
    return Response(body, 200, {"Cache-Control": "no-store"}, CONTENT_TYPE_LATEST)


UNAUTHORIZED = "unauthorized\n"
CHALLENGE = 'Bearer realm="metrics"'


def authorized(token: str, header: str) -> bool:
    """Whether an ``Authorization`` header carries the metrics token (constant time)."""
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def process_metrics() -> bytes:
    """This process's metrics (or, in multiprocess mode, those of every process sharing the
    folder) in the Prometheus text format, without the queue depth."""
    return generate_latest(_registry())


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _queues_registry(app: Flask) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueDepth(app))
    return registry


class QueueDepth(Collector):
    """``loandesk_queue_depth{queue}``: jobs waiting in each rq queue, read (``LLEN``) when
    scraped. Absent in the embedded mode (jobs in the database, no rq queue)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        from loandesk.jobs.rq_backend import RQBackend

        registry = self.app.extensions["loandesk.jobs"]
        backend = registry.backend
        if not isinstance(backend, RQBackend):
            return
        family = GaugeMetricFamily(
            "loandesk_queue_depth", "Jobs waiting in the rq queue.", labels=["queue"]
        )
        try:
            for name in registry.queues:
                family.add_metric([name], backend.queue(name).count)
        except Exception as exc:  # Redis away: no value rather than a failed scrape
            extension.log_failure("metrics: queue depth", exc)
            return
        yield family


# --- requests --------------------------------------------------------------------------------


def _started(sender: Flask, **_: Any) -> None:
    g._metrics_started = time.perf_counter()


def _answered(response: Response) -> Response:
    rule = request.url_rule
    route = rule.rule if rule is not None else UNMATCHED
    method = request.method if request.method in METHODS else "other"
    HTTP_REQUESTS.labels(method, route, f"{response.status_code // 100}xx").inc()
    started = g.pop("_metrics_started", None)
    if started is not None:
        HTTP_DURATION.labels(route).observe(time.perf_counter() - started)
    return response


# --- jobs ------------------------------------------------------------------------------------


def job_finished(name: str, outcome: str, seconds: float) -> None:
    """Count a job that ran (``outcome``: done, error or skipped) and how long it took."""
    JOBS.labels(name, outcome).inc()
    if outcome != "skipped":
        JOB_DURATION.labels(name).observe(seconds)


def init_app(app: Flask) -> None:
    request_started.connect(_started, app)
    app.after_request(_answered)
    app.register_blueprint(bp)
