"""Administrative divisions of mainland China (行政区划), by their GB/T 2260 six-digit codes:
``11`` province, ``1101`` city, ``110105`` district. The codes ship as data
(``data/gbt2260.json``: code -> name, see ``data/README.md`` for its source and edition).

A region field stores the code of the deepest division chosen; ``path`` gives the names from
the province down, ``code_of`` reads a code or a name path such as ``广东省/深圳市/南山区``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

_SPLIT = re.compile(r"\s*[/\\>,，、\s]\s*")


@cache
def names() -> dict[str, str]:
    """Every code and its name."""
    data = resources.files("loandesk.fields").joinpath("data/gbt2260.json").read_text("utf-8")
    loaded: dict[str, str] = json.loads(data)
    return loaded


def parent(code: str) -> str | None:
    """The division ``code`` belongs to (a district's city, a city's province)."""
    if code.endswith("0000"):
        return None
    candidate = code[:4] + "00" if not code.endswith("00") else code[:2] + "0000"
    if candidate in names():
        return candidate
    province = code[:2] + "0000"  # a district directly under a province-level city
    return province if province in names() and province != code else None


def path(code: str) -> list[str]:
    """The names from the province down to ``code`` (empty for an unknown code)."""
    found: list[str] = []
    current: str | None = code
    while current is not None and current in names():
        found.insert(0, names()[current])
        current = parent(current)
    return found


def label(code: str | None) -> str:
    return "/".join(path(code)) if code else ""


def children(code: str | None) -> list[tuple[str, str]]:
    """The divisions directly under ``code`` (provinces for None), in code order."""
    return sorted((c, n) for c, n in names().items() if parent(c) == code)


def code_of(text: str) -> str | None:
    """The code ``text`` stands for: a known code, or names from the province down separated
    by ``/`` (the last name decides; the ones before it must be its ancestors)."""
    text = text.strip()
    if text in names():
        return text
    parts = [p for p in _SPLIT.split(text) if p]
    if not parts:
        return None
    for code, name in names().items():
        if name == parts[-1] and path(code)[-len(parts) :] == parts:
            return code
    return None
