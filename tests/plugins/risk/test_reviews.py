"""What a borrower may ask of an automatic decision (PIPL art. 24): the explanation of its
main reasons, built from the tenant's reason texts; and a person to decide (人工复核请求),
recorded on the decision, after which the flow sees ``refer``: an application the rules
rejected goes back into approval and waits for a person."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.helpers import ApiClient
from tests.platform.flows.conftest import Desk
from tests.plugins.customers.conftest import Firm, audit_events
from tests.plugins.risk.conftest import OUTCOME_FIELD, auto_flow, decisions, publish, rule, submit

BIG = rule("big", "amount > 100000", "reject", reason_zh="申请金额超过可批额度")
HUGE = rule("huge", "amount > 120000", "reject", reason_code="R_BIG", reason_zh="重复原因")
LONG = rule("long", "term_months > 24", "refer", reason_zh="借款期限较长")
NOTE = rule("note", "amount > 1000", "pass", reason_zh="仅记录")


@pytest.fixture
def desk(risk: Firm, app: Flask, api_a: ApiClient) -> Desk:
    assert api_a.post("/record-types/application/fields", json=OUTCOME_FIELD).status_code == 201
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    shop = Desk(app, risk)
    auto_flow(shop)
    publish(risk.staff["risk"].api, {"rules": [NOTE, LONG, BIG, HUGE]})
    return shop


def _explain(api: ApiClient, decision_id: str) -> dict[str, object]:
    answer = api.get(f"/risk/decisions/{decision_id}/explanation")
    assert answer.status_code == 200, answer.get_json()
    return dict(answer.get_json())


def test_the_explanation_names_the_main_reasons_in_plain_words(desk: Desk) -> None:
    officer = desk.firm.staff["officer1"].api
    (decision,) = decisions(officer, submit(desk, "150000.00", term=36))
    told = _explain(officer, decision["id"])
    # rejections first, each reason code once, a "pass" hit is no reason
    assert [(r["code"], r["text_zh"]) for r in told["reasons"]] == [  # type: ignore[attr-defined]
        ("R_BIG", "申请金额超过可批额度"),
        ("R_LONG", "借款期限较长"),
    ]
    assert told["text_zh"] == (
        "您的申请未通过自动审核，主要原因如下：\n1. 申请金额超过可批额度\n2. 借款期限较长\n"
        "如您对结果有异议，可以要求由工作人员重新审核（人工复核）。"
    )
    assert "120000" not in str(told)  # never the rules' thresholds
    (approved,) = decisions(officer, submit(desk, "500.00"))
    told = _explain(officer, approved["id"])
    assert (told["reasons"], told["text_zh"]) == ([], "您的申请已通过自动审核。")


def test_a_human_review_reopens_an_automatically_rejected_application(
    desk: Desk, app: Flask
) -> None:
    officer = desk.firm.staff["officer1"].api
    application = submit(desk, "150000.00")
    assert desk.status(application) == "rejected"
    (decision,) = decisions(officer, application)

    asked = officer.post(
        f"/risk/decisions/{decision['id']}/review-request",
        json={"channel": "phone", "note": "客户来电要求人工复核"},
    )
    assert asked.status_code == 201, asked.get_json()
    body = asked.get_json()
    assert body["reopened"] is True
    assert body["decision"]["review_channel"] == "phone"
    assert body["decision"]["review_requested_by_id"] == desk.firm.staff["officer1"].user_id
    # back in approval, waiting for a person; the new decision keeps the request and refers
    assert desk.status(application) == "submitted"
    assert desk.pending(desk.instance_of(application)) == ("review", {"risk"})
    newest, first = decisions(officer, application)
    assert first["id"] == decision["id"]
    assert newest["outcome"] == "auto_reject" and newest["review_requested_at"]
    assert officer.get(f"/applications/{application}").get_json()["risk_outcome"] == "refer"
    (event,) = audit_events(app, desk.firm, "risk.review_request")
    assert (event.diff["reopened"], event.diff["channel"]) == (True, "phone")
    assert "人工复核" in str(_explain(officer, newest["id"])["text_zh"])

    again = officer.post(f"/risk/decisions/{newest['id']}/review-request", json={"channel": "app"})
    assert again.status_code == 409
    older = officer.post(f"/risk/decisions/{first['id']}/review-request", json={"channel": "app"})
    assert older.status_code == 409


def test_a_review_of_a_referred_application_is_recorded_only(desk: Desk) -> None:
    officer = desk.firm.staff["officer1"].api
    application = submit(desk, "5000.00", term=36)
    (decision,) = decisions(officer, application)
    asked = officer.post(
        f"/risk/decisions/{decision['id']}/review-request", json={"channel": "branch"}
    )
    assert asked.status_code == 201 and asked.get_json()["reopened"] is False
    assert len(decisions(officer, application)) == 1
    assert desk.pending(desk.instance_of(application)) == ("review", {"risk"})


def test_review_requests_are_checked_and_scoped(desk: Desk) -> None:
    officer = desk.firm.staff["officer1"].api
    (decision,) = decisions(officer, submit(desk, "150000.00"))
    wrong = officer.post(f"/risk/decisions/{decision['id']}/review-request", json={"channel": "x"})
    assert wrong.status_code == 422 and "channel" in wrong.get_json()["errors"]
    other = desk.firm.staff["officer3"].api  # another team: outside the application's scope
    assert other.get(f"/risk/decisions/{decision['id']}/explanation").status_code == 404
    refused = other.post(
        f"/risk/decisions/{decision['id']}/review-request", json={"channel": "app"}
    )
    assert refused.status_code == 404
