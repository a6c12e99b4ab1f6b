"""The asset preservation pages: provisions (empty state, then the classes), a loan's class
page with the override form (the reason's error next to its field), the write-off request,
the checker's queue (never one's own request) and approving from it; the dossier links."""

from __future__ import annotations

import datetime as dt
import re

from tests.helpers import csrf_from
from tests.plugins.repayment.conftest import Desk, signed_in_as
from tests.plugins.repayment.test_cob import _cob


def _post(browser: object, page: str, action: str, data: dict[str, str]) -> object:
    token = csrf_from(browser, page)  # type: ignore[arg-type]
    return browser.post(action, data={"csrf_token": token, **data})  # type: ignore[attr-defined]


def test_provisions_loan_page_override_and_write_off_queue(assets_desk: Desk) -> None:
    desk = assets_desk
    base = f"/t/{desk.firm.tenant.slug}/assets"
    chief = signed_in_as(desk, "chief")
    empty = chief.get(f"{base}/")
    assert empty.status_code == 200
    assert "还没有已分类的还款中贷款" in empty.get_data(as_text=True)

    loan = desk.book()
    _cob(desk, dt.date(2025, 3, 1))
    page = f"{base}/loans/{loan['id']}"
    shown = chief.get(page).get_data(as_text=True)
    assert "分类变动记录" in shown and "dossier.pdf" in shown and "调整分类" in shown
    refused = _post(chief, page, f"{page}/override", {"loan_class": "loss", "reason": ""})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    html = refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert 'id="f-reason-error"' in html  # the message next to the reason's field
    done = _post(chief, page, f"{page}/override", {"loan_class": "loss", "reason": "失联"})
    assert done.status_code == 302  # type: ignore[attr-defined]
    assert "失联" in chief.get(page).get_data(as_text=True)
    loan_page = chief.get(f"/t/{desk.firm.tenant.slug}/loans/{loan['id']}")
    assert loan_page.status_code == 200
    assert page in loan_page.get_data(as_text=True)  # the loan's page links its class
    table = chief.get(f"{base}/").get_data(as_text=True)
    assert "¥" in table and "100.00%" in table

    finance = signed_in_as(desk, "finance")
    asked = _post(finance, page, f"{page}/write-off", {"write_off_reason": "无力偿还"})
    assert asked.status_code == 302  # type: ignore[attr-defined]
    assert finance.get(f"{base}/write-offs/queue").status_code == 403
    queue = chief.get(f"{base}/write-offs/queue")
    assert queue.status_code == 200 and loan["number"] in queue.get_data(as_text=True)
    approve = re.search(r'action="([^"]+/approve)"', queue.get_data(as_text=True))
    assert approve is not None
    approved = _post(chief, f"{base}/write-offs/queue", approve.group(1), {})
    assert approved.status_code == 302  # type: ignore[attr-defined]
    assert desk.api.get(f"/loans/{loan['id']}").get_json()["status"] == "written_off"
    after = chief.get(f"{base}/write-offs/queue").get_data(as_text=True)
    assert "没有待您复核的核销申请" in after
    assert chief.get(f"{page}/dossier.xlsx").status_code == 200
