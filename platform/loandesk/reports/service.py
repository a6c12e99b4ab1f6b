"""Reports in a request: the datasets the acting staff member may use, and running a report
spec for them (``loandesk.reports.query``) under their data scope and field permissions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loandesk import extension, pii
from loandesk.errors import ValidationFailed
from loandesk.fields.current import value_context
from loandesk.fields.validation import message
from loandesk.i18n import N_
from loandesk.plugins import runtime as plugin_runtime
from loandesk.rbac.current import record_access
from loandesk.reports.query import (
    REPORT_PROBLEMS,
    Catalog,
    Compiled,
    QueryContext,
    compile_report,
)
from loandesk.tenancy import current


def catalogs() -> list[Catalog]:
    """The datasets of the tenant's enabled plugins whose records the acting staff member
    may read, each with what they may use of it, by key."""
    enabled = {t.key for t in plugin_runtime.record_types()}
    found = []
    for _key, dataset in sorted(plugin_runtime.report_datasets().items()):
        if dataset.record_type not in enabled:
            continue
        access = record_access(dataset.record_type)
        if access.can_read:
            found.append(Catalog.of(dataset, access, value_context()))
    return found


def catalog(key: str) -> Catalog:
    """The dataset ``key`` as the acting staff member may use it; 422 on ``dataset`` when
    there is none (or they may not read its records: the same answer)."""
    for candidate in catalogs():
        if candidate.dataset.key == key:
            return candidate
    raise ValidationFailed(
        REPORT_PROBLEMS, errors={"dataset": [message(N_("No dataset %(key)s."), key=key)]}
    )


def check(spec: Mapping[str, Any]) -> None:
    """422 naming every problem of report ``spec`` for the acting staff member, as ``run``
    would refuse it; nothing is run."""
    _compiled(spec)


def run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The rows of report ``spec`` for the acting staff member: one SQL aggregate query."""
    chosen, compiled = _compiled(spec)
    return {
        "dataset": chosen.dataset.key,
        "columns": [{"key": c.key, "role": c.role, "bucket": c.bucket} for c in compiled.columns],
        "rows": compiled.run(extension.session()),
    }


def _compiled(spec: Mapping[str, Any]) -> tuple[Catalog, Compiled]:
    chosen = catalog(str(spec.get("dataset") or ""))
    session = extension.session()
    where = QueryContext(
        dialect=session.get_bind().dialect.name,
        timezone=current().timezone,
        keys=pii.for_current_tenant(),
        session=session,
    )
    return chosen, compile_report(chosen, spec, where)
