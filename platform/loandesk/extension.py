"""The per-app state of LoanDesk (settings, database), reachable from any request or command."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy.orm import Session

from loandesk.db import Database
from loandesk.settings import Settings


@dataclass
class LoanDesk:
    settings: Settings
    db: Database

    def init_app(self, app: Flask) -> None:
        app.extensions["loandesk"] = self


def get() -> LoanDesk:
    ext: LoanDesk = current_app.extensions["loandesk"]
    return ext


def log_failure(what: str, exc: BaseException) -> None:
    current_app.logger.warning("%s failed: %s", what, exc.__class__.__name__, exc_info=exc)


def session() -> Session:
    """The database session of the current request (or job, or command)."""
    return get().db.session()
