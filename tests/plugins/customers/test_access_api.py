"""Acceptance (governance): through the API, a collector sees a borrower's mobile masked and
cannot edit income; an auditor sees everything and cannot export; a credit officer with scope
"own" sees only the customers assigned to them; team and unit scopes follow the org tree."""

from __future__ import annotations

from tests.plugins.customers.conftest import Firm, add_staff, new_customer


def _ids(response) -> set[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def test_collector_sees_mobile_masked_and_cannot_edit_income(firm: Firm) -> None:
    officer, collector = firm.staff["officer1"], firm.staff["collector"]
    customer = new_customer(officer.api, bank_card="6222020200112233446")
    # the collector's scope is "own": the customer is given to them first
    admin_assign = firm.staff["risk"].api.post(
        f"/customers/{customer['id']}/assign", json={"owner_id": collector.user_id}
    )
    assert admin_assign.status_code == 200, admin_assign.get_json()

    seen = collector.api.get(f"/customers/{customer['id']}").get_json()
    assert seen["mobile"] == "138****8000"
    assert seen["id_number"] == "110***********002X"
    assert "bank_card" not in seen  # hidden for collectors
    assert seen["monthly_income"] == "8500.00" and seen["name"] == "张三丰"
    assert set(seen["masked"]) == {"mobile", "id_number"}

    refused = collector.api.patch(
        f"/customers/{customer['id']}", json={"monthly_income": "99999.00"}
    )
    assert refused.status_code == 403
    body = refused.get_json()
    assert body["code"] == "forbidden" and "monthly_income" in body["message"]
    assert list(body["errors"]) == ["monthly_income"]
    # a mixed change is refused whole: the allowed field is not written either
    mixed = collector.api.patch(
        f"/customers/{customer['id']}",
        json={"notes": "上门未遇", "monthly_income": "1.00"},
    )
    assert mixed.status_code == 403
    after = officer.api.get(f"/customers/{customer['id']}")
    assert after.status_code == 404  # no longer the officer's customer: out of "own" scope
    unchanged = firm.staff["auditor"].api.get(f"/customers/{customer['id']}").get_json()
    assert unchanged["monthly_income"] == "8500.00" and unchanged["notes"] is None
    # what the collector may edit, they can
    ok = collector.api.patch(f"/customers/{customer['id']}", json={"notes": "上门未遇"})
    assert ok.status_code == 200 and ok.get_json()["notes"] == "上门未遇"


def test_auditor_sees_everything_and_cannot_export(firm: Firm) -> None:
    customer = new_customer(firm.staff["officer3"].api, bank_card="6222020200112233446")
    auditor = firm.staff["auditor"]
    seen = auditor.api.get(f"/customers/{customer['id']}").get_json()
    assert seen["mobile"] == "13800138000"
    assert seen["id_number"] == "11010519491231002X"
    assert seen["bank_card"] == "6222020200112233446"
    assert seen["masked"] == []
    assert customer["id"] in _ids(auditor.api.get("/customers"))

    export = auditor.api.get("/customers/export")
    assert export.status_code == 403
    assert export.get_json()["code"] == "forbidden"
    # nor may the auditor change anything
    assert (
        auditor.api.patch(f"/customers/{customer['id']}", json={"name": "改名"}).status_code == 403
    )


def test_credit_officer_with_scope_own_sees_only_their_customers(firm: Firm) -> None:
    mine = new_customer(firm.staff["officer1"].api, name="甲")
    teammates = new_customer(firm.staff["officer2"].api, name="乙", mobile="13900139000")
    others = new_customer(firm.staff["officer3"].api, name="丙", mobile="13700137000")

    officer1 = firm.staff["officer1"].api
    assert _ids(officer1.get("/customers")) == {mine["id"]}
    for other in (teammates, others):
        response = officer1.get(f"/customers/{other['id']}")
        assert response.status_code == 404  # out of scope is as if it did not exist
        assert officer1.patch(f"/customers/{other['id']}", json={"notes": "x"}).status_code == 404
    # search applies the scope too: the teammate's exact mobile finds nothing
    assert _ids(officer1.get("/customers", query_string={"q": "13900139000"})) == set()
    assert _ids(officer1.get("/customers", query_string={"q": "甲"})) == {mine["id"]}

    # the risk manager sits in the branch with scope "unit": both teams below it; a customer
    # given to someone outside the branch (finance, at the company) leaves that scope
    outside = new_customer(officer1, name="丁", mobile="13600136000")
    risk = firm.staff["risk"].api
    seen = _ids(risk.get("/customers", query_string={"per_page": 100}))
    assert seen == {mine["id"], teammates["id"], others["id"], outside["id"]}
    moved = risk.post(
        f"/customers/{outside['id']}/assign",
        json={"owner_id": firm.staff["finance"].user_id},
    )
    assert moved.status_code == 200, moved.get_json()
    assert outside["id"] not in _ids(risk.get("/customers"))


def test_team_scope_reaches_the_team_and_unit_scope_the_units_below(
    firm: Firm,
    api_a,  # type: ignore[no-untyped-def]
) -> None:
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "credit_officer")
    grant = api_a.get(f"/roles/{role['id']}/record-access").get_json()
    customer_grant = next(g for g in grant if g["record_type"] == "customer")
    assert customer_grant["scope"] == "own"

    a = new_customer(firm.staff["officer1"].api, name="甲")
    b = new_customer(firm.staff["officer2"].api, name="乙")
    c = new_customer(firm.staff["officer3"].api, name="丙")
    put = api_a.put(
        f"/roles/{role['id']}/record-access/customer",
        json={**customer_grant, "scope": "team"},
    )
    assert put.status_code == 200, put.get_json()
    assert _ids(firm.staff["officer1"].api.get("/customers")) == {a["id"], b["id"]}
    assert _ids(firm.staff["officer3"].api.get("/customers")) == {c["id"]}

    # "unit" from a team is still that team (no units below it); from the branch, both teams
    api_a.put(
        f"/roles/{role['id']}/record-access/customer",
        json={**customer_grant, "scope": "unit"},
    )
    assert _ids(firm.staff["officer1"].api.get("/customers")) == {a["id"], b["id"]}
    move = api_a.patch(
        f"/users/{firm.staff['officer3'].user_id}",
        json={"org_unit_id": firm.units["branch"]},
    )
    assert move.status_code == 200, move.get_json()
    assert _ids(firm.staff["officer3"].api.get("/customers")) == {a["id"], b["id"], c["id"]}


def test_a_new_role_gets_nothing_until_granted(app, client, firm: Firm, api_a) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(firm.staff["officer1"].api)
    role = api_a.post(
        "/roles", json={"key": "intern", "name_zh": "实习生", "name_en": "Intern"}
    ).get_json()
    grants = api_a.get(f"/roles/{role['id']}/record-access").get_json()
    assert grants == [{"record_type": "customer", "scope": None, "fields": {}, "export": []}]
    intern = add_staff(app, client, firm.tenant, "intern", ["intern"], firm.units["team1"])
    refused = intern.api.get("/customers")
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    assert intern.api.get(f"/customers/{customer['id']}").status_code == 403

    # granted scope "all" and one field: exactly that field is there, nothing else
    put = api_a.put(
        f"/roles/{role['id']}/record-access/customer",
        json={"scope": "all", "fields": {"name": "masked"}},
    )
    assert put.status_code == 200, put.get_json()
    seen = intern.api.get(f"/customers/{customer['id']}").get_json()
    assert seen == {"id": customer["id"], "name": "张*丰", "masked": ["name"]}


def test_bad_grants_are_refused_and_change_nothing(firm: Firm, api_a) -> None:  # type: ignore[no-untyped-def]
    role = next(r for r in api_a.get("/roles").get_json() if r["key"] == "collector")
    url = f"/roles/{role['id']}/record-access/customer"
    before = api_a.get(f"/roles/{role['id']}/record-access").get_json()
    for body, field in (
        ({"scope": "everything"}, "scope"),
        ({"scope": "own", "fields": {"salary": "view"}}, "fields"),
        ({"scope": "own", "fields": {"mobile": "peek"}}, "fields"),
        ({"scope": "own", "fields": {"mobile": "hidden"}, "export": ["mobile"]}, "export"),
    ):
        response = api_a.put(url, json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in str(response.get_json()["errors"]), response.get_json()
    assert api_a.get(f"/roles/{role['id']}/record-access").get_json() == before
    admin = next(r for r in api_a.get("/roles").get_json() if r["key"] == "tenant_admin")
    refused = api_a.put(f"/roles/{admin['id']}/record-access/customer", json={"scope": "own"})
    assert refused.status_code == 409
    assert (
        api_a.put(f"/roles/{role['id']}/record-access/loan", json={"scope": "own"}).status_code
        == 404
    )


def test_invalid_personal_data_is_refused_and_nothing_is_saved(firm: Firm) -> None:
    officer = firm.staff["officer1"].api
    for body, field in (
        ({"name": "王五", "mobile": "13800138000", "id_number": "110105194912310021"}, "id_number"),
        ({"name": "王五", "mobile": "12345"}, "mobile"),
        (
            {"name": "王五", "mobile": "13800138000", "bank_card": "6222020200112233441"},
            "bank_card",
        ),
        ({"name": "王五", "mobile": "13800138000", "monthly_income": 8500.5}, "monthly_income"),
        ({"name": "王五", "mobile": "13800138000", "monthly_income": "85.001"}, "monthly_income"),
        ({"name": "", "mobile": "13800138000"}, "name"),
    ):
        response = officer.post("/customers", json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["errors"], response.get_json()
    assert officer.get("/customers").get_json()["total"] == 0
