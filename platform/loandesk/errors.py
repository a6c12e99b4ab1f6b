"""Errors the service layer raises; the API turns them into JSON, the web UI into messages.

Messages are English message ids marked with ``N_``; adapters translate them when they render.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        errors: Mapping[str, Sequence[str]] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = {k: list(v) for k, v in (errors or {}).items()}
        self.params = dict(params or {})


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
