"""The cascading region picker's endpoint: the picker (province, city, district selects) for a
chosen code, so that changing one level loads the next one's choices.

The answer depends only on its URL (the field's name, the input id, the code), never on the
user or tenant, so browsers may cache it; it still needs a signed-in user like every page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, make_response, render_template, request

from loandesk.fields import regions
from loandesk.fields.registry import KEY_PATTERN
from loandesk.web.auth_views import login_required

bp = Blueprint("regions", __name__, url_prefix="/regions")

CACHE_SECONDS = 86400
_FID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,60}$")


@dataclass(frozen=True)
class PickerField:
    """The little of a ``FieldSpec`` the picker needs."""

    key: str
    required: bool = False


@dataclass(frozen=True)
class PickerView:
    refresh_url: str = ""


def levels(code: Any) -> list[tuple[list[tuple[str, str]], str]]:
    """The three selects of a picker showing ``code``: each one's choices and chosen code."""
    chain = regions.chain(str(code)) if code else []
    found = []
    parent: str | None = None
    for depth in range(3):
        options = regions.children(parent) if depth == 0 or parent else []
        chosen = chain[depth] if depth < len(chain) else ""
        found.append((options, chosen))
        parent = chosen or None
    return found


@bp.record_once
def _template_global(state: Any) -> None:
    state.app.add_template_global(levels, "region_levels")


@bp.get("/picker", endpoint="picker")
@login_required
def picker() -> Any:
    name = request.args.get("name", "")
    fid = request.args.get("fid", "")
    refresh = request.args.get("refresh", "")
    if not KEY_PATTERN.match(name) or not _FID.match(fid):
        abort(400)
    if refresh and (not refresh.startswith("/") or refresh.startswith("//")):
        abort(400)
    code = request.args.get(name, "") or request.args.get("parent", "")
    if code and code not in regions.names():
        code = ""
    response = make_response(
        render_template(
            "partials/region_picker.html",
            spec=PickerField(name, request.args.get("required") == "1"),
            val=code,
            fid=fid,
            view=PickerView(refresh),
            drives=bool(refresh),
            reload=True,
        )
    )
    response.cache_control.private = True
    response.cache_control.max_age = CACHE_SECONDS
    return response
