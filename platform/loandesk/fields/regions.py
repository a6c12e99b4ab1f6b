"""Administrative divisions of mainland China (行政区划), by their GB/T 2260 six-digit codes:
``110000`` province, ``110100`` city, ``110105`` district. The codes ship as data
(``data/gbt2260.json``: code -> name, built by ``scripts/build_regions.py``; see
``data/README.md`` for its source and edition).

A region field stores the code of the deepest division chosen; ``path`` gives the names from
the province down, ``code_of`` reads a code or a name path such as ``广东省/深圳市/南山区``.
Province-level cities have a city level named 市辖区 (北京市/市辖区/东城区), and county-level
cities governed by their province sit under 省直辖县级行政区划 (河南省/省直辖县级行政区划/济源市),
as in the standard; a path may leave such a level out (``北京市/东城区``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import cache
from importlib import resources

_SPLIT = re.compile(r"\s*[/\\>,，、\s]\s*")


@cache
def names() -> dict[str, str]:
    """Every code and its name."""
    data = resources.files("loandesk.fields").joinpath("data/gbt2260.json").read_text("utf-8")
    loaded: dict[str, str] = json.loads(data)
    return loaded


def _parent_of(code: str, known: dict[str, str]) -> str | None:
    if code.endswith("0000"):
        return None
    candidate = code[:4] + "00" if not code.endswith("00") else code[:2] + "0000"
    if candidate in known:
        return candidate
    province = code[:2] + "0000"  # a district directly under a province-level division
    return province if province in known and province != code else None


@cache
def _children_index() -> dict[str | None, list[tuple[str, str]]]:
    index: dict[str | None, list[tuple[str, str]]] = defaultdict(list)
    known = names()
    for code in sorted(known):
        index[_parent_of(code, known)].append((code, known[code]))
    return dict(index)


@cache
def _codes_by_name() -> dict[str, list[str]]:
    index: dict[str, list[str]] = defaultdict(list)
    for code, name in sorted(names().items()):
        index[name].append(code)
    return dict(index)


def parent(code: str) -> str | None:
    """The division ``code`` belongs to (a district's city, a city's province)."""
    return _parent_of(code, names())


def chain(code: str | None) -> list[str]:
    """The codes from the province down to ``code`` (empty for an unknown code)."""
    found: list[str] = []
    current = code
    while current is not None and current in names():
        found.insert(0, current)
        current = parent(current)
    return found


def path(code: str) -> list[str]:
    """The names from the province down to ``code`` (empty for an unknown code)."""
    return [names()[c] for c in chain(code)]


def label(code: str | None) -> str:
    return "/".join(path(code)) if code else ""


def children(code: str | None) -> list[tuple[str, str]]:
    """The divisions directly under ``code`` (provinces for None), in code order."""
    return list(_children_index().get(code, ()))


def code_of(text: str) -> str | None:
    """The code ``text`` stands for: a known code, or names from the province down separated
    by ``/`` (the last name decides; the ones before it must be among its ancestors, in
    order). None when nothing matches, or when the names fit more than one division
    (``朝阳区`` alone: Beijing's and Changchun's)."""
    text = text.strip()
    if text in names():
        return text
    parts = [p for p in _SPLIT.split(text) if p]
    if not parts:
        return None
    matches = [c for c in _codes_by_name().get(parts[-1], ()) if _follows(path(c), parts)]
    return matches[0] if len(matches) == 1 else None


def _follows(names_down: list[str], parts: list[str]) -> bool:
    """Whether ``parts`` ends with the last of ``names_down`` and the rest appear in it in
    order (a subsequence), so ``北京市/东城区`` fits ``北京市/市辖区/东城区``."""
    if not names_down or names_down[-1] != parts[-1]:
        return False
    remaining = iter(names_down[:-1])
    return all(any(part == name for name in remaining) for part in parts[:-1])
