"""What a viewer may use of a dataset follows their field permissions: a dimension, measure
or filter over a field they may not see (or see masked) is neither offered nor accepted, with
the message of an unknown one. Customers are a dataset too."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.helpers import ApiClient
from tests.platform.reports.conftest import Books

APPLICATION_FIELDS = (
    "number",
    "customer_id",
    "amount",
    "term_months",
    "status",
    "owner_id",
    "org_unit_id",
    "created_at",
    "submitted_at",
)


def catalog(books: Books, who: str) -> dict[str, Any]:
    response = books.api[who].get("/reports/datasets")
    assert response.status_code == 200, response.get_json()
    return {d["key"]: d for d in response.get_json()["items"]}


def keys(dataset: dict[str, Any], part: str) -> set[str]:
    return {item["key"] for item in dataset[part]}


def test_the_catalog_offers_both_datasets(books: Books) -> None:
    found = catalog(books, "finance")
    assert set(found) == {"intake.applications", "intake.approval_tasks", "customers.customers"}
    applications = found["intake.applications"]
    assert applications["label_zh"] == "借款申请"
    assert {"status", "org_unit_id", "owner_id", "created_at"} <= keys(applications, "dimensions")
    created = next(d for d in applications["dimensions"] if d["key"] == "created_at")
    assert created["buckets"] == ["day", "week", "month", "quarter", "year"]
    status = next(d for d in applications["dimensions"] if d["key"] == "status")
    assert {"value": "approved", "label_zh": "已批准", "label_en": "Approved"} in status["options"]
    assert "已批准" in applications["description_zh"]
    assert {"count", "amount_sum", "approval_rate"} <= keys(applications, "measures")
    assert {"amount", "status"} <= keys(applications, "filters")


def test_a_hidden_or_masked_field_is_neither_offered_nor_accepted(
    books: Books, api_a: ApiClient
) -> None:
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "credit_officer")
    fields = dict.fromkeys(APPLICATION_FIELDS, "edit")
    fields.pop("amount")  # not named: hidden
    fields["status"] = "masked"
    put = api_a.put(
        f"/roles/{role['id']}/record-access/application", json={"scope": "own", "fields": fields}
    )
    assert put.status_code == 200, put.get_json()

    applications = catalog(books, "officer1")["intake.applications"]
    measures = keys(applications, "measures")
    assert "count" in measures and "term_avg" in measures
    assert not {"amount_sum", "amount_avg", "approved_amount"} & measures
    assert not {"approval_rate", "approved"} & measures  # they read status
    assert "status" not in keys(applications, "dimensions")
    assert "amount" not in keys(applications, "filters")

    def refused(**spec: Any) -> dict[str, Any]:
        response = books.api["officer1"].post(
            "/reports/query", json={"dataset": "intake.applications", **spec}
        )
        assert response.status_code == 422, response.get_json()
        return dict(response.get_json()["errors"])

    assert refused(measures=["count", "amount_sum", "approval_rate"]) == {
        "measures.1": ["No measure amount_sum."],
        "measures.2": ["No measure approval_rate."],
    }
    assert refused(dimensions=["status"], measures=["count"]) == {
        "dimensions.0": ["No dimension status to group by."]
    }
    assert refused(measures=["count"], filters=["amount:ge:1"]) == {
        "filter.0": ["No field amount to filter by."]
    }
    # the same officer still gets the numbers of what they may see, of their own records
    response = books.api["officer1"].post(
        "/reports/query",
        json={"dataset": "intake.applications", "measures": ["count", "term_max"]},
    )
    assert response.get_json()["rows"] == [{"count": 4, "term_max": 24}]


def test_customers_by_unit(books: Books) -> None:
    # finance may not see incomes (its default grants): not theirs to sum
    assert "income_sum" not in keys(catalog(books, "finance")["customers.customers"], "measures")
    response = books.api["risk"].post(
        "/reports/query",
        json={
            "dataset": "customers.customers",
            "dimensions": ["org_unit_id"],
            "measures": ["count", "income_sum", "income_avg"],
        },
    )
    assert response.status_code == 200, response.get_json()
    expected = books.sql(
        "SELECT org_unit_id, count(*), sum(monthly_income) FROM customers_customers "
        "WHERE tenant_id = :tenant GROUP BY org_unit_id"
    )
    by_unit = {str(e[0]).replace("-", ""): e[1:] for e in expected}
    found = response.get_json()["rows"]
    assert len(found) == len(by_unit) == 2
    for row in found:
        count, income = by_unit[row["org_unit_id"].replace("-", "")]
        assert row["count"] == count
        assert row["income_sum"] == str(Decimal(income).scaleb(-2))
        assert row["income_avg"] == "8500.00"


def test_a_client_without_the_scope_or_a_staff_member_is_refused(
    books: Books, api_a: ApiClient
) -> None:
    assert books.desk.firm.staff["officer1"].api.get("/reports/datasets").status_code == 403
    refused = api_a.get("/reports/datasets")
    assert refused.status_code == 403
