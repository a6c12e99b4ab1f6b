"""Date buckets follow the tenant's time zone, summer time included: on SQLite the offsets
the zone had over the data's range become CASE branches; PostgreSQL converts itself."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.platform.reports.conftest import SEED, Books


def test_offsets_list_each_change_of_summer_time() -> None:
    from loandesk.reports.buckets import offsets

    zone = ZoneInfo("America/New_York")
    found = offsets(zone, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    hours = [(at.isoformat(), offset.total_seconds() / 3600) for at, offset in found]
    assert hours == [
        ("2026-01-01T00:00:00+00:00", -5),
        ("2026-03-08T07:00:00+00:00", -4),
        ("2026-11-01T06:00:00+00:00", -5),
    ]
    shanghai = offsets(ZoneInfo("Asia/Shanghai"), found[0][0], found[-1][0])
    assert len(shanghai) == 1


def test_days_on_both_sides_of_summer_time(books: Books) -> None:
    from loandesk.tenancy import service

    with books.desk.session() as session:
        tenant = service.get_by_slug(session, books.desk.firm.tenant.slug)
        service.set_region(session, tenant, timezone="America/New_York", locale="zh_CN")
    # 04:30 UTC is 23:30 the day before in winter (UTC-5), 00:30 the same day in summer (UTC-4)
    extra = (
        ("officer1", "team1", "approved", "100.00", 1, datetime(2026, 3, 8, 4, 30, tzinfo=UTC)),
        ("officer1", "team1", "approved", "100.00", 1, datetime(2026, 3, 9, 4, 30, tzinfo=UTC)),
        ("officer1", "team1", "approved", "100.00", 1, datetime(2026, 11, 1, 4, 30, tzinfo=UTC)),
        ("officer1", "team1", "approved", "100.00", 1, datetime(2026, 11, 2, 4, 30, tzinfo=UTC)),
    )
    books.add(extra)
    response = books.api["finance"].post(
        "/reports/query",
        json={
            "dataset": "intake.applications",
            "dimensions": [{"key": "created_at", "bucket": "day"}],
            "measures": ["count"],
        },
    )
    assert response.status_code == 200, response.get_json()
    days = {r["created_at"]: r["count"] for r in response.get_json()["rows"]}
    zone = ZoneInfo("America/New_York")
    expected = Counter(str(c.astimezone(zone).date()) for *_, c in (*SEED, *extra))
    assert days == expected
    # one fixed offset would put one of these on the wrong day
    assert days["2026-03-07"] == 1 and days["2026-11-01"] == 2 and "2026-11-02" not in days
