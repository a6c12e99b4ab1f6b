# ruff: noqa: F811  (fixtures imported from the credit tests are used by name)
"""Variables from other plugins (``loandesk_risk_variables``): a rule on a credit-bureau
variable decides as expected when the customer consented and a result is stored; without
consent, or without a stored result, the bureau is never asked by a decision and the rule
does not hold; rules may name the variables only while the plugin giving them is enabled;
the borrower's history (``history_*``) counts earlier applications. Every value is stored on
the decision."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.helpers import ApiClient
from tests.platform.flows.conftest import Desk
from tests.plugins.credit.bureau_server import FakeBureau
from tests.plugins.credit.conftest import Desk as Credit
from tests.plugins.credit.conftest import bureau, settings  # noqa: F401
from tests.plugins.customers.conftest import Firm, audit_events
from tests.plugins.risk.conftest import OUTCOME_FIELD, auto_flow, decisions, publish, rule, submit

LOW_SCORE = rule("low_score", "bureau_score < 650", "reject")
BLACKLISTED = rule("blacklisted", "bureau_blacklisted", "reject")


@pytest.fixture
def credit(risk: Firm, api_a: ApiClient, bureau: FakeBureau) -> Credit:
    shop = Credit(risk, api_a, bureau)
    shop.configure()
    return shop


@pytest.fixture
def desk(credit: Credit, app: Flask) -> Desk:
    return Desk(app, credit.firm)


def _with_credit_data(credit: Credit, desk: Desk) -> str:
    """officer1's customer with a credit-query consent and a stored bureau result."""
    customer = str(desk.customer_of("officer1"))
    credit.consent(customer)
    assert credit.query(customer).status_code == 200
    return customer


def test_a_rule_on_a_credit_variable_decides(credit: Credit, desk: Desk, app: Flask) -> None:
    publish(desk.firm.staff["risk"].api, {"rules": [LOW_SCORE, BLACKLISTED]})
    _with_credit_data(credit, desk)
    asked = len(credit.bureau.accepted)
    application = submit(desk, "20000.00")
    (decision,) = decisions(credit.officer, application)
    assert decision["outcome"] == "auto_reject"  # the bureau answered 612
    assert [(h["key"], h["reason_code"]) for h in decision["hits"]] == [
        ("low_score", "R_LOW_SCORE")
    ]
    assert decision["inputs"] == {"bureau_blacklisted": False, "bureau_score": 612}
    # the decision read the stored result: nobody asked the bureau again
    assert len(credit.bureau.accepted) == asked
    assert len(audit_events(app, desk.firm, "credit.query")) == 1

    credit.bureau.report["score"] = 700  # a better score, asked afresh after the validity
    credit.configure(validity_days=0)
    assert credit.query(str(desk.customer_of("officer1"))).status_code == 200
    credit.configure(validity_days=30)
    better = submit(desk, "20000.00")
    (decision,) = decisions(credit.officer, better)
    assert (decision["outcome"], decision["inputs"]["bureau_score"]) == ("auto_approve", 700)


def test_without_consent_a_decision_never_asks_the_bureau(credit: Credit, desk: Desk) -> None:
    publish(desk.firm.staff["risk"].api, {"rules": [LOW_SCORE]})
    application = submit(desk, "20000.00")  # no consent, no stored result
    (decision,) = decisions(credit.officer, application)
    assert (decision["outcome"], decision["inputs"]) == ("auto_approve", {"bureau_score": None})
    assert credit.bureau.received == []

    credit.consent(str(desk.customer_of("officer1")))  # consent, but nobody queried yet
    second = submit(desk, "20000.00")
    assert decisions(credit.officer, second)[0]["outcome"] == "auto_approve"
    assert credit.bureau.received == []


def test_a_stored_result_is_not_used_once_the_consent_is_withdrawn(
    credit: Credit, desk: Desk
) -> None:
    publish(desk.firm.staff["risk"].api, {"rules": [LOW_SCORE]})
    customer = str(desk.customer_of("officer1"))
    consent_id = credit.consent(customer)["id"]
    assert credit.query(customer).status_code == 200
    withdrawn = credit.officer.post(f"/customers/{customer}/consents/{consent_id}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.get_json()
    application = submit(desk, "20000.00")
    (decision,) = decisions(credit.officer, application)
    assert (decision["outcome"], decision["inputs"]) == ("auto_approve", {"bureau_score": None})


def test_rules_name_credit_variables_only_while_credit_is_enabled(
    credit: Credit, api_a: ApiClient
) -> None:
    manager = credit.firm.staff["risk"].api
    saved = manager.put("/risk/rule-sets/application/draft", json={"rules": [LOW_SCORE]})
    assert saved.status_code == 200, saved.get_json()
    assert api_a.put("/plugins/credit", json={"enabled": False}).status_code == 200
    refused = manager.put("/risk/rule-sets/application/draft", json={"rules": [LOW_SCORE]})
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["rules.0.expression"]


def test_history_variables_count_the_borrowers_earlier_applications(
    credit: Credit, desk: Desk, api_a: ApiClient
) -> None:
    assert api_a.post("/record-types/application/fields", json=OUTCOME_FIELD).status_code == 201
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    auto_flow(desk)
    publish(
        desk.firm.staff["risk"].api,
        {
            "rules": [
                rule("big", "amount > 100000"),
                rule("again", "history_rejected_90d >= 1", "refer"),
            ]
        },
    )
    first = submit(desk, "150000.00")
    assert desk.status(first) == "rejected"
    second = submit(desk, "20000.00")
    (decision,) = decisions(credit.officer, second)
    assert decision["outcome"] == "refer"
    assert decision["inputs"] == {"amount": "20000.00", "history_rejected_90d": 1}
    # another borrower's history is their own
    other = submit(desk, "20000.00", by="officer2")
    assert decisions(desk.firm.staff["officer2"].api, other)[0]["outcome"] == "auto_approve"
