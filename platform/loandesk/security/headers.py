"""Security headers on every response: pages, fragments, the API, static files, errors.

The UI runs under a policy without inline scripts or styles: htmx and ``loandesk.js`` come
from ``/static``, htmx reads its configuration from a ``<meta>`` tag as JSON, and the templates
set ``includeIndicatorStyles: false`` so that htmx injects no ``<style>``. The API's JSON needs
nothing at all. Only the API docs (Redoc) get a wider policy, on their one path. A view may
set its own ``Content-Security-Policy``; it is kept.
"""

from __future__ import annotations

from flask import Response, request

PAGES_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # data: for images that charts export (ECharts' save as image)
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
API_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# Redoc (vendored at /static/vendor/redoc/) styles itself with injected <style> elements and the
# docs template has an inline one; it runs its search index in a worker made from a blob: URL.
# Its attribution logo from Redocly's CDN stays blocked (Redoc hides it when it fails to load).
DOCS_PATH = "/api/docs"
DOCS_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",  # its icons are data: SVGs
        "connect-src 'self'",
        "worker-src blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


def policy_for(path: str) -> str:
    if path == DOCS_PATH:
        return DOCS_POLICY
    if path.startswith(("/api/", "/oauth/")):
        return API_POLICY
    return PAGES_POLICY


def add_security_headers(response: Response, *, hsts_max_age: int = 0) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy_for(request.path))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors, for older browsers
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if hsts_max_age > 0:
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts_max_age}")
    return response
