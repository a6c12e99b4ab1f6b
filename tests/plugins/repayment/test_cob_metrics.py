"""Close of business in the Prometheus metrics: each run's duration (by how it ended) and the
loans it brought to the new date, with no tenant label."""

from __future__ import annotations

import datetime as dt

from prometheus_client import REGISTRY

from tests.plugins.repayment.conftest import Desk

DURATION = "loandesk_cob_duration_seconds"
LOANS = "loandesk_cob_loans_processed_total"


def _counts() -> tuple[float, float]:
    runs = REGISTRY.get_sample_value(f"{DURATION}_count", {"outcome": "done"}) or 0.0
    return runs, REGISTRY.get_sample_value(LOANS) or 0.0


def _cob(desk: Desk, day: dt.date) -> str:
    from loandesk_repayment import cob

    with desk.session() as session:
        return cob.run_cob(session, day).state


def test_a_run_is_timed_and_its_loans_counted(desk: Desk) -> None:
    for _ in range(3):
        desk.book()
    runs, loans = _counts()
    assert _cob(desk, dt.date(2025, 3, 1)) == "done"
    assert _counts() == (runs + 1, loans + 3)
    assert _cob(desk, dt.date(2025, 3, 1)) == "done"  # asked again: nothing left to take
    assert _counts() == (runs + 2, loans + 3)
    assert _cob(desk, dt.date(2025, 4, 1)) == "done"
    assert _counts() == (runs + 3, loans + 6)
    for family in REGISTRY.collect():
        if family.name.startswith("loandesk_cob"):
            for sample in family.samples:
                assert set(sample.labels) <= {"outcome", "le"}
