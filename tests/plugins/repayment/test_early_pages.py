"""The early repayment page: the quote shown by htmx as the form is filled in, errors next to
their fields with what was typed kept, and the confirmation posting it."""

from __future__ import annotations

import re

from tests.helpers import csrf_from
from tests.plugins.repayment.conftest import signed_in_as
from tests.plugins.repayment.test_early_repayment import ON, PAID_ON, Desk, early_desk  # noqa: F401


def test_the_quote_then_the_confirmation(early_desk: Desk) -> None:  # noqa: F811
    loan = early_desk.book()
    assert early_desk.pay(loan["id"], "5380.95", PAID_ON).status_code == 201
    browser = signed_in_as(early_desk)
    base = f"/t/{early_desk.firm.tenant.slug}/loans/{loan['id']}"
    page = browser.get(f"{base}?lang=en").get_data(as_text=True)
    assert f"{base}/early-repayment" in page
    token = csrf_from(browser, f"{base}/early-repayment?lang=en")
    form = {"kind": "partial", "repaid_on": ON.isoformat(), "amount": "3000.00",
            "recalculation": "", "reference": "", "csrf_token": token}  # fmt: skip
    quoted = browser.post(
        f"{base}/early-repayment/quote?lang=en", data=form, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" not in quoted
    # 3000.00 = 2990.03 principal + 9.97 interest of 10 days (no fee on this product)
    assert "2,990.03" in quoted and "9.97" in quoted
    assert "Shorten the term" in quoted and "Lower the installment" in quoted

    refused = browser.post(f"{base}/early-repayment?lang=en", data=form)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    field = re.search(r'<div class="form-field has-error">.*?</div>', html, re.S)
    assert field and 'name="recalculation"' in field.group(0)
    assert 'value="3000.00"' in html  # what was typed is kept

    done = browser.post(
        f"{base}/early-repayment?lang=en", data={**form, "recalculation": "lower_installment"}
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    shown = early_desk.api.get(f"/loans/{loan['id']}").get_json()
    assert shown["installments"][5]["principal_due"] == "2990.03"
