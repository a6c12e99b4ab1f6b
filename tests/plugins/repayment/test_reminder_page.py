# ruff: noqa: F811  (fixtures imported from the SMS tests are used by name)
"""The reminders page (还款提醒): a product's reminders created in one click, edited with the
errors next to their fields, removed; the rules it saves are the automations designer's (on
installments, audited); staff without ``repayment.reminders`` are refused."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import csrf_from
from tests.plugins.customers.conftest import audit_events
from tests.plugins.repayment.conftest import CHEAP_ID, PRODUCT_ID, Desk, signed_in_as
from tests.plugins.repayment.test_reminders import admin_browser
from tests.plugins.sms_http.conftest import Sms, gateway, sms  # noqa: F401


def _page(desk: Desk) -> str:
    return f"/t/{desk.firm.tenant.slug}/loans/reminders"


def _rules(desk: Desk) -> dict[str, Any]:
    from sqlalchemy import select

    from loandesk.automations.models import AutomationRule

    with desk.session() as session:
        return {
            r.name: (r.record_type, r.trigger, r.condition, r.enabled, r.actions[0])
            for r in session.scalars(select(AutomationRule))
        }


def _field_error(html: str, name: str) -> str:
    """The text of the errors shown in the form field holding input ``name``."""
    for block in re.findall(r'<div class="form-field has-error">.*?</div>\s*</div>', html, re.S):
        if f'name="{name}"' in block:
            return " ".join(re.findall(r'<div class="field-error">(.*?)</div>', block))
    return ""


def _form(**changes: str) -> dict[str, str]:
    values = {
        "before_on": "on",
        "before_days": "5",
        "before_zh": "您的借款 {{ loan_number }} 将于 {{ due_date }} 到期",
        "before_en": "Loan {{ loan_number }} is due on {{ due_date }}",
        "due_day_zh": "",
        "due_day_en": "",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def test_the_page_lists_the_products_with_the_defaults_offered(desk: Desk) -> None:
    html = admin_browser(desk).get(f"{_page(desk)}?lang=en").get_data(as_text=True)
    for code in ("XF01", "XF02", "XF03", "XF04", "XF05"):
        assert f"<code>{code}</code>" in html
    assert html.count("Use the default reminders") == 5
    assert 'name="before_days" type="number" value="3"' in html  # the default, filled in


def test_a_products_reminders_are_created_edited_and_removed(desk: Desk, sms: Sms) -> None:
    browser = admin_browser(desk)
    page = _page(desk)
    token = csrf_from(browser, f"{page}?lang=en")

    answer = browser.post(f"{page}/{PRODUCT_ID}/defaults?lang=en", data={"csrf_token": token})
    assert answer.status_code == 302
    rules = _rules(desk)
    assert sorted(rules) == ["还款提醒 XF01 到期前3天", "还款提醒 XF01 到期日"]
    record_type, trigger, condition, enabled, action = rules["还款提醒 XF01 到期前3天"]
    assert (record_type, enabled) == ("installment", True)
    assert trigger == {"kind": "relative", "field": "due_date", "days": -3, "at": "09:00"}
    assert condition == 'product_code == "XF01" and status != "paid"'
    assert action["to"] == {"kind": "borrower", "channel": "sms", "field": "customer_id.mobile"}
    assert rules["还款提醒 XF01 到期日"][1]["days"] == 0
    html = browser.get(f"{page}?lang=en").get_data(as_text=True)
    assert html.count("Use the default reminders") == 4  # XF01 has its reminders now
    assert "Remove reminders" in html

    # errors next to the fields, what was typed kept
    wrong = browser.post(
        f"{page}/{PRODUCT_ID}?lang=en",
        data={**_form(before_days="0", before_zh="", before_en="", due_day_on="on"),
              "csrf_token": token},
    )  # fmt: skip
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert "from 1 to 30" in _field_error(html, "before_days")
    assert "Chinese, English or both" in _field_error(html, "before_zh")
    assert "Chinese, English or both" in _field_error(html, "due_day_zh")
    unknown = browser.post(
        f"{page}/{PRODUCT_ID}?lang=en",
        data={**_form(before_en="Pay {{ nosuch }} now"), "csrf_token": token},
    )
    assert unknown.status_code == 422
    html = unknown.get_data(as_text=True)
    assert "nosuch" in _field_error(html, "before_en")
    assert "Pay {{ nosuch }} now" in html
    assert _field_error(html, "before_zh") == ""
    assert sorted(_rules(desk)) == ["还款提醒 XF01 到期前3天", "还款提醒 XF01 到期日"]  # unchanged

    edited = browser.post(f"{page}/{PRODUCT_ID}?lang=en", data={**_form(), "csrf_token": token})
    assert edited.status_code == 302
    rules = _rules(desk)
    assert sorted(rules) == ["还款提醒 XF01 到期前5天", "还款提醒 XF01 到期日"]  # renamed
    assert rules["还款提醒 XF01 到期前5天"][1]["days"] == -5
    assert rules["还款提醒 XF01 到期前5天"][4]["texts"] == {
        "zh_CN": {"body": "您的借款 {{ loan_number }} 将于 {{ due_date }} 到期"},
        "en": {"body": "Loan {{ loan_number }} is due on {{ due_date }}"},
    }
    assert rules["还款提醒 XF01 到期日"][3] is False  # the due-day notice turned off
    assert [e.diff["name"] for e in audit_events(desk.app, desk.firm, "automation.create")] == [
        "还款提醒 XF01 到期前3天", "还款提醒 XF01 到期日",
    ]  # fmt: skip
    assert len(audit_events(desk.app, desk.firm, "automation.update")) == 2

    removed = browser.post(f"{page}/{PRODUCT_ID}/remove?lang=en", data={"csrf_token": token})
    assert removed.status_code == 302
    assert _rules(desk) == {}
    assert len(audit_events(desk.app, desk.firm, "automation.delete")) == 2
    html = browser.get(f"{page}?lang=en").get_data(as_text=True)
    assert html.count("Use the default reminders") == 5
    assert sorted(_rules(desk)) == []
    again = browser.post(f"{page}/{CHEAP_ID}/defaults?lang=en", data={"csrf_token": token})
    assert again.status_code == 302 and len(_rules(desk)) == 2


def test_without_an_sms_connector_the_page_says_to_enable_one(desk: Desk) -> None:
    browser = admin_browser(desk)
    page = _page(desk)
    token = csrf_from(browser, f"{page}?lang=en")
    answer = browser.post(f"{page}/{PRODUCT_ID}/defaults?lang=en", data={"csrf_token": token})
    assert answer.status_code == 422
    assert "enable an SMS connector under Plugins first" in answer.get_data(as_text=True)
    assert _rules(desk) == {}


def test_staff_without_the_permission_are_refused(desk: Desk) -> None:
    browser = signed_in_as(desk, "finance")
    page = _page(desk)
    assert browser.get(page).status_code == 403
    token = csrf_from(browser, f"/t/{desk.firm.tenant.slug}/loans/")
    answer = browser.post(f"{page}/{PRODUCT_ID}/defaults", data={"csrf_token": token})
    assert answer.status_code == 403
    assert _rules(desk) == {}
