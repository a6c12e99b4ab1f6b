"""The risk pages: the draft editor (rows added without saving, each problem next to its
input, nothing typed lost), publishing, old versions read-only, risk managers only; a
decision's page with its inputs, hits and scores, the review button and the borrower's
explanation; the back-test page."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import csrf_from
from tests.platform.flows.conftest import Desk
from tests.plugins.customers.conftest import PASSWORD, Firm, audit_events
from tests.plugins.risk.conftest import SCORECARD, publish, rule, submit

EN = {"Accept-Language": "en"}


def _browser(app: Flask, firm: Firm, name: str) -> FlaskClient:
    browser = app.test_client()
    login = f"/t/{firm.tenant.slug}/login"
    staff = firm.staff[name]
    answer = browser.post(
        login,
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_from(browser, login)},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    with browser.session_transaction() as state:
        state["locale"] = "en"  # the pages in English (assertions read the msgids)
    return browser


@pytest.fixture
def desk(risk: Firm, app: Flask) -> Desk:
    return Desk(app, risk)


def _post(
    browser: FlaskClient, path: str, data: dict[str, Any], headers: dict[str, str] | None = None
) -> Any:
    token = csrf_from(browser, path) if "csrf_token" not in data else data.pop("csrf_token")
    return browser.post(path, data={"csrf_token": token, **data}, headers={**EN, **(headers or {})})


def _rule_fields(index: int, **values: str) -> dict[str, str]:
    base = rule("big", "amount > 100000")
    return {f"rules.{index}.{k}": v for k, v in {**base, **values}.items()}


def test_the_editor_saves_shows_problems_in_place_and_publishes(desk: Desk, app: Flask) -> None:
    browser = _browser(app, desk.firm, "risk")
    base = f"/t/{desk.firm.tenant.slug}/risk"
    assert browser.get(f"{base}/", headers=EN).status_code == 200
    added = _post(browser, f"{base}/draft", {"op": "add_rule"}, headers={"HX-Request": "true"})
    assert added.status_code == 200
    assert 'name="rules.0.expression"' in added.get_data(as_text=True)
    assert 'name="rules.1.expression"' not in added.get_data(as_text=True)

    wrong = _post(
        browser, f"{base}/draft", {"op": "save", **_rule_fields(0, expression="salary > 1")}
    )
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    problem = re.search(
        r'id="f-rules\.0\.expression-error">\s*<div class="field-error">(.*?)</div>', html
    )
    assert problem is not None and "salary" in problem.group(1)
    assert 'value="salary &gt; 1"' in html  # what was typed is kept
    assert (
        desk.firm.staff["risk"].api.get("/risk/rule-sets/application/draft").get_json()["rules"]
        == []
    )

    saved = _post(browser, f"{base}/draft", {"op": "save", **_rule_fields(0)})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    draft = desk.firm.staff["risk"].api.get("/risk/rule-sets/application/draft").get_json()
    assert [(r["key"], r["expression"], r["outcome"]) for r in draft["rules"]] == [
        ("big", "amount > 100000", "reject")
    ]
    published = _post(
        browser,
        f"{base}/publish",
        {"note": "第一版", "csrf_token": csrf_from(browser, f"{base}/draft")},
    )
    assert published.status_code == 302
    assert len(audit_events(app, desk.firm, "risk.rule_set.publish")) == 1
    index = browser.get(f"{base}/", headers=EN).get_data(as_text=True)
    assert "Version 1" in index and "第一版" in index
    old = browser.get(f"{base}/versions/1", headers=EN).get_data(as_text=True)
    assert "amount &gt; 100000" in old and "<input" not in old.split("<main", 1)[-1]


def test_the_scorecard_is_edited_with_problems_next_to_each_bin(desk: Desk, app: Flask) -> None:
    browser = _browser(app, desk.firm, "risk")
    path = f"/t/{desk.firm.tenant.slug}/risk/draft"
    started = _post(browser, path, {"op": "add_scorecard"}).get_data(as_text=True)
    assert 'name="scorecard.variables.0.bins.0.min"' in started
    fields = {
        "scorecard.on": "1",
        "scorecard.base": "10",
        "scorecard.variables.0.key": "amount",
        "scorecard.variables.0.missing_points": "0",
        "scorecard.variables.0.bins.0.min": "",
        "scorecard.variables.0.bins.0.max": "20000",
        "scorecard.variables.0.bins.0.points": "40",
        "scorecard.variables.0.bins.1.min": "25000",  # a gap
        "scorecard.variables.0.bins.1.max": "",
        "scorecard.variables.0.bins.1.points": "0",
        "scorecard.grades.0.grade": "A",
        "scorecard.grades.0.min_score": "0",
        "scorecard.grades.0.limit": "50000.00",
        "scorecard.grades.0.rate": "0.0850",
        "scorecard.grades.0.outcome": "pass",
    }
    wrong = _post(browser, path, {"op": "save", **fields})
    assert wrong.status_code == 422
    assert 'id="f-scorecard.variables.0.bins.1.min-error"' in wrong.get_data(as_text=True)
    saved = _post(
        browser, path, {"op": "save", **fields, "scorecard.variables.0.bins.1.min": "20000"}
    )
    assert saved.status_code == 200
    card = (
        desk.firm.staff["risk"].api.get("/risk/rule-sets/application/draft").get_json()["scorecard"]
    )
    assert card["base"] == 10 and card["variables"][0]["bins"][1] == {
        "min": "20000",
        "max": None,
        "points": 0,
    }
    assert card["grades"][0]["rate"] == "0.0850"


def test_only_risk_managers_see_the_rule_pages(desk: Desk, app: Flask) -> None:
    browser = _browser(app, desk.firm, "officer1")
    base = f"/t/{desk.firm.tenant.slug}/risk"
    for path in ("/", "/draft", "/back-tests", "/versions/1"):
        assert browser.get(base + path).status_code == 403, path


def test_the_decision_page_the_review_button_and_the_explanation(desk: Desk, app: Flask) -> None:
    publish(
        desk.firm.staff["risk"].api,
        {
            "rules": [rule("big", "amount > 100000", reason_zh="申请金额超过可批额度")],
            "scorecard": SCORECARD,
        },
    )
    application = submit(desk, "150000.00")
    browser = _browser(app, desk.firm, "officer1")
    base = f"/t/{desk.firm.tenant.slug}/risk"
    page = browser.get(f"{base}/applications/{application}", headers=EN).get_data(as_text=True)
    assert "Auto-reject" in page and "R_BIG" in page and "Version 1" in page
    assert "150000.00" in page and "[100000, )" in page  # inputs and the bin
    assert "Request human review" in page

    decision_id = re.search(r"/risk/decisions/([0-9a-f-]+)/review-request", page)
    assert decision_id is not None
    asked = _post(
        browser,
        f"{base}/decisions/{decision_id.group(1)}/review-request",
        {
            "channel": "phone",
            "csrf_token": csrf_from(browser, f"{base}/applications/{application}"),
        },
    )
    assert asked.status_code == 302
    page = browser.get(f"{base}/applications/{application}", headers=EN).get_data(as_text=True)
    assert "Request human review" not in page and "Requested" in page
    assert len(audit_events(app, desk.firm, "risk.review_request")) == 1
    # the application's own page lists its decisions, each opening the decision's page
    detail = browser.get(f"/t/{desk.firm.tenant.slug}/applications/{application}")
    section = detail.get_data(as_text=True).split('data-section="risk.decisions"')[1]
    links = re.findall(r'href="([^"]+)">([^<]+)</a>', section.split("</section>")[0])
    assert [text for _, text in links] == ["Auto-reject, a person to decide"]
    assert all(f"/risk/applications/{application}?decision=" in href for href, _ in links)

    told = browser.get(f"{base}/decisions/{decision_id.group(1)}/explanation").get_data(
        as_text=True
    )
    assert "申请金额超过可批额度" in told and "您已要求人工复核" in told
    other = _browser(app, desk.firm, "officer3")  # another team
    assert other.get(f"{base}/applications/{application}").status_code == 404


def test_the_back_test_page(desk: Desk, app: Flask) -> None:
    manager = desk.firm.staff["risk"].api
    publish(manager, {"rules": [rule("big", "amount > 100000")]})
    submit(desk, "60000.00")
    submit(desk, "150000.00")
    manager.put(
        "/risk/rule-sets/application/draft", json={"rules": [rule("mid", "amount > 50000")]}
    )
    browser = _browser(app, desk.firm, "risk")
    path = f"/t/{desk.firm.tenant.slug}/risk/back-tests"
    # the tenant's days are Shanghai's: a window around the machine's today holds them
    # whatever the hour (UTC's evening is Shanghai's next day)
    since, until = str(date.today() - timedelta(days=1)), str(date.today() + timedelta(days=1))
    ran = _post(browser, path, {"source": "draft", "since": since, "until": until})
    assert ran.status_code == 302
    result = browser.get(ran.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Approve rate: 50.0% → 0.0%" in result
    cells = re.findall(r"<td(?: class=\"changed\")?>(\d+)</td>", result)
    assert cells[:9] == ["0", "0", "1", "0", "0", "0", "0", "0", "1"]
    wrong = _post(browser, path, {"source": "draft", "since": since, "until": "2000-01-01"})
    assert wrong.status_code == 422 and 'id="f-until-error"' in wrong.get_data(as_text=True)


def test_the_decisions_list_filters_by_outcome(desk: Desk, app: Flask) -> None:
    publish(desk.firm.staff["risk"].api, {"rules": [rule("big", "amount > 100000")]})
    submit(desk, "150000.00")
    submit(desk, "5000.00")
    submit(desk, "5000.00", by="officer3")  # another team of the branch
    path = f"/t/{desk.firm.tenant.slug}/risk/decisions"
    manager = _browser(app, desk.firm, "risk")  # heads the branch: both teams
    cells = re.findall(
        r'<td data-field="outcome">(.*?)</td>', manager.get(path).get_data(as_text=True)
    )
    assert sorted(cells) == ["Auto-approve", "Auto-approve", "Auto-reject"]
    rejected = manager.get(f"{path}?outcome=auto_reject").get_data(as_text=True)
    assert re.findall(r'<td data-field="outcome">(.*?)</td>', rejected) == ["Auto-reject"]
    assert _browser(app, desk.firm, "officer1").get(path).status_code == 403
