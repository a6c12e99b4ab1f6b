"""The report engine over the applications dataset: its numbers equal hand-written SQL over
the same rows, in the tenant's time zone, within the viewer's data scope; bad specs are
refused with 422 naming where."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text
from sqlalchemy.types import Uuid

from tests.helpers import ApiClient
from tests.platform.reports.conftest import SEED, Books, reports_client

APPLICATIONS = "intake.applications"


def query(books: Books, who: str, **spec: Any) -> Any:
    return books.api[who].post("/reports/query", json={"dataset": APPLICATIONS, **spec})


def rows(books: Books, who: str, **spec: Any) -> list[dict[str, Any]]:
    response = query(books, who, **spec)
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["rows"])


def money(minor: int | None) -> str | None:
    return None if minor is None else str(Decimal(minor).scaleb(-2))


def rate(numerator: int, denominator: int) -> str | None:
    if not denominator:
        return None
    return str(
        (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    )


def test_numbers_by_status_equal_hand_written_sql(books: Books) -> None:
    measures = [
        "count",
        "customers",
        "amount_sum",
        "amount_avg",
        "amount_min",
        "amount_max",
        "term_avg",
        "term_max",
    ]
    found = rows(books, "finance", dimensions=[{"key": "status"}], measures=measures)
    expected = books.sql(
        "SELECT status, count(*), count(DISTINCT customer_id), sum(amount), min(amount), "
        "max(amount), sum(term_months), max(term_months) FROM intake_applications "
        "WHERE tenant_id = :tenant GROUP BY status ORDER BY status"
    )
    assert [r["status"] for r in found] == [e[0] for e in expected]
    for row, (_, count, customers, total, low, high, terms, longest) in zip(
        found, expected, strict=True
    ):
        average = (Decimal(total) / count).quantize(Decimal(1), ROUND_HALF_UP)
        assert row == {
            "status": row["status"],
            "count": count,
            "customers": customers,
            "amount_sum": money(total),
            "amount_avg": money(int(average)),
            "amount_min": money(low),
            "amount_max": money(high),
            "term_avg": str((Decimal(terms) / count).quantize(Decimal("0.01"), ROUND_HALF_UP)),
            "term_max": longest,
        }
    assert sum(r["count"] for r in found) == 11


def test_approval_rate_per_unit_is_approved_over_decided(books: Books) -> None:
    found = rows(
        books,
        "finance",
        dimensions=["org_unit_id"],
        measures=["approved", "decided", "approval_rate", "approved_amount"],
    )
    expected = books.sql(
        "SELECT org_unit_id, "
        "sum(CASE WHEN status = 'approved' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status IN ('approved', 'rejected') THEN 1 ELSE 0 END), "
        "sum(CASE WHEN status = 'approved' THEN amount END) "
        "FROM intake_applications WHERE tenant_id = :tenant GROUP BY org_unit_id"
    )
    by_unit = {str(e[0]).replace("-", ""): e[1:] for e in expected}
    assert len(found) == len(by_unit) == 3
    for row in found:
        approved, decided, amount = by_unit[row["org_unit_id"].replace("-", "")]
        assert (row["approved"], row["decided"]) == (approved, decided)
        assert row["approval_rate"] == rate(approved, decided)
        assert row["approved_amount"] == money(amount)
    team2 = next(r for r in found if r["org_unit_id"] == books.desk.firm.units["team2"])
    assert team2["approval_rate"] == "0.3333"  # 1 of 3 decided


def test_months_are_the_tenants_local_months(books: Books) -> None:
    found = rows(
        books,
        "finance",
        dimensions=[{"key": "created_at", "bucket": "month"}],
        measures=["count", "amount_sum"],
    )
    local = (
        "to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-01')"
        if books.dialect == "postgresql"
        else "strftime('%Y-%m-01', datetime(created_at, '+8 hours'))"
    )
    expected = books.sql(
        f"SELECT {local} AS month, count(*), sum(amount) FROM intake_applications "
        "WHERE tenant_id = :tenant GROUP BY month ORDER BY month"
    )
    assert [(r["created_at"], r["count"], r["amount_sum"]) for r in found] == [
        (month, count, money(total)) for month, count, total in expected
    ]
    # 31 Jan 17:30 UTC is 1 Feb in Beijing, 28 Feb 23:00 UTC is 1 Mar there
    assert [r["count"] for r in found] == [3, 3, 5]


def test_days_weeks_quarters_and_years(books: Books) -> None:
    def buckets(bucket: str) -> dict[str, int]:
        found = rows(
            books,
            "finance",
            dimensions=[{"key": "created_at", "bucket": bucket}],
            measures=["count"],
        )
        return {r["created_at"]: r["count"] for r in found}

    assert buckets("year") == {"2026-01-01": 11}
    assert buckets("quarter") == {"2026-01-01": 11}
    # Python's calendar in Beijing time, independent of either database
    beijing = ZoneInfo("Asia/Shanghai")
    local = [created.astimezone(beijing).date() for *_, created in SEED]
    assert buckets("week") == Counter(str(d - timedelta(days=d.weekday())) for d in local)
    assert buckets("day") == Counter(str(d) for d in local)
    assert buckets("week")["2026-01-26"] == 1  # Sunday 1 Feb is in the week of Monday 26 Jan


def test_a_scope_counts_only_the_records_it_reaches(books: Books) -> None:
    def totals(who: str) -> tuple[int, str]:
        found = rows(books, who, measures=["count", "amount_sum"])
        assert len(found) == 1
        return found[0]["count"], found[0]["amount_sum"]

    desk, units = books.desk, books.desk.firm.units
    assert totals("officer1") == _totals(books, "owner_id = :a", a=desk.user("officer1"))
    assert totals("officer1") == (4, "43700.50")
    assert totals("officer3") == _totals(books, "owner_id = :a", a=desk.user("officer3"))
    # the risk manager's "unit" scope: 华东分公司 and its teams, not the company's own records
    branch = [uuid.UUID(units[name]) for name in ("branch", "team1", "team2")]
    assert totals("risk") == _totals(books, "org_unit_id IN (:a, :b, :c)", *branch)
    assert totals("risk") == (9, "118623.94")
    assert totals("finance") == _totals(books, "1 = 1")


def _totals(books: Books, where: str, *ids: uuid.UUID, **named: uuid.UUID) -> tuple[int, str]:
    """Count and total amount of tenant A's applications matching ``where`` (ids bound as
    ``:a``, ``:b``, ...), by hand-written SQL."""
    values = {**dict(zip("abc", ids, strict=False)), **named}
    statement = text(
        "SELECT count(*), sum(amount) FROM intake_applications "
        f"WHERE tenant_id = :tenant AND {where}"
    ).bindparams(*(bindparam(k, type_=Uuid) for k in ("tenant", *values)))
    with books.desk.session() as session:
        tenant = uuid.UUID(books.desk.firm.tenant.id)
        count, total = session.execute(statement, {"tenant": tenant, **values}).one()
    return count, money(total) or ""


def test_filters_narrow_the_rows(books: Books) -> None:
    found = rows(
        books,
        "finance",
        dimensions=["status"],
        measures=["count"],
        filters=["amount:ge:10000", "status:in:approved,rejected"],
    )
    assert found == [{"status": "approved", "count": 5}]
    expected = books.sql(
        "SELECT count(*) FROM intake_applications WHERE tenant_id = :tenant "
        "AND amount >= 1000000 AND status IN ('approved', 'rejected')"
    )
    assert expected == [(5,)]


def test_a_count_of_everything_is_one_row(books: Books) -> None:
    assert rows(books, "finance", measures=["count"]) == [{"count": len(SEED)}]
    assert rows(books, "officer1", measures=["count"], filters=["amount:gt:999999"]) == [
        {"count": 0}
    ]


def test_sort_and_limit(books: Books) -> None:
    found = rows(
        books,
        "finance",
        dimensions=["status"],
        measures=["count", "amount_sum"],
        sort="-count",
        limit=2,
    )
    assert [r["status"] for r in found] == ["approved", "rejected"]
    assert [r["count"] for r in found] == [5, 3]


def test_injection_in_filter_values_is_a_value(books: Books) -> None:
    for value in ("1; drop table intake_applications", "' or 1=1 --", "1 OR 1=1"):
        response = query(books, "finance", measures=["count"], filters=[f"amount:ge:{value}"])
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == ["filter.0"]
    for value in ("' or 1=1 --", "x'); drop table intake_applications; --"):
        response = query(books, "finance", measures=["count"], filters=[f"status:eq:{value}"])
        assert response.status_code in (200, 422)
        if response.status_code == 200:
            assert response.get_json()["rows"] == [{"count": 0}]
    assert books.sql("SELECT count(*) FROM intake_applications WHERE tenant_id = :tenant") == [
        (11,)
    ]


def test_what_a_spec_says_reaches_the_database_only_as_bound_values(
    books: Books, app: Any, api_a: ApiClient
) -> None:
    """Every statement sent while reports with hostile filter values and keys run: none
    holds the hostile text; the values travel as parameters, refused keys not at all."""
    from sqlalchemy import event

    created = api_a.post(
        "/record-types/application/fields",
        json={
            "key": "referrer",
            "kind": "text",
            "label_zh": "推荐人",
            "label_en": "Referrer",
            "searchable": True,
        },
    )
    assert created.status_code == 201, created.get_json()
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201

    hostile = ("x'); delete from reports; --", "1 OR 1=1", 'status"; --')
    sent: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    engine = app.extensions["loandesk"].db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        ran = query(
            books, "finance", measures=["count"], filters=[f"referrer:contains:{hostile[0]}"]
        )
        assert ran.status_code == 200 and ran.get_json()["rows"] == [{"count": 0}], ran.get_json()
        refused = query(books, "finance", dimensions=[hostile[2]], measures=["count"])
        assert refused.status_code == 422
        refused = query(books, "finance", measures=["count"], filters=[f"amount:ge:{hostile[1]}"])
        assert refused.status_code == 422
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    reports = [(s, p) for s, p in sent if "intake_applications" in s and "count(" in s.lower()]
    assert len(reports) == 1  # the one query that ran; the refused specs sent none
    for statement, _parameters in sent:
        assert not any(text in statement for text in hostile), statement
    assert hostile[0] in str(reports[0][1])  # the value went as a parameter


def test_bad_specs_are_refused_naming_where(books: Books) -> None:
    def problems(**spec: Any) -> dict[str, Any]:
        response = query(books, "finance", **spec)
        assert response.status_code == 422, response.get_json()
        return dict(response.get_json()["errors"])

    assert problems(dimensions=["status", "nope"], measures=["count", "nope"]) == {
        "dimensions.1": ["No dimension nope to group by."],
        "measures.1": ["No measure nope."],
    }
    assert list(
        problems(dimensions=[{"key": "created_at", "bucket": "fortnight"}], measures=["count"])
    ) == ["dimensions.0"]
    assert list(
        problems(dimensions=[{"key": "status", "bucket": "month"}], measures=["count"])
    ) == ["dimensions.0"]
    assert list(problems(dimensions=['status"; drop table x; --'], measures=["count"])) == [
        "dimensions.0"
    ]
    assert list(problems(measures=["count"], limit=5000)) == ["limit"]
    assert list(problems(measures=["count"], limit=0)) == ["limit"]
    assert list(problems(measures=["count"], sort="amount_sum")) == ["sort"]
    assert list(problems(measures=[])) == ["measures"]
    assert list(problems(measures=["count"], filters=["nope:eq:1"])) == ["filter.0"]
    response = books.api["finance"].post(
        "/reports/query", json={"dataset": "loans.loans", "measures": ["count"]}
    )
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["dataset"]


def test_a_team_scope_counts_the_teams_records(books: Books, api_a: ApiClient) -> None:
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "collector")
    put = api_a.put(
        f"/roles/{role['id']}/record-access/application",
        json={"scope": "team", "fields": {"amount": "view", "status": "view"}},
    )
    assert put.status_code == 200, put.get_json()
    firm = books.desk.firm
    collector = reports_client(
        api_a.client.application,
        api_a.client,
        firm.tenant.slug,
        firm.tenant.id,
        firm.staff["collector"].user_id,
    )
    response = collector.post(
        "/reports/query",
        json={"dataset": APPLICATIONS, "dimensions": ["status"], "measures": ["count"]},
    )
    assert response.status_code == 200, response.get_json()
    team1 = Counter(status for _, unit, status, *_ in SEED if unit == "team1")
    assert {r["status"]: r["count"] for r in response.get_json()["rows"]} == dict(team1)
