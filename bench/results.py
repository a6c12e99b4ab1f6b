"""The benchmarks' common result: one row per measurement, next to its same-run baseline, the
ratio and the goal. Each script writes its rows with ``--json PATH`` (its human output is
unchanged) and ``bench/run`` reads them back and prints them as one table."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Goal:
    """What the ratio should be and who set it, e.g. ``Goal("issue 11", "<", 5)``."""

    text: str
    op: str
    limit: float

    def __post_init__(self) -> None:
        if self.op not in _COMPARE:
            raise ValueError(f"goal operator must be one of {sorted(_COMPARE)}, not {self.op!r}")

    def met(self, ratio: float) -> bool:
        return _COMPARE[self.op](ratio, self.limit)

    @property
    def condition(self) -> str:
        return f"ratio {self.op} {self.limit:g}"


@dataclass(frozen=True)
class Row:
    """One measurement of a benchmark, its baseline from the same run and their ratio.

    ``ratio`` is as the script prints it and ``ratio_of`` says which way ("COPY / import":
    how many times the baseline's rate; "LoanDesk / bare": the share of it). ``goal`` is
    ``None`` where the issue set none (the ratio is reported)."""

    bench: str
    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    ratio: float
    ratio_of: str
    goal: Goal | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.goal.met(self.ratio)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["goal"] = (
            None if self.goal is None else {**asdict(self.goal), "condition": self.goal.condition}
        )
        data["met"] = self.met
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        goal = data.get("goal")
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["goal"] = None if goal is None else Goal(goal["text"], goal["op"], goal["limit"])
        return cls(**fields)


def write_rows(path: str | None, rows: Sequence[Row]) -> None:
    """The rows as JSON at ``path`` (the ``--json`` option); nothing without one."""
    if path:
        Path(path).write_text(json.dumps([r.to_json() for r in rows], ensure_ascii=False, indent=1))


def read_rows(path: str | Path) -> list[Row]:
    return [Row.from_json(r) for r in json.loads(Path(path).read_text())]


def number(value: float, unit: str) -> str:
    """``12.43 s``, ``1,234 req/s``, ``3.1 ms``: three significant digits or whole numbers."""
    if abs(value) >= 100:
        shown = f"{value:,.0f}"
    elif abs(value) >= 10:
        shown = f"{value:.1f}"
    else:
        shown = f"{value:.2f}"
    return f"{shown} {unit}".strip()


HEADER = ("benchmark", "measurement", "baseline", "ratio", "goal", "met?")


def cells(row: Row) -> tuple[str, ...]:
    met = {None: "-", True: "yes", False: "NO"}[row.met]
    goal = "none set" if row.goal is None else f"{row.goal.condition} ({row.goal.text})"
    return (
        f"{row.bench}: {row.name}",
        number(row.value, row.unit),
        f"{row.baseline} {number(row.baseline_value, row.unit)}",
        f"{row.ratio:.2f}x ({row.ratio_of})",
        goal,
        met,
    )


def table(rows: Sequence[Row], failed: Sequence[tuple[str, str]] = ()) -> str:
    """An aligned plain-text table of the rows; a benchmark in ``failed`` (its name and why)
    gets a line saying it crashed, the reasons follow the table."""
    lines = [cells(r) for r in rows] + [(name, "CRASHED", "", "", "", "") for name, _ in failed]
    widths = [max(len(c) for c in column) for column in zip(HEADER, *lines, strict=True)]

    def render(values: Sequence[str]) -> str:
        return " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    notes = [f"{name} crashed: {reason}" for name, reason in failed]
    return "\n".join([render(HEADER), rule, *(render(line) for line in lines), *notes])
