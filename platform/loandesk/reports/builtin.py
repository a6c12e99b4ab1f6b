"""Built-in reports (内置报表): report definitions a plugin ships with its datasets
(``loandesk_builtin_reports``), so a tenant sees its business from the first day — the
approver efficiency ranking, the application funnel by month, applications by unit and
status — and copies one into a saved report to change it.

A built-in report is a question like a saved report (a dataset and a spec), keyed
``<plugin>.<name>``; it runs under the viewer's data scope and field permissions like any
report, and a viewer who may not use what it needs gets a 422 naming it, never numbers of
records they may not see. Its spec is checked against its dataset when the app starts
(``problems``): a built-in naming a dimension or measure its dataset lacks stops start-up, as
a broken dataset does. ``default_roles`` are the roles it is meant for (a copy is shared with
them unless the copier says otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from loandesk.errors import NotFound, ValidationFailed
from loandesk.i18n import N_
from loandesk.reports.datasets import BUCKETS, Dataset, bucketed, source_specs
from loandesk.reports.models import CHART_TYPES, Report
from loandesk.reports.query import MAX_DIMENSIONS, MAX_LIMIT, MAX_MEASURES

SPEC_KEYS = ("dimensions", "measures", "filters", "sort", "limit")


@dataclass(frozen=True)
class BuiltinReport:
    """A report a plugin ships: ``spec`` as a saved report's (``dimensions``, ``measures``,
    ``filters``, ``sort``, ``limit``) over ``dataset``."""

    key: str
    name_zh: str
    name_en: str
    dataset: str
    spec: Mapping[str, Any]
    chart_type: str = "table"
    description_zh: str = ""
    description_en: str = ""
    default_roles: tuple[str, ...] = field(default=())

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en

    def full_spec(self) -> dict[str, Any]:
        return {"dataset": self.dataset, **{k: self.spec[k] for k in SPEC_KEYS if k in self.spec}}

    def problems(
        self, datasets: Mapping[str, Dataset], record_types: Mapping[str, Any]
    ) -> list[str]:
        """What is wrong with this definition against the datasets of all plugins (empty when
        it is sound): every dimension, measure, filter field and the sort must be its
        dataset's."""
        found: list[str] = []
        where = f"built-in report {self.key!r}"
        unknown = sorted(set(self.spec) - set(SPEC_KEYS))
        if unknown:
            found.append(f"{where}: unknown spec keys {unknown}")
        if self.chart_type not in CHART_TYPES:
            found.append(f"{where}: chart type {self.chart_type!r}")
        dataset = datasets.get(self.dataset)
        if dataset is None:
            return [*found, f"{where}: no dataset {self.dataset!r}"]
        record_type = record_types.get(dataset.record_type)
        specs = {f.key: f for f in record_type.fields} if record_type is not None else {}
        specs.update(source_specs(dataset))
        declared = {d.key: d for d in dataset.dimensions}
        dimensions = list(self.spec.get("dimensions") or [])
        measures = list(self.spec.get("measures") or [])
        keys: list[str] = []
        for item in dimensions:
            item = {"key": item} if isinstance(item, str) else dict(item)
            dimension = declared.get(str(item.get("key")))
            if dimension is None:
                found.append(f"{where}: no dimension {item.get('key')!r}")
                continue
            keys.append(dimension.key)
            bucket = item.get("bucket")
            spec = specs.get(dimension.field_key or "")
            if bucket is not None and (bucket not in BUCKETS or not bucketed(spec)):
                found.append(f"{where}: {dimension.key!r} by {bucket!r}")
        for key in measures:
            if dataset.measure(str(key)) is None:
                found.append(f"{where}: no measure {key!r}")
            keys.append(str(key))
        if not measures or len(measures) > MAX_MEASURES or len(dimensions) > MAX_DIMENSIONS:
            found.append(f"{where}: 1 to {MAX_MEASURES} measures, {MAX_DIMENSIONS} dimensions")
        for text in self.spec.get("filters") or []:
            if str(text).split(":", 1)[0] not in specs:
                found.append(f"{where}: filter {text!r} names no field")
        sort = str(self.spec.get("sort") or "")
        if sort and sort.lstrip("-") not in keys:
            found.append(f"{where}: sort {sort!r} is none of its columns")
        limit = self.spec.get("limit", MAX_LIMIT)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            found.append(f"{where}: limit {limit!r}")
        return found


def available() -> list[BuiltinReport]:
    """The built-in reports of the current tenant's enabled plugins whose dataset it has, by
    key."""
    from loandesk.plugins import runtime

    datasets = runtime.report_datasets()
    return sorted(
        (r for r in runtime.builtin_reports() if r.dataset in datasets), key=lambda r: r.key
    )


def get(key: str) -> BuiltinReport:
    """Built-in report ``key`` of the current tenant; 404 when there is none."""
    found = next((r for r in available() if r.key == key), None)
    if found is None:
        raise NotFound(N_("No such report."))
    return found


def usable(report: BuiltinReport) -> bool:
    """Whether the acting staff member may run ``report`` (its dataset, dimensions and
    measures are theirs to use); nothing is run."""
    from loandesk.reports import service

    try:
        service.check(report.full_spec())
    except ValidationFailed:
        return False
    return True


def describe(report: BuiltinReport) -> dict[str, Any]:
    return {
        "key": report.key,
        "name_zh": report.name_zh,
        "name_en": report.name_en,
        "description_zh": report.description_zh,
        "description_en": report.description_en,
        "dataset": report.dataset,
        "spec": {k: report.spec[k] for k in SPEC_KEYS if k in report.spec},
        "chart_type": report.chart_type,
        "default_roles": list(report.default_roles),
        "usable": usable(report),
    }


def run(report: BuiltinReport) -> dict[str, Any]:
    """The report's rows for the acting staff member, under their data scope and field
    permissions; 422 naming the report when it needs what they may not use."""
    from loandesk.reports import service

    try:
        return service.run(report.full_spec())
    except ValidationFailed as problem:
        raise ValidationFailed(
            N_("The built-in report %(name)s uses data you may not see."),
            errors={
                k if k == "dataset" else f"spec.{k}": list(v)
                for k, v in (problem.errors or {}).items()
            },
            params={"name": report.name_zh},
        ) from None


def copy(session: Session, user: Any, report: BuiltinReport, data: Mapping[str, Any]) -> Report:
    """A saved report of ``user``'s made from ``report`` (``data`` may give its ``name``,
    ``description`` and ``shared_with_roles``; by default the built-in's Chinese name and
    description and its default roles), checked and audited as any saved report."""
    from loandesk.reports import saved

    roles = data.get("shared_with_roles")
    return saved.create(
        session,
        user,
        {
            "name": data.get("name") or report.name_zh,
            "description": data.get("description") or report.description_zh,
            "dataset": report.dataset,
            "spec": {k: report.spec[k] for k in SPEC_KEYS if k in report.spec},
            "chart_type": report.chart_type,
            "shared_with_roles": list(report.default_roles if roles is None else roles),
        },
    )
