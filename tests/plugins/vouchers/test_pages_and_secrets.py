"""The pages (vouchers by day, a voucher, the mapping, reconciliation) with their empty states
and permissions, the API's permissions, and the Kingdee password: in no log, audit row, API
answer, page or stored error — even when Kingdee echoes it back in a refusal."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.helpers import ApiClient, TenantFixture, csrf_from, web_login
from tests.plugins.repayment.conftest import signed_in_as
from tests.plugins.vouchers.conftest import DAY, PASSWORD, Seeded
from tests.plugins.vouchers.kingdee_server import FakeKingdee


def _base(seeded: Seeded) -> str:
    return f"/t/{seeded.desk.firm.tenant.slug}/vouchers"


def test_pages_show_empty_states_then_vouchers(seeded: Seeded) -> None:
    browser = signed_in_as(seeded.desk)
    base = _base(seeded)
    page = browser.get(f"{base}/?day={DAY.isoformat()}")
    assert page.status_code == 200 and 'id="vouchers-empty"' in page.get_data(as_text=True)
    mapping_page = browser.get(f"{base}/mappings")
    assert 'id="mappings-empty"' in mapping_page.get_data(as_text=True)
    empty_day = browser.get(f"{base}/reconciliation?day=2025-03-19")
    assert 'id="reconciliation-empty"' in empty_day.get_data(as_text=True)
    # a mapping through the form; a wrong one answers 422 naming the field
    token = csrf_from(browser, f"{base}/mappings")
    bad = browser.post(
        f"{base}/mappings",
        data={
            "csrf_token": token,
            "kind": "*",
            "account": "cash",
            "subject_code": "",
            "subject_name": "银行存款",
        },
    )
    assert bad.status_code == 422 and "has-error" in bad.get_data(as_text=True)
    good = browser.post(
        f"{base}/mappings",
        data={
            "csrf_token": token,
            "kind": "*",
            "account": "cash",
            "subject_code": "1002.01",
            "subject_name": "银行存款",
            "aux": "none",
        },
    )
    assert good.status_code == 302
    # generating before every account is mapped says which are missing and makes nothing
    refused = browser.post(
        f"{base}/generate",
        data={"csrf_token": token, "day": DAY.isoformat()},
        follow_redirects=True,
    )
    assert "repayment/receivable_principal" in refused.get_data(as_text=True)
    assert seeded.vouchers() == []
    seeded.map_all(skip=("cash",))
    done = browser.post(
        f"{base}/generate",
        data={"csrf_token": token, "day": DAY.isoformat()},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "2025年3月20日还款汇总" in done.get_data(as_text=True)
    voucher = seeded.vouchers()[0]
    detail = browser.get(f"{base}/{voucher['id']}")
    assert detail.status_code == 200 and voucher["lines"][0]["subject_code"] in detail.get_data(
        as_text=True
    )
    download = browser.post(
        f"{base}/export", data={"csrf_token": token, "day": DAY.isoformat(), "format": "kingdee"}
    )
    assert download.status_code == 200 and download.data[:2] == b"PK"
    matches = browser.get(f"{base}/reconciliation?day={DAY.isoformat()}").get_data(as_text=True)
    assert 'data-matches="no"' not in matches and 'data-matches="yes"' in matches


@pytest.mark.parametrize("who", ["collector", "officer1"])
def test_staff_without_the_permissions_are_refused(seeded: Seeded, who: str) -> None:
    seeded.map_all()
    api = seeded.desk.firm.staff[who].api
    assert api.get("/vouchers").status_code == 403
    assert api.post("/vouchers/generate", json={"day": DAY.isoformat()}).status_code == 403
    assert api.get(f"/vouchers/reconciliation?day={DAY.isoformat()}").status_code == 403
    assert (
        api.post(
            "/vouchers/mappings",
            json={"kind": "*", "account": "cash", "subject_code": "1", "subject_name": "x"},
        ).status_code
        == 403
    )
    browser = signed_in_as(seeded.desk, who)
    assert browser.get(f"{_base(seeded)}/").status_code == 403
    assert browser.get(f"{_base(seeded)}/mappings").status_code == 403
    # the auditor reads but does not change
    auditor = seeded.desk.firm.staff["auditor"].api
    assert auditor.get("/vouchers").status_code == 200
    assert auditor.post("/vouchers/generate", json={"day": DAY.isoformat()}).status_code == 403


def test_the_kingdee_password_appears_nowhere(
    seeded: Seeded, kingdee: FakeKingdee, caplog: pytest.LogCaptureFixture
) -> None:
    from loandesk.audit.models import AuditEvent

    with caplog.at_level("DEBUG"):
        seeded.settings(kingdee.url)
        seeded.map_all()
        assert seeded.generate().status_code == 200
        vouchers = seeded.vouchers()
        kingdee.password = "the-password-was-changed"  # Kingdee now refuses ours, echoing it
        seeded.run_push(*[v["id"] for v in vouchers])
        kingdee.password = PASSWORD
        kingdee.scripts = ["error500"]
        seeded.run_push(vouchers[0]["id"], attempt=4)
    stored = [v["error"] for v in seeded.vouchers()]
    assert all(stored) and any("Kingdee refused the sign-in" in e for e in stored)
    assert any("***" in e for e in stored)  # what Kingdee echoed is masked
    shown = seeded.admin.get("/plugins/vouchers")
    assert "kingdee_password" in shown.get_json()["secrets_set"]
    listed = seeded.finance.get("/vouchers?per_page=100")
    browser = seeded.desk.app.test_client()
    web_login(browser, seeded.desk.firm.tenant)
    settings_page = browser.get(
        f"/t/{seeded.desk.firm.tenant.slug}/admin/plugins/vouchers/settings"
    )
    assert settings_page.status_code == 200 and "集成用户密码" in settings_page.get_data(
        as_text=True
    )
    staff = signed_in_as(seeded.desk)
    detail = staff.get(f"{_base(seeded)}/{vouchers[0]['id']}")
    shown_error = detail.get_data(as_text=True)
    assert 'id="voucher-error"' in shown_error and "Kingdee" in shown_error
    assert "重新推送到金蝶" in shown_error  # the retry button
    token = csrf_from(staff, f"{_base(seeded)}/{vouchers[0]['id']}")
    retried = staff.post(f"{_base(seeded)}/{vouchers[0]['id']}/retry", data={"csrf_token": token})
    assert retried.status_code == 302
    with seeded.session() as session:
        audits = [
            json.dumps(a.diff, ensure_ascii=False) for a in session.scalars(select(AuditEvent))
        ]
    assert any("kingdee_password" in a for a in audits)  # the change is there, not the value
    texts = [
        *stored,
        caplog.text,
        *audits,
        shown.get_data(as_text=True),
        listed.get_data(as_text=True),
        settings_page.get_data(as_text=True),
        detail.get_data(as_text=True),
    ]
    for text in texts:
        assert PASSWORD not in text
        assert "the-password-was-changed" not in text


def test_another_tenant_sees_none_of_it(
    seeded: Seeded, api_b: ApiClient, tenant_b: TenantFixture
) -> None:
    seeded.map_all()
    assert seeded.generate().status_code == 200
    voucher = seeded.vouchers()[0]
    for name in ("customers", "testproducts", "repayment", "vouchers"):
        answer = api_b.put(f"/plugins/{name}", json={"enabled": True})
        assert answer.status_code == 200, answer.get_json()
    browser = seeded.desk.app.test_client()
    web_login(browser, tenant_b)  # tenant B's admin: every permission of its tenant
    base = f"/t/{tenant_b.slug}/vouchers"
    assert browser.get(f"{base}/{voucher['id']}").status_code == 404
    listed = browser.get(f"{base}/?day={DAY.isoformat()}")
    assert listed.status_code == 200 and 'id="vouchers-empty"' in listed.get_data(as_text=True)
    mapped = browser.get(f"{base}/mappings").get_data(as_text=True)
    assert 'id="mappings-empty"' in mapped
    report = browser.get(f"{base}/reconciliation?day={DAY.isoformat()}").get_data(as_text=True)
    assert 'id="reconciliation-empty"' in report


def test_the_list_answers_htmx_with_the_fragment(seeded: Seeded) -> None:
    seeded.map_all()
    assert seeded.generate().status_code == 200
    browser = signed_in_as(seeded.desk)
    url = f"{_base(seeded)}/?day={DAY.isoformat()}&state=draft"
    fragment = browser.get(url, headers={"HX-Request": "true", "HX-Target": "vouchers-list"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html
    assert html.count("<tr>") == 1 + 4 and "2025年3月20日放款汇总" in html
    full = browser.get(url).get_data(as_text=True)
    assert "<html" in full and 'hx-target="#vouchers-list"' in full
    none = browser.get(
        f"{_base(seeded)}/?day={DAY.isoformat()}&state=pushed",
        headers={"HX-Request": "true", "HX-Target": "vouchers-list"},
    )
    assert 'id="vouchers-empty"' in none.get_data(as_text=True)
