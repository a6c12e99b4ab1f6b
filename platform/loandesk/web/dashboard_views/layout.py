"""The editor's form (看板编辑) and where its tiles go on the grid.

The editor holds tiles in order, each a report with a width (1–12 columns) and a height (in
grid rows); it posts them as parallel lists ``tile_report``, ``tile_w``, ``tile_h``, which
dragging (static/js/dashboards.js, SortableJS) only reorders. Positions are never typed:
``place`` puts the tiles on the grid row by row in their order — left to right while they fit
in the 12 columns, then a new row under the tallest tile of the one before — so tiles never
overlap and the order a person sees in the editor is the order they read on the screen.
Buttons add a tile (``add_tile`` with the report chosen in ``new_report``) or remove one
(``drop_tile``: its index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from loandesk.reports.dashboards import COLUMNS, MAX_HEIGHT, MAX_TILES

DEFAULT_WIDTH = 6
DEFAULT_HEIGHT = 4
REFRESH_CHOICES = (None, 30, 60, 300, 900)  # seconds: none, 30 s, 1 min, 5 min, 15 min


@dataclass
class Tile:
    report_id: str
    w: int | None = DEFAULT_WIDTH
    h: int | None = DEFAULT_HEIGHT


@dataclass
class State:
    """The dashboard as the editor's form holds it."""

    name: str = ""
    description: str = ""
    tiles: list[Tile] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)
    refresh_seconds: int | None = None
    roles: list[str] = field(default_factory=list)

    def saved(self) -> dict[str, Any]:
        """What ``reports.dashboards.create`` / ``update`` take, the tiles placed."""
        return {
            "name": self.name,
            "description": self.description,
            "tiles": place([(t.report_id, t.w, t.h) for t in self.tiles]),
            "filters": list(self.filters),
            "refresh_seconds": self.refresh_seconds,
            "shared_with_roles": list(self.roles),
        }


def place(tiles: Sequence[tuple[str, int | None, int | None]]) -> list[dict[str, Any]]:
    """``(report_id, w, h)`` in order, placed row by row on the 12-column grid: ``x`` and
    ``y`` of each. A tile of a width that is not a whole number in 1–12 keeps its values for
    the service to refuse next to it (``x`` and ``y`` are then where it would have gone)."""
    placed: list[dict[str, Any]] = []
    x = y = row_height = 0
    for report_id, w, h in tiles:
        width = w if isinstance(w, int) and 1 <= w <= COLUMNS else COLUMNS
        height = h if isinstance(h, int) and h >= 1 else 1
        if x + width > COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        placed.append({"report_id": report_id, "x": x, "y": y, "w": w, "h": h})
        x += width
        row_height = max(row_height, height)
    return placed


def of_dashboard(row: Any) -> State:
    """A saved dashboard's state: its tiles in reading order (top to bottom, left to
    right)."""
    tiles = sorted(row.tiles or [], key=lambda t: (t["y"], t["x"]))
    return State(
        name=row.name,
        description=row.description or "",
        tiles=[Tile(str(t["report_id"]), t["w"], t["h"]) for t in tiles],
        filters=list(row.filters or []),
        refresh_seconds=row.refresh_seconds,
        roles=list(row.shared_with_roles or []),
    )


def posted(form: MultiDict[str, str]) -> State:
    """The state the form posts, with the one change its clicked button asks for."""
    reports, widths, heights = (form.getlist(k) for k in ("tile_report", "tile_w", "tile_h"))
    tiles = [
        Tile(
            report_id,
            _number(widths[i] if i < len(widths) else None),
            _number(heights[i] if i < len(heights) else None),
        )
        for i, report_id in enumerate(reports)
    ]
    state = State(
        name=form.get("name", ""),
        description=form.get("description", ""),
        tiles=tiles,
        filters=[f for f in form.getlist("filters") if f],
        refresh_seconds=_number(form.get("refresh_seconds")),
        roles=[r for r in form.getlist("role") if r],
    )
    if form.get("add_tile") and (chosen := form.get("new_report")) and len(tiles) < MAX_TILES:
        state.tiles.append(Tile(chosen))
    dropped = _number(form.get("drop_tile"))
    if dropped is not None and 0 <= dropped < len(state.tiles):
        state.tiles.pop(dropped)
    return state


def changing(form: MultiDict[str, str]) -> bool:
    """A button that changes the form (rather than saving it) was clicked."""
    return bool(form.get("add_tile") or form.get("drop_tile", "") != "")


def field_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The service's problems keyed where the editor shows them: ``tiles.3.report_id`` and
    ``tiles.3`` next to tile 3."""
    found: dict[str, list[str]] = {}
    for key, messages in errors.items():
        parts = key.split(".")
        where = ".".join(parts[:2]) if parts[0] == "tiles" and len(parts) > 1 else key
        found.setdefault(where, []).extend(m for m in messages if m not in found.get(where, []))
    return found


def _number(text: str | None) -> int | None:
    try:
        return int(str(text).strip()) if text not in (None, "") else None
    except ValueError:
        return None


WIDTHS = tuple(range(1, COLUMNS + 1))
HEIGHTS = tuple(range(1, min(MAX_HEIGHT, 12) + 1))
