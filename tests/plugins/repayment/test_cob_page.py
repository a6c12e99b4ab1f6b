"""The close of business page (日终批处理, ``/loans/cob``): the business date and the runs
newest first, paginated, with their progress (a running one polls until done); running it
for a date by the form, with the errors next to the field; refused without
``repayment.cob``; another tenant's runs are not shown."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from tests.helpers import csrf_from, tenant_session
from tests.plugins.customers.conftest import PASSWORD
from tests.plugins.repayment.conftest import Desk, signed_in_as
from tests.plugins.repayment.test_cob import _cob, _seed


def _url(desk: Desk, rest: str = "") -> str:
    return f"/t/{desk.firm.tenant.slug}/loans/cob{rest}"


def _rows(html: str) -> list[str]:
    """The business dates of the runs shown, in order."""
    return re.findall(r'<tr id="cob-run-[^"]+"[^>]*>\s*<td>([0-9-]+)</td>', html)


def _field_error(html: str, name: str) -> str:
    for block in re.findall(r'<div class="form-field has-error">.*?</div>\s*</div>', html, re.S):
        if f'name="{name}"' in block:
            return " ".join(re.findall(r'<div class="field-error">(.*?)</div>', block))
    return ""


def _run_form(browser: Any, desk: Desk, value: str) -> Any:
    token = csrf_from(browser, _url(desk))
    return browser.post(_url(desk), data={"business_date": value, "csrf_token": token})


def test_the_page_shows_the_business_date_and_the_runs_newest_first(desk: Desk) -> None:
    browser = signed_in_as(desk, "finance")
    empty = browser.get(_url(desk))
    assert empty.status_code == 200
    html = empty.get_data(as_text=True)
    assert 'id="cob-runs-empty"' in html and _rows(html) == []
    assert f'href="/t/{desk.firm.tenant.slug}/loans/cob"' in html  # the nav entry
    _seed(desk, 4)
    days = [dt.date(2025, 3, 1) + dt.timedelta(days=i) for i in range(22)]
    for day in days:
        assert _cob(desk, day).state == "done"
    first = browser.get(_url(desk)).get_data(as_text=True)
    assert _rows(first) == [d.isoformat() for d in reversed(days)][:20]
    assert f'<dd id="business-date">{days[-1].isoformat()}</dd>' in first
    assert "hx-trigger" not in first.split("<tbody>")[1]  # nothing running: nothing polls
    second = browser.get(_url(desk, "?page=2")).get_data(as_text=True)
    assert _rows(second) == [days[1].isoformat(), days[0].isoformat()]


def test_a_run_by_the_form_is_queued_polls_and_shows_its_progress(desk: Desk) -> None:
    from loandesk_repayment import cob

    from loandesk.jobs.runtime import execute

    _seed(desk, 5)
    browser = signed_in_as(desk, "finance")
    answer = _run_form(browser, desk, "2025-05-05")
    assert answer.status_code == 302, answer.get_data(as_text=True)
    html = browser.get(_url(desk)).get_data(as_text=True)
    assert _rows(html) == ["2025-05-05"]
    with desk.session() as session:
        run = cob.get_run(session, dt.date(2025, 5, 5))
        assert run is not None and run.state == "running" and run.requested_by_id is not None
        run_id = run.id
    row = f'<tr id="cob-run-{run_id}" hx-get="{_url(desk, f"/{run_id}")}" hx-trigger="every 2s"'
    assert row in html
    assert "0 / 5" in html
    execute(desk.app, "cob-page", cob.JOB, uuid.UUID(desk.firm.tenant.id), ("2025-05-05",), 1,
            lambda done, total: None)  # fmt: skip
    fragment = browser.get(_url(desk, f"/{run_id}"), headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and text.lstrip().startswith(f'<tr id="cob-run-{run_id}"')
    assert "hx-trigger" not in text and "5 / 5" in text
    assert browser.get(_url(desk, f"/{run_id}")).status_code == 302  # not htmx: the page
    page = browser.get(_url(desk)).get_data(as_text=True)
    assert '<dd id="business-date">2025-05-05</dd>' in page
    again = _run_form(browser, desk, "2025-05-05")  # done already: answered, nothing new
    assert again.status_code == 302
    assert _rows(browser.get(_url(desk)).get_data(as_text=True)) == ["2025-05-05"]


def test_the_form_says_what_is_wrong_next_to_the_date(desk: Desk) -> None:
    browser = signed_in_as(desk, "finance")
    assert _cob(desk, dt.date(2025, 5, 5)).state == "done"
    for value, message in (
        ("2999-01-01", "日期不能晚于今天"),  # the zh_CN interface (the default)
        ("2025-05-01", "日终批处理已执行到 2025-05-05"),
        ("05/06/2025", "请输入日期，例如 2026-01-31"),
    ):
        answer = _run_form(browser, desk, value)
        assert answer.status_code == 422, value
        html = answer.get_data(as_text=True)
        assert message in _field_error(html, "business_date"), value
        assert f'value="{value}"' in html
    assert _rows(browser.get(_url(desk)).get_data(as_text=True)) == ["2025-05-05"]


def test_staff_without_the_permission_are_refused(desk: Desk) -> None:
    officer = signed_in_as(desk, "officer1")
    assert officer.get(_url(desk)).status_code == 403
    html = officer.get(f"/t/{desk.firm.tenant.slug}/loans/").get_data(as_text=True)
    assert f'href="/t/{desk.firm.tenant.slug}/loans/cob"' not in html
    token = csrf_from(officer, f"/t/{desk.firm.tenant.slug}/loans/")
    refused = officer.post(_url(desk), data={"business_date": "2025-05-05", "csrf_token": token})
    assert refused.status_code == 403
    with desk.session() as session:
        from loandesk_repayment import cob

        assert cob.runs(session) == []


def test_another_tenants_runs_are_not_shown(desk: Desk, tenant_b: Any) -> None:
    from loandesk_repayment import cob

    with tenant_session(desk.app, tenant_b.slug) as session:
        other = cob.start(session, dt.date(2025, 4, 1), requested_by=None)
        other_id = other.id
    browser = signed_in_as(desk, "finance")
    html = browser.get(_url(desk)).get_data(as_text=True)
    assert _rows(html) == [] and str(other_id) not in html
    assert (
        browser.get(_url(desk, f"/{other_id}"), headers={"HX-Request": "true"}).status_code == 404
    )
    assert browser.get(_url(desk, f"/{other_id}")).status_code == 404
    assert PASSWORD  # the firm's staff sign in with it (signed_in_as)
