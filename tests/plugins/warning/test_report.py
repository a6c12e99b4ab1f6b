"""The ``warning.watchlist`` dataset counts the loans early warning flagged, by level and
status, under the viewer's data scope."""

from __future__ import annotations

from tests.platform.reports.conftest import reports_client
from tests.plugins.warning.conftest import Warn


def test_the_watch_list_dataset_counts_flagged_and_cleared_loans(warn: Warn) -> None:
    loans = [warn.book(25) for _ in range(3)]
    warn.run("warning.score")
    warn.pay(loans[0], warn.installments(loans[0])[0].outstanding)
    warn.deliver()  # one of them paid: cleared

    firm = warn.desk.firm
    risk = reports_client(
        warn.app, warn.app.test_client(), firm.tenant.slug, firm.tenant.id,
        firm.staff["risk"].user_id,
    )  # fmt: skip
    answer = risk.post("/reports/query", json={
        "dataset": "warning.watchlist", "dimensions": ["status"],
        "measures": ["entries", "flagged", "average_score"],
    })  # fmt: skip
    assert answer.status_code == 200, answer.get_json()
    rows = {row["status"]: row for row in answer.get_json()["rows"]}
    assert (rows["flagged"]["entries"], rows["flagged"]["flagged"]) == (2, 2)
    assert (rows["cleared"]["entries"], rows["cleared"]["flagged"]) == (1, 0)
    assert float(rows["flagged"]["average_score"]) == 30
