"""The tenant's custom fields of the kinds a dataset groups by become dimensions: a select
and a date (bucketed) of applications, read from the ``custom`` JSON column in SQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from tests.helpers import ApiClient
from tests.platform.reports.conftest import Books

BASE = "/record-types/application"
CHANNELS = ("branch", "online", "agent")


def test_custom_select_and_date_fields_are_dimensions(books: Books, api_a: ApiClient) -> None:
    from loandesk_intake.models import Application

    options = [{"value": c, "label_zh": c, "label_en": c} for c in CHANNELS]
    for definition in (
        {
            "key": "channel",
            "kind": "select",
            "label_zh": "渠道",
            "label_en": "Channel",
            "rules": {"options": options},
        },
        {"key": "visit_date", "kind": "date", "label_zh": "走访日期", "label_en": "Visit date"},
        {"key": "remark", "kind": "text", "label_zh": "备注", "label_en": "Remark"},
    ):
        created = api_a.post(f"{BASE}/fields", json=definition)
        assert created.status_code == 201, created.get_json()
    assert api_a.post(f"{BASE}/form/publish", json={}).status_code == 201

    chosen: dict[str, Any] = {}
    with books.desk.session() as session:
        for index, row in enumerate(
            session.scalars(select(Application).order_by(Application.number))
        ):
            if index % 4 == 3:
                continue  # no channel, no visit: a group of its own (null)
            values = {
                "channel": CHANNELS[index % 3],
                "visit_date": f"2026-0{1 + index % 3}-1{index % 10}",
            }
            row.custom = values
            chosen[row.number] = values

    dataset = {
        d["key"]: d for d in books.api["finance"].get("/reports/datasets").get_json()["items"]
    }
    dimensions = {d["key"]: d for d in dataset["intake.applications"]["dimensions"]}
    assert dimensions["channel"]["label_zh"] == "渠道"
    assert dimensions["visit_date"]["buckets"] == ["day", "week", "month", "quarter", "year"]
    assert "remark" not in dimensions  # free text is not something to group by

    def report(*dims: dict[str, Any]) -> dict[Any, int]:
        response = books.api["finance"].post(
            "/reports/query",
            json={
                "dataset": "intake.applications",
                "dimensions": list(dims),
                "measures": ["count"],
            },
        )
        assert response.status_code == 200, response.get_json()
        return {
            tuple(v for k, v in r.items() if k != "count"): r["count"]
            for r in response.get_json()["rows"]
        }

    unset = 11 - len(chosen)
    assert report({"key": "channel"}) == {
        **{(c,): n for c, n in Counter(v["channel"] for v in chosen.values()).items()},
        (None,): unset,
    }
    months = Counter(v["visit_date"][:8] + "01" for v in chosen.values())
    assert report({"key": "visit_date", "bucket": "month"}) == {
        **{(m,): n for m, n in months.items()},
        (None,): unset,
    }
