# ruff: noqa: F811  (the firm fixture is imported from the customers tests and used by name)
"""Acceptance: a filter on a searchable custom field over 200,000 records uses an index on
PostgreSQL, as the app runs it (app role, tenant set, row-level security on).

An expression index on the JSON column cannot serve the app role: under row-level security
PostgreSQL uses a condition in an index scan only if every function in it is LEAKPROOF, and
``jsonb ->>`` and ``numeric`` comparisons are not. Searchable values are therefore kept as
sortable text in ``field_search_values`` (loandesk.fields.search_values), whose text and uuid
comparisons are leakproof. The 200,000 customers are COPYed past the app (as a migration from
another system would load them); the search rows come from the sync job's backfill.
"""

from __future__ import annotations

import json
import random
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from tests.conftest import DatabaseUrls, _psycopg_url
from tests.helpers import ApiClient
from tests.platform.test_lists import define_fields
from tests.plugins.customers.conftest import Firm, firm  # noqa: F401

pytestmark = pytest.mark.postgresql

ROWS = 200_000
LOOKUP = "ix_field_search_values_lookup"
SCORE = {
    "key": "score",
    "kind": "integer",
    "label_zh": "评分",
    "label_en": "Score",
    "searchable": True,
}
CITY = {"key": "city", "kind": "text", "label_zh": "城市", "label_en": "City", "searchable": True}
CITIES = ["上海", "杭州", "南京", "苏州", "合肥", "宁波", "无锡", "温州", "常州", "嘉兴"]


def _sync(urls: DatabaseUrls) -> dict[str, int]:
    """What the core.sync_field_search job does, as the owner role."""
    from loandesk_customers.record_type import CUSTOMER

    from loandesk.fields import search_values

    engine = create_engine(_psycopg_url(urls.owner_url))
    try:
        return search_values.sync(engine, [CUSTOMER])
    finally:
        engine.dispose()


def _search_rows(urls: DatabaseUrls, tenant_id: str) -> dict[str, int]:
    with psycopg.connect(urls.owner_url) as connection:
        connection.execute("select set_config('app.tenant_id', %s, false)", (tenant_id,))
        rows = connection.execute(
            "select key, count(*) from field_search_values group by key"
        ).fetchall()
    return dict(rows)


def _insert(urls: DatabaseUrls, firm: Firm, count: int) -> None:
    from loandesk.db import uuid7

    officer = firm.staff["officer1"]
    rng = random.Random(20260301)
    columns = (
        "tenant_id, id, name, employer, status, owner_id, org_unit_id, created_at, updated_at,"
        " custom"
    )
    with psycopg.connect(urls.owner_url) as connection:
        connection.execute("select set_config('app.tenant_id', %s, false)", (firm.tenant.id,))
        # COPY refuses a table under row-level security: copy into a temporary table, then
        # one INSERT ... SELECT (which the policy checks row by row).
        connection.execute(
            "create temporary table staged (like customers_customers including defaults)"
        )
        with connection.cursor().copy(f"COPY staged ({columns}) FROM STDIN") as copy:
            for number in range(count):
                custom: dict[str, Any] = {"city": rng.choice(CITIES)}
                if rng.random() < 0.95:  # some records never had a score
                    custom["score"] = rng.randint(300, 1000)
                copy.write_row(
                    (
                        firm.tenant.id,
                        uuid7(),
                        f"客户{number:06d}",
                        "某某科技有限公司",
                        "active",
                        officer.user_id,
                        firm.units["team1"],
                        "2026-03-01T08:00:00+00:00",
                        "2026-03-01T08:00:00+00:00",
                        json.dumps(custom, ensure_ascii=False),
                    )
                )
        connection.execute(
            f"insert into customers_customers ({columns}) select {columns} from staged"
        )
        connection.execute("analyze customers_customers")


def _plan_indexes(plan: Any) -> list[tuple[str, str]]:
    """(node type, index name) of every node of an EXPLAIN (FORMAT JSON) plan using one."""
    found: list[tuple[str, str]] = []

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            found.append((node["Node Type"], node["Index Name"]))
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _explain_list(app: Flask, firm: Firm, filters: list[str], admin_url: str) -> dict[str, Any]:
    """The customer list's SQL for ``filters`` (page and total), explained the way the app
    runs it: its session (app role, tenant set by the session listener, RLS on), with its
    bound parameters; and the page's SQL explained by a superuser (``superuser_rows``)."""
    from loandesk_customers import service
    from sqlalchemy import select

    from loandesk.auth.models import User
    from loandesk.fields.current import tenant_record_type
    from loandesk.fields.lists import ListState
    from loandesk.pii import for_current_tenant
    from loandesk.rbac.access import RecordAccess
    from loandesk.tenancy import service as tenancy
    from loandesk.tenancy import use

    db = app.extensions["loandesk"].db
    explained: dict[str, Any] = {}
    with app.test_request_context(), db.transaction() as session:
        with use(tenancy.get_by_slug(session, firm.tenant.slug).ref()):
            user = session.scalar(select(User).where(User.email == firm.staff["auditor"].email))
            access = RecordAccess.resolve(session, user, tenant_record_type("customer"))
            keys = for_current_tenant()
            listing = service.customer_list(access)
            resolved = listing.resolve(ListState.of(filters=filters))
            rows, total = listing.statements(
                service.customer_query(access, keys), resolved, dialect="postgresql", keys=keys
            )
            connection = session.connection()
            for name, statement in (("rows", rows), ("total", total)):
                compiled = statement.compile(dialect=connection.dialect)
                plan = connection.exec_driver_sql(
                    "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params
                ).scalar_one()
                explained[name] = plan if isinstance(plan, list) else json.loads(plan)
                explained[name + "_sql"] = str(compiled)
            explained["role"] = connection.execute(text("select current_user")).scalar_one()
            explained["rls"] = connection.execute(
                text(
                    "select relrowsecurity and relforcerowsecurity from pg_class"
                    " where relname = 'customers_customers'"
                )
            ).scalar_one()
            explained["seen"] = len(session.scalars(rows).all())
            # the same SQL and parameters, as a superuser (row-level security bypassed)
            compiled = rows.compile(dialect=connection.dialect)
            with psycopg.connect(admin_url) as superuser:
                plan = superuser.execute(
                    "EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params
                ).fetchone()[0]  # type: ignore[index]
            explained["superuser_rows"] = plan if isinstance(plan, list) else json.loads(plan)
    return explained


@pytest.fixture
def big_tenant(app: Flask, firm: Firm, database_urls: DatabaseUrls) -> Firm:
    define_fields(ApiClient(firm.staff["officer1"].api.client, firm.tenant.token), SCORE, CITY)
    _insert(database_urls, firm, ROWS)
    written = _sync(database_urls)
    assert written["customer.city"] == ROWS
    assert 0.9 * ROWS < written["customer.score"] < ROWS  # 5% never had a score
    assert _sync(database_urls) == {}  # nothing left to do: a rerun writes nothing
    with psycopg.connect(database_urls.owner_url) as connection:
        connection.execute("select set_config('app.tenant_id', %s, false)", (firm.tenant.id,))
        connection.execute("analyze customers_customers")
        connection.execute("analyze field_search_values")
    return firm


def _uses(plan: Any, name: str) -> bool:
    return any(
        index == name and node in ("Index Scan", "Bitmap Index Scan", "Index Only Scan")
        for node, index in _plan_indexes(plan)
    )


@pytest.mark.slow
def test_a_filter_on_a_searchable_custom_field_uses_an_index_under_rls(
    app: Flask, big_tenant: Firm, database_urls: DatabaseUrls
) -> None:
    explained = _explain_list(app, big_tenant, ["score:eq:777"], database_urls.admin_url or "")
    assert explained["role"] == database_urls.app_role and explained["rls"] is True
    assert explained["seen"] == 20
    for name in ("rows", "total"):
        assert _uses(explained[name], LOOKUP), (name, json.dumps(explained[name]))
    # a range on a number, and two conditions at once
    ranged = _explain_list(
        app, big_tenant, ["city:eq:温州", "score:ge:995"], database_urls.admin_url or ""
    )
    assert _uses(ranged["rows"], LOOKUP), json.dumps(ranged["rows"])
    assert ranged["seen"] > 0
    # what the index finds is what the JSON holds: counts agree with a scan of the column
    # (one test: setting up 200,000 customers is the slow part)
    with psycopg.connect(database_urls.owner_url) as connection:
        connection.execute("select set_config('app.tenant_id', %s, false)", (big_tenant.tenant.id,))
        expected = connection.execute(
            "select count(*) from customers_customers"
            " where (custom ->> 'score')::int between 990 and 1000 and custom ->> 'city' = '温州'"
        ).fetchone()[0]  # type: ignore[index]
    total = (
        big_tenant.staff["auditor"]
        .api.get("/customers?filter=score:ge:990&filter=city:eq:温州&per_page=1")
        .get_json()["total"]
    )
    assert total == expected > 0


def test_search_rows_follow_writes_and_the_searchable_setting(
    app: Flask, firm: Firm, database_urls: DatabaseUrls
) -> None:
    tenant_api = ApiClient(firm.staff["officer1"].api.client, firm.tenant.token)
    define_fields(tenant_api, {**SCORE, "searchable": False}, CITY)
    officer = firm.staff["officer1"].api
    body = {"name": "赵六", "mobile": "13600136000", "score": 820, "city": "杭州"}
    customer = officer.post("/customers", json=body).get_json()
    assert _search_rows(database_urls, firm.tenant.id) == {"city": 1}  # written with the record
    officer.patch(f"/customers/{customer['id']}", json={"city": "宁波"})
    assert officer.get("/customers?filter=city:eq:宁波").get_json()["total"] == 1
    assert officer.get("/customers?filter=city:eq:杭州").get_json()["total"] == 0
    # score becomes searchable: the sync job fills its rows for existing records
    assert (
        tenant_api.patch(
            "/record-types/customer/fields/score", json={"searchable": True}
        ).status_code
        == 200
    )
    assert tenant_api.post("/record-types/customer/form/publish", json={}).status_code == 201
    assert _sync(database_urls) == {"customer.score": 1}
    assert officer.get("/customers?filter=score:gt:800").get_json()["total"] == 1
    assert officer.get("/customers?filter=score:lt:800").get_json()["total"] == 0
    # city stops being searchable: its rows go
    assert (
        tenant_api.patch(
            "/record-types/customer/fields/city", json={"searchable": False}
        ).status_code
        == 200
    )
    assert tenant_api.post("/record-types/customer/form/publish", json={}).status_code == 201
    assert _sync(database_urls) == {"-customer.city": 1}
    assert _search_rows(database_urls, firm.tenant.id) == {"score": 1}


def test_another_tenant_keeps_its_search_rows(
    app: Flask, firm: Firm, database_urls: DatabaseUrls, api_b: ApiClient, tenant_b: Any
) -> None:
    from tests.plugins.customers.conftest import add_staff

    tenant_api = ApiClient(firm.staff["officer1"].api.client, firm.tenant.token)
    assert api_b.put("/plugins/customers", json={"enabled": True}).status_code == 200
    define_fields(tenant_api, SCORE)
    define_fields(api_b, SCORE)
    unit = api_b.get("/org-units").get_json()["items"][0]["id"]
    other = add_staff(app, api_b.client, tenant_b, "b_officer", ["credit_officer"], unit).api
    other.post("/customers", json={"name": "钱七", "mobile": "13500135000", "score": 700})
    firm.staff["officer1"].api.post(
        "/customers", json={"name": "孙八", "mobile": "13500135001", "score": 700}
    )
    tenant_api.patch("/record-types/customer/fields/score", json={"searchable": False})
    assert tenant_api.post("/record-types/customer/form/publish", json={}).status_code == 201
    assert _sync(database_urls) == {"-customer.score": 1}
    assert _search_rows(database_urls, tenant_b.id) == {"score": 1}
    assert other.get("/customers?filter=score:eq:700").get_json()["total"] == 1
