"""Collection performance (催收业绩): one row per assignment — a stretch of a case with one
queue and collector — with what happened while it ran: actions logged, promises made, kept
and broken, money collected. Grouped by collector or queue it answers "how does each
collector and each team do". The rows join their case, so the viewer's data scope over cases
applies; the queue's name comes from the queue the assignment was in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, join

from loandesk.sdk import BuiltinReport, Dataset, Dimension, Measure, Source, SourceColumn
from loandesk_collections.models import Assignment, Queue

# Core aliases, not the ORM entities: the session's tenant criteria would land in WHERE
_ROWS = Assignment.__table__.alias("performance_rows").c
_QUEUES = Queue.__table__.alias("performance_queues").c


def _select_from(model: Any, dialect: str) -> Any:
    rows = join(
        model,
        _ROWS.id.table,
        and_(_ROWS.tenant_id == model.tenant_id, _ROWS.case_id == model.id),
    )
    return join(
        rows,
        _QUEUES.id.table,
        and_(_QUEUES.tenant_id == _ROWS.tenant_id, _QUEUES.id == _ROWS.queue_id),
    )


def _column(key: str, zh: str, en: str, kind: str, name: str) -> SourceColumn:
    return SourceColumn(key, zh, en, kind, lambda d: _ROWS[name])


SOURCE = Source(
    select_from=_select_from,
    columns=(
        _column("collector", "催收员", "Collector", "user", "collector_id"),
        SourceColumn("queue", "催收队列", "Queue", "text", lambda d: _QUEUES.name),
        _column("assigned_at", "分配时间", "Assigned", "datetime", "started_at"),
        _column("assigned_bucket", "分配时逾期阶段", "Bucket when assigned", "text", "bucket"),
        _column("case_ref", "案件", "Case", "text", "case_id"),
        _column("action_count", "催收记录数", "Actions", "integer", "actions"),
        _column("made", "承诺次数", "Promises made", "integer", "promises_made"),
        _column("kept", "兑现次数", "Promises kept", "integer", "promises_kept"),
        _column("broken", "违约次数", "Promises broken", "integer", "promises_broken"),
        _column("collected_amount", "回款金额", "Amount collected", "money", "collected"),
    ),
)

PERFORMANCE = Dataset(
    key="collections.performance",
    label_zh="催收业绩",
    label_en="Collection performance",
    record_type="collection_case",
    description_zh="每次分案一行（案件在一个队列、一位催收员名下的一段时间）：催收记录数、承诺还款次数、"
    "兑现与违约次数、期间回款金额；可按催收员、队列、分配时间与逾期阶段统计。",
    description_en="One row per assignment (a case's stretch with one queue and collector): "
    "actions logged, promises made, kept and broken, and the money collected meanwhile; by "
    "collector, queue, when assigned and bucket.",
    source=SOURCE,
    dimensions=(
        Dimension("collector"),
        Dimension("queue"),
        Dimension("assigned_at"),
        Dimension("assigned_bucket"),
        Dimension("org_unit_id"),
    ),
    measures=(
        Measure("cases", "案件数", "Cases", "count_distinct", "case_ref"),
        Measure("assignments", "分案次数", "Assignments"),
        Measure("actions", "催收记录数", "Actions", "sum", "action_count"),
        Measure("promises_made", "承诺次数", "Promises made", "sum", "made"),
        Measure("promises_kept", "兑现次数", "Promises kept", "sum", "kept"),
        Measure("promises_broken", "违约次数", "Promises broken", "sum", "broken"),
        Measure(
            "kept_rate",
            "承诺兑现率",
            "Promise kept rate",
            "ratio",
            numerator="promises_kept",
            denominator="promises_made",
        ),
        Measure("collected", "回款金额", "Amount collected", "sum", "collected_amount"),
    ),
    global_filters={"org_unit": "org_unit_id"},
)

_MEASURES = [
    "cases",
    "actions",
    "promises_made",
    "promises_kept",
    "promises_broken",
    "kept_rate",
    "collected",
]

BUILTIN_REPORTS = (
    BuiltinReport(
        key="collections.performance_by_collector",
        name_zh="催收员业绩",
        name_en="Collector performance",
        description_zh="按催收员统计案件数、催收记录、承诺还款的兑现与违约、分案期间回款金额。",
        description_en="Per collector: cases, actions, promises made, kept and broken, and "
        "the money collected while the cases were theirs.",
        dataset="collections.performance",
        spec={"dimensions": [{"key": "collector"}], "measures": _MEASURES, "sort": "collector"},
        chart_type="table",
        default_roles=("post_loan_admin",),
    ),
    BuiltinReport(
        key="collections.performance_by_queue",
        name_zh="催收队列业绩",
        name_en="Queue performance",
        description_zh="按催收队列统计案件数、催收记录、承诺还款的兑现与违约、分案期间回款金额。",
        description_en="Per queue: cases, actions, promises made, kept and broken, and the "
        "money collected while the cases were in it.",
        dataset="collections.performance",
        spec={"dimensions": [{"key": "queue"}], "measures": _MEASURES, "sort": "queue"},
        chart_type="table",
        default_roles=("post_loan_admin",),
    ),
)
