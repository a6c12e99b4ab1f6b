"""What one viewer may use of a dataset (``Catalog``): its dimensions and measures over
fields they see unmasked — a masked amount summed would tell what the mask hides — and the
filters of their record lists (``loandesk.fields.lists``). A sourced dataset's own columns
(``Source``) are offered to every reader of its record type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loandesk.fields.lists import RecordList
from loandesk.fields.registry import FieldSpec
from loandesk.reports.datasets import (
    BUCKETS,
    Dataset,
    Dimension,
    Measure,
    bucketed,
    custom_dimensions,
    measure_fields,
    source_specs,
)

_SEEN = ("view", "edit")


@dataclass
class Catalog:
    """What one viewer (``access``: their ``RecordAccess`` to the dataset's record type, with
    the tenant's custom fields) may use of ``dataset``."""

    dataset: Dataset
    access: Any
    dimensions: dict[str, tuple[Dimension, FieldSpec | None]]
    measures: dict[str, Measure]
    lists: RecordList

    @classmethod
    def of(cls, dataset: Dataset, access: Any, context: Any = None) -> Catalog:
        record_type = access.record_type
        specs = {f.key: f for f in record_type.fields}
        sourced = source_specs(dataset)  # a sourced dataset's own columns: seen by all readers
        specs.update(sourced)

        def seen(key: str) -> bool:
            return key in sourced or (key in specs and access.access(key) in _SEEN)

        dimensions: dict[str, tuple[Dimension, FieldSpec | None]] = {}
        if access.can_read:
            for dimension in (*dataset.dimensions, *custom_dimensions(dataset, record_type)):
                key = dimension.field_key
                if key is None:
                    dimensions[dimension.key] = (dimension, None)
                elif seen(key):
                    dimensions[dimension.key] = (dimension, specs[key])
        measures = {
            m.key: m
            for m in dataset.measures
            if access.can_read and all(seen(k) for k in measure_fields(dataset, m))
        }
        lists = RecordList(access, context=context, extra=sourced)
        return cls(dataset, access, dimensions, measures, lists)

    def describe(self) -> dict[str, Any]:
        """The catalog as the API and the designer show it (labels in both languages)."""
        return {
            **_labels(self.dataset),
            "key": self.dataset.key,
            "description_zh": self.dataset.description_zh,
            "description_en": self.dataset.description_en,
            "record_type": self.dataset.record_type,
            "dimensions": [
                {
                    **_labels(spec if spec is not None and not dim.label_en else dim),
                    "key": key,
                    "kind": spec.value_kind if spec else "text",
                    "buckets": list(BUCKETS) if bucketed(spec) else [],
                    "options": _options(spec),
                }
                for key, (dim, spec) in self.dimensions.items()
            ],
            "measures": [
                {**_labels(m), "key": m.key, "aggregate": m.aggregate}
                for m in self.measures.values()
            ],
            "filters": [
                {**_labels(spec), "key": spec.key, "operators": list(self.lists.operators(spec))}
                for spec in self.lists.filterable()
            ],
        }


def _options(spec: FieldSpec | None) -> list[dict[str, str]]:
    """A select's values with their labels (a report's rows hold the values)."""
    if spec is None:
        return []
    return [{"value": v, "label_zh": zh, "label_en": en} for v, zh, en in spec.options]


def _labels(item: Any) -> dict[str, str]:
    return {"label_zh": item.label_zh, "label_en": item.label_en}
