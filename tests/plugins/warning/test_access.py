"""Who sees what: the permissions on the API and the pages, the data scope, tenant
isolation (another firm sees none of the watch list or the models, and an id of this firm's
is 404 there), and the pages themselves (filters, empty states, the model's evaluation and
the retrain button)."""

from __future__ import annotations

import re
import uuid

from tests.helpers import ApiClient, TenantFixture, csrf_from
from tests.plugins.customers.conftest import add_staff
from tests.plugins.warning.conftest import Warn
from tests.plugins.warning.test_scoring import train_seeded


def test_the_api_needs_the_permissions(warn: Warn) -> None:
    loan = warn.book(25)
    warn.run("warning.score")
    [entry] = warn.entries()
    officer, collector = warn.api("officer1"), warn.api("collector")
    for path in ("/warning/watchlist", f"/warning/watchlist/{entry['id']}", "/warning/models"):
        answer = officer.get(path)
        assert answer.status_code == 403, path
        assert answer.get_json()["code"] == "forbidden"
    assert collector.get("/warning/watchlist").get_json()["items"][0]["loan_id"] == loan
    assert collector.get(f"/warning/watchlist/{entry['id']}").status_code == 200
    assert collector.post("/warning/models").status_code == 403  # viewing is not managing
    assert warn.api("risk").post("/warning/models").status_code == 409  # allowed; too thin
    assert officer.get("/warning/watchlist/not-a-uuid").status_code == 404


def test_filters_and_paging(warn: Warn) -> None:
    loans = [warn.book(25) for _ in range(3)]
    warn.run("warning.score")
    risk = warn.api("risk")
    page = risk.get("/warning/watchlist", query_string={"per_page": 2}).get_json()
    assert (page["total"], len(page["items"])) == (3, 2)
    rest = risk.get("/warning/watchlist", query_string={"per_page": 2, "page": 2}).get_json()
    assert {e["loan_id"] for e in page["items"] + rest["items"]} == set(loans)
    assert warn.entries(level="high") == []
    assert len(warn.entries(level="medium", product="XF01")) == 3
    assert warn.entries(product="XF99") == []
    booked_by = warn.desk.firm.staff["finance"].user_id  # the loans' owner
    assert len(warn.entries(owner_id=booked_by)) == 3
    assert warn.entries(owner_id=warn.desk.firm.staff["officer1"].user_id) == []
    bad = risk.get("/warning/watchlist", query_string={"level": "severe"})
    assert bad.status_code == 422 and "level" in str(bad.get_json()["errors"])


def test_another_tenant_sees_nothing_of_this_one(
    warn: Warn, api_b: ApiClient, tenant_b: TenantFixture
) -> None:
    warn.book(25)
    warn.run("warning.score")
    model, _ = train_seeded(warn, warn.today())
    [entry] = warn.entries()
    for name in ("customers", "testproducts", "repayment", "warning"):
        answer = api_b.put(f"/plugins/{name}", json={"enabled": True})
        assert answer.status_code == 200, answer.get_json()
    unit = api_b.get("/org-units").get_json()["items"][0]["id"]
    other = add_staff(warn.app, api_b.client, tenant_b, "riskb", ["risk_manager"], unit).api
    assert other.get("/warning/watchlist").get_json()["total"] == 0
    assert other.get(f"/warning/watchlist/{entry['id']}").status_code == 404
    assert other.get("/warning/models").get_json()["total"] == 0
    assert other.get("/warning/models/active").status_code == 404
    # and the other tenant's own job scores its own (empty) book only
    from loandesk.jobs.runtime import execute

    execute(warn.app, "b-score", "warning.score", uuid.UUID(tenant_b.id), (), 1,
            lambda done, total: None)  # fmt: skip
    assert other.get("/warning/watchlist").get_json()["total"] == 0
    assert warn.api("risk").get("/warning/models/active").get_json()["version"] == model.version


def test_the_pages(warn: Warn) -> None:
    officer = warn.browser("officer1")
    assert officer.get(warn.page("/")).status_code == 403
    assert officer.get(warn.page("/model")).status_code == 403

    risk = warn.browser("risk")
    empty = risk.get(warn.page("/")).get_data(as_text=True)
    assert "No loan is on the watch list" in empty
    loan = warn.book(25)
    warn.run("warning.score")
    page = risk.get(warn.page("/")).get_data(as_text=True)
    assert "First payment default risk" in page and "Medium" in page
    filtered = risk.get(warn.page("/?level=high"), headers={"HX-Request": "true",
                        "HX-Target": "watch-list"}).get_data(as_text=True)  # fmt: skip
    assert "No loan on the watch list matches" in filtered and "<html" not in filtered
    with risk.session_transaction() as state:
        state.pop("locale", None)  # the tenant's language: Chinese reasons
    assert "首期违约风险" in risk.get(warn.page("/")).get_data(as_text=True)
    with risk.session_transaction() as state:
        state["locale"] = "en"

    model_page = risk.get(warn.page("/model")).get_data(as_text=True)
    assert "No model has been trained yet" in model_page and "Retrain now" in model_page
    refused = risk.post(warn.page("/model/retrain"), data={})
    assert refused.status_code in (400, 403)  # no CSRF token
    thin = risk.post(warn.page("/model/retrain"),
                     data={"csrf_token": csrf_from(risk, warn.page("/model"))})  # fmt: skip
    assert thin.status_code == 409
    assert "Not enough repayment history" in thin.get_data(as_text=True)

    model, _ = train_seeded(warn, warn.today())
    shown = risk.get(warn.page("/model")).get_data(as_text=True)
    auc = re.search(r'id="model-auc">([^<]+)<', shown)
    assert auc is not None and auc.group(1) == str(model.auc)
    assert "Version 1 in use" in shown and "Longest days past due" in shown
    collector = warn.browser("collector")
    assert "Retrain now" not in collector.get(warn.page("/model")).get_data(as_text=True)
    assert collector.post(warn.page("/model/retrain"), data={
        "csrf_token": csrf_from(collector, warn.page("/model"))}).status_code == 403  # fmt: skip
    assert loan


def test_the_watch_list_keeps_to_the_viewers_data_scope(warn: Warn) -> None:
    risk_id = warn.desk.firm.staff["risk"].user_id
    theirs = warn.book(25, owner_id=risk_id)
    others = warn.book(25)  # the finance clerk's
    warn.run("warning.score")
    assert {e["loan_id"] for e in warn.entries()} == {theirs, others}  # scope: all

    roles = warn.admin.get("/roles").get_json()
    role = next(r for r in roles if r["key"] == "risk_manager")
    from loandesk_warning.record_type import FIELDS

    grant = {"scope": "own", "fields": {f.key: "view" for f in FIELDS}, "export": []}
    answer = warn.admin.put(f"/roles/{role['id']}/record-access/warning", json=grant)
    assert answer.status_code == 200, answer.get_json()
    assert [e["loan_id"] for e in warn.entries()] == [theirs]
    hidden = next(e for e in warn.entries("collector") if e["loan_id"] == others)
    assert warn.api("risk").get(f"/warning/watchlist/{hidden['id']}").status_code == 404
    page = warn.browser("risk").get(warn.page("/")).get_data(as_text=True)
    assert page.count("First payment default risk") == 1
