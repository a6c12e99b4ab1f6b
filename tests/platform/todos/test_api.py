"""``/api/v1/todos``: create, list with filters, get, patch, done/undone, delete, and the
4xx answers; a role's to-do is every holder's; another tenant sees none of it."""

from __future__ import annotations

import uuid

from tests.helpers import ApiClient
from tests.platform.todos.conftest import Office, ok


def _create(api: ApiClient, **body: object) -> dict[str, object]:
    return dict(ok(api.post("/todos", json={"title": "Call back", **body}), 201))


def test_a_todo_for_a_user_is_theirs_and_the_creators(office: Office) -> None:
    officer = str(office.user("officer1"))
    made = _create(
        office.api("risk"),
        assignee_user_id=officer,
        due_date="2026-12-01",
        due_time="14:30",
        note="about the income proof",
    )
    assert made["assignee_name"] == "officer1"
    assert (made["due_date"], made["due_time"]) == ("2026-12-01", "14:30:00")
    # Asia/Shanghai is UTC+8
    assert str(made["due_at"]).startswith("2026-12-01T06:30:00")
    mine = ok(office.api("officer1").get("/todos"))
    assert [t["id"] for t in mine["items"]] == [made["id"]]
    assert mine["items"][0]["can_toggle"] and not mine["items"][0]["can_edit"]
    assert ok(office.api("officer2").get("/todos"))["total"] == 0
    assert ok(office.api("officer2").get(f"/todos/{made['id']}"), 404)["code"]
    assert ok(office.api("risk").get(f"/todos/{made['id']}"))["can_edit"]
    assert ok(office.api("risk").get("/todos"))["total"] == 0  # not theirs to do
    created = ok(office.api("risk").get("/todos?box=created"))["items"]
    assert [t["id"] for t in created] == [made["id"]]
    assert ok(office.api("officer1").get("/todos?box=created"))["total"] == 0


def test_a_date_without_time_is_due_at_the_end_of_that_local_day(office: Office) -> None:
    made = _create(office.api("risk"), assignee_role="finance", due_date="2026-12-01")
    assert made["due_time"] is None and made["due_date"] == "2026-12-01"
    assert str(made["due_at"]).startswith("2026-12-01T15:59:59")


def test_a_role_todo_is_seen_and_ticked_by_every_holder(office: Office) -> None:
    made = _create(office.api("risk"), assignee_role="credit_officer")
    for name in ("officer1", "officer2", "officer3"):
        assert [t["id"] for t in ok(office.api(name).get("/todos"))["items"]] == [made["id"]]
    assert ok(office.api("collector").get("/todos"))["total"] == 0
    assert ok(office.api("collector").post(f"/todos/{made['id']}/done"), 404)
    done = ok(office.api("officer3").post(f"/todos/{made['id']}/done"))
    assert done["done"] and done["done_by_id"] == str(office.user("officer3"))
    assert ok(office.api("officer1").get("/todos"))["total"] == 0
    assert ok(office.api("officer1").get("/todos?state=done"))["total"] == 1
    reopened = ok(office.api("officer1").post(f"/todos/{made['id']}/undone"))
    assert not reopened["done"] and reopened["done_at"] is None


def test_filters_overdue_due_range_and_record(office: Office) -> None:
    api = office.api("officer1")
    me = str(office.user("officer1"))
    customer = office.customer_of("officer1")
    late = _create(api, title="Late", assignee_user_id=me, due_date="2020-01-02")
    soon = _create(
        api,
        title="Soon",
        assignee_user_id=me,
        due_date="2999-01-01",
        record_type="customer",
        record_id=customer,
    )
    nodue = _create(api, title="Whenever", assignee_user_id=me)
    listed = ok(api.get("/todos"))["items"]
    assert [t["title"] for t in listed] == ["Late", "Soon", "Whenever"]
    assert [t["overdue"] for t in listed] == [True, False, False]
    assert [t["id"] for t in ok(api.get("/todos?overdue=true"))["items"]] == [late["id"]]
    ranged = ok(api.get("/todos?due_from=2020-01-02&due_to=2020-01-02"))["items"]
    assert [t["id"] for t in ranged] == [late["id"]]
    linked = ok(api.get(f"/todos?record_type=customer&record_id={customer}"))["items"]
    assert [t["id"] for t in linked] == [soon["id"]]
    paged = ok(api.get("/todos?per_page=2&page=2"))
    assert paged["total"] == 3 and [t["id"] for t in paged["items"]] == [nodue["id"]]
    assert ok(api.get("/todos/counts")) == {"open": 3, "overdue": 1}


def test_bad_input_is_4xx_json_and_saves_nothing(office: Office) -> None:
    api = office.api("officer1")
    me = str(office.user("officer1"))
    both = ok(
        api.post("/todos", json={"title": "x", "assignee_user_id": me, "assignee_role": "finance"}),
        422,
    )
    assert "assignee" in both["errors"]
    assert (
        "title" in ok(api.post("/todos", json={"title": "", "assignee_user_id": me}), 422)["errors"]
    )
    assert (
        "title"
        in ok(api.post("/todos", json={"title": "x" * 201, "assignee_user_id": me}), 422)["errors"]
    )
    role = ok(api.post("/todos", json={"title": "x", "assignee_role": "astronaut"}), 422)
    assert "assignee_role" in role["errors"]
    nobody = ok(api.post("/todos", json={"title": "x", "assignee_user_id": str(uuid.uuid4())}), 422)
    assert "assignee_user_id" in nobody["errors"]
    kind = {"title": "x", "assignee_user_id": me, "record_type": "spaceship", "record_id": "1"}
    assert "record_type" in ok(api.post("/todos", json=kind), 422)["errors"]
    # officer3 (another team) may not read officer1's customer: as if it did not exist
    theirs = office.customer_of("officer3")
    hidden = {"title": "x", "assignee_user_id": me, "record_type": "customer", "record_id": theirs}
    assert "record_id" in ok(api.post("/todos", json=hidden), 422)["errors"]
    assert ok(api.get("/todos?state=all"))["total"] == 0
    assert ok(api.get("/todos?state=sideways"), 422)["code"]
    no_scope = office.firm.staff["officer1"].api  # records scopes only
    assert no_scope.get("/todos").status_code == 403


def test_only_creator_or_admin_edits_and_deletes(office: Office) -> None:
    made = _create(office.api("risk"), assignee_user_id=str(office.user("officer1")))
    path = f"/todos/{made['id']}"
    assert ok(office.api("officer1").patch(path, json={"title": "Mine now"}), 403)["code"]
    assert ok(office.api("officer1").delete(path), 403)
    changed = ok(
        office.api("risk").patch(path, json={"title": "Call back today", "due_date": "2026-12-03"})
    )
    assert changed["title"] == "Call back today" and changed["due_date"] == "2026-12-03"
    moved = ok(
        office.api("admin").patch(path, json={"assignee_user_id": None, "assignee_role": "finance"})
    )
    assert moved["assignee_role"] == "finance" and moved["assignee_user_id"] is None
    cleared = ok(office.api("risk").patch(path, json={"due_date": None}))
    assert cleared["due_at"] is None
    assert office.api("risk").delete(path).status_code == 204
    assert ok(office.api("risk").get(path), 404)


def test_another_tenant_sees_none_of_it(office: Office, tenant_b, app) -> None:  # type: ignore[no-untyped-def]
    from tests.platform.flows.api_helpers import client_for

    made = _create(office.api("risk"), assignee_role="tenant_admin")
    other = client_for(app, tenant_b, tenant_b.admin_user_id, ("todos:read", "todos:write"))
    assert ok(other.get("/todos?state=all"))["total"] == 0
    assert ok(other.get(f"/todos/{made['id']}"), 404)
    assert ok(other.post(f"/todos/{made['id']}/done"), 404)
    assert ok(other.delete(f"/todos/{made['id']}"), 404)
    assert ok(office.api("admin").get("/todos"))["total"] == 1
