"""The page of a list that a request asks for (``?page=``), for every paginated web page."""

from __future__ import annotations

from flask import request

from loandesk.api.schemas import MAX_PAGE


def page_asked() -> int:
    """The ``page`` query argument, kept between 1 and ``MAX_PAGE`` (the API's bound): a
    missing or unreadable one is the first page, and one past the bound the last allowed
    (past the rows, that page is empty). An unbounded number reached the database as an
    OFFSET it cannot hold, and the page answered 500."""
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)
