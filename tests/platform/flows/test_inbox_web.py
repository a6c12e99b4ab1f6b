"""Acceptance (issue 6, point 5), in the web UI: the approvals inbox with its boxes, counts in
the navigation, filters and bulk approval; an approval's page with its values, path, timeline
and the actions of point 2 posted as forms (with CSRF); who may open what (404 otherwise), in
one tenant and across two. Pages are asked for in English (the Chinese catalog is merged
later)."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.helpers import TenantFixture, csrf_from, web_login
from tests.platform.flows.conftest import Desk, approver
from tests.plugins.customers.conftest import PASSWORD

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def sign_in(desk: Desk, name: str) -> FlaskClient:
    browser = desk.app.test_client()
    login = f"/t/{desk.firm.tenant.slug}/login"
    response = browser.post(
        login,
        data={
            "email": desk.firm.staff[name].email,
            "password": PASSWORD,
            "csrf_token": csrf_from(browser, login),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with browser.session_transaction() as session:
        session["locale"] = "en"
    return browser


def base(desk: Desk) -> str:
    return f"/t/{desk.firm.tenant.slug}/approvals"


def text(html: str) -> str:
    """The page's words without tags and with single spaces."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def nav(html: str) -> str:
    return html[html.index('id="main-nav"') : html.index("</nav>")]


def rows(html: str) -> list[str]:
    """The approval numbers listed, in order."""
    return re.findall(
        r'<tr id="approval-[^"]+"[^>]*>.*?/approvals/[0-9a-f-]+">([^<]+)</a>', html, re.S
    )


def act(browser: FlaskClient, desk: Desk, instance: uuid.UUID, **data: Any) -> Any:
    page = f"{base(desk)}/{instance}"
    token = csrf_from(browser, page)
    return browser.post(f"{page}/act", data={"csrf_token": token, **data})


def test_the_approver_sees_the_badge_and_the_to_do(desk: Desk) -> None:
    desk.publish([approver("credit", [desk.user("a")])])
    _app, instance = desk.submit("20000")

    a = sign_in(desk, "a")
    home = a.get(f"/t/{desk.firm.tenant.slug}/").get_data(as_text=True)
    assert "Approvals" in nav(home)
    assert 'title="1 to do"' in nav(home)

    inbox = a.get(f"{base(desk)}/").get_data(as_text=True)
    listed = rows(inbox)
    assert len(listed) == 1 and listed[0].startswith("SQ")
    number = listed[0]
    assert f'href="{base(desk)}/{instance}"' in inbox
    row = inbox[inbox.index(f'id="approval-{instance}"') :]
    row = text(row[: row.index("</tr>")])
    assert "Application" in row and "officer1" in row and "credit" in row and "In approval" in row

    # the submitter: nothing to do, the application among what they submitted
    officer = sign_in(desk, "officer1")
    assert "title=" not in nav(officer.get(f"/t/{desk.firm.tenant.slug}/").get_data(as_text=True))
    assert rows(officer.get(f"{base(desk)}/?box=submitted").get_data(as_text=True)) == [number]
    empty = officer.get(f"{base(desk)}/?box=todo").get_data(as_text=True)
    assert rows(empty) == [] and "Nothing waits for your decision." in empty


def test_tabs_count_and_cc_is_read_when_opened(desk: Desk) -> None:
    risk = desk.user("risk")
    desk.publish(
        [
            {
                "id": "cc",
                "type": "cc",
                "name": "cc",
                "assignees": [{"kind": "user", "user": str(risk)}],
            },
            approver("credit", [desk.user("a")]),
        ]
    )
    _first, one = desk.submit("20000")
    desk.submit("30000")
    desk.act("approve", "a", one)

    a = sign_in(desk, "a")
    inbox = a.get(f"{base(desk)}/").get_data(as_text=True)
    tabs = inbox[inbox.index('class="tabs"') : inbox.index("</nav>", inbox.index('class="tabs"'))]
    assert re.search(r'data-box="todo".*?<span class="badge"[^>]*>1</span>', tabs, re.S)
    assert re.search(r'data-box="done".*?>1</span>', tabs, re.S)
    assert len(rows(a.get(f"{base(desk)}/?box=done").get_data(as_text=True))) == 1

    manager = sign_in(desk, "risk")
    home = manager.get(f"/t/{desk.firm.tenant.slug}/").get_data(as_text=True)
    assert 'title="2 unread CCs"' in nav(home)
    copied = manager.get(f"{base(desk)}/?box=cc").get_data(as_text=True)
    assert len(rows(copied)) == 2
    assert manager.get(f"{base(desk)}/{one}").status_code == 200
    home = manager.get(f"/t/{desk.firm.tenant.slug}/").get_data(as_text=True)
    assert 'title="1 unread CC"' in nav(home)


def test_filters_narrow_the_list_in_place(desk: Desk) -> None:
    desk.publish([approver("credit", [desk.user("a")], deadline={"kind": "hours", "amount": 4})])
    _x, first = desk.submit("20000")
    _y, second = desk.submit("30000")
    with desk.session() as session:
        from loandesk.flows.models import FlowInstance, FlowStep

        numbers = dict(session.execute(select(FlowInstance.id, FlowInstance.title)).all())
        past = session.scalar(select(FlowStep.started_at).where(FlowStep.instance_id == first))
        assert past is not None
        session.execute(
            update(FlowStep)
            .where(FlowStep.instance_id == first)
            .values(due_at=past - timedelta(hours=1))
        )
    a = sign_in(desk, "a")
    assert rows(a.get(f"{base(desk)}/").get_data(as_text=True)) == [numbers[first], numbers[second]]

    # htmx asks for the region only, and gets it with the filter applied
    fragment = a.get(
        f"{base(desk)}/",
        query_string={"box": "todo", "q": numbers[second][-4:]},
        headers={"HX-Request": "true", "HX-Target": "inbox"},
    )
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html and 'class="tabs"' in html
    assert rows(html) == [numbers[second]]

    overdue = a.get(f"{base(desk)}/", query_string={"overdue": "1"}).get_data(as_text=True)
    assert rows(overdue) == [numbers[first]]
    assert 'class="overdue"' in overdue

    typed = a.get(f"{base(desk)}/", query_string={"type": "application", "state": "approved"})
    assert rows(typed.get_data(as_text=True)) == []
    assert "No approvals match these filters." in typed.get_data(as_text=True)

    wrong = a.get(f"{base(desk)}/", query_string={"from": "2026-13-01"})
    assert wrong.status_code == 422
    assert "Use a date like 2026-03-01." in wrong.get_data(as_text=True)
    backwards = a.get(f"{base(desk)}/", query_string={"from": "2026-03-02", "to": "2026-03-01"})
    assert backwards.status_code == 422


def test_bulk_approve_where_the_step_allows_it(desk: Desk) -> None:
    a = desk.user("a")
    desk.publish(
        [
            {
                "id": "by_amount",
                "type": "branch",
                "name": "amount",
                "branches": [
                    {
                        "id": "small",
                        "condition": "amount < 50000",
                        "nodes": [approver("quick", [a], bulk=True)],
                    },
                    {"id": "large", "default": True, "nodes": [approver("careful", [a])]},
                ],
            }
        ]
    )
    small_app, small = desk.submit("20000")
    large_app, large = desk.submit("80000")
    browser = sign_in(desk, "a")
    inbox = browser.get(f"{base(desk)}/").get_data(as_text=True)
    boxes = re.findall(r'name="instance_id" value="([^"]+)"', inbox)
    assert boxes == [str(small)]  # only the step that allows it has a checkbox

    token = csrf_from(browser, f"{base(desk)}/")
    answer = browser.post(
        f"{base(desk)}/bulk-approve",
        data={
            "csrf_token": token,
            "instance_id": [str(small), str(large)],
            "comment": "批量通过",
        },
        headers={"HX-Request": "true", "HX-Target": "inbox"},
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" not in html
    results = re.findall(
        r'<li data-ok="(yes|no)"><strong>([^<]+)</strong> — <span[^>]*>([^<]+)<', html
    )
    assert [(ok, message) for ok, _title, message in results] == [
        ("yes", "Approved"),
        ("no", "This step must be approved one by one."),
    ]
    assert 'hx-swap-oob="true"' in html  # the nav badge follows
    assert desk.status(small_app) == "approved" and desk.status(large_app) == "submitted"
    assert desk.timeline(small).count("approved") == 1

    nothing = browser.post(f"{base(desk)}/bulk-approve", data={"csrf_token": token})
    assert nothing.status_code == 422
    assert "Tick the approvals to approve." in nothing.get_data(as_text=True)


def test_approve_with_a_comment_and_a_file(desk: Desk) -> None:
    desk.publish([approver("credit", [desk.user("a")])])
    application, instance = desk.submit("20000")
    a = sign_in(desk, "a")
    page = a.get(f"{base(desk)}/{instance}").get_data(as_text=True)
    assert 'name="op" value="approve"' in page and 'name="op" value="reject"' in page
    assert 'data-field="amount"' in page and "¥20,000.00" in page  # what was submitted
    link = f'href="/t/{desk.firm.tenant.slug}/applications/{application}"'
    assert link not in page  # A reads only their own applications: no link to this one

    token = csrf_from(a, f"{base(desk)}/{instance}")
    done = a.post(
        f"{base(desk)}/{instance}/act",
        data={
            "csrf_token": token,
            "op": "approve",
            "comment": "资料齐全，同意",
            "files": (io.BytesIO(PDF), "征信报告.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert done.status_code == 303
    assert desk.status(application) == "approved"
    after = a.get(f"{base(desk)}/{instance}").get_data(as_text=True)
    assert "Approved." in after  # the flash
    timeline = after[after.index('id="approval-timeline"') :]
    assert "资料齐全，同意" in timeline and "征信报告.pdf" in timeline
    download = re.search(r'href="([^"]+/files/[^"]+)" download>征信报告.pdf', timeline)
    assert download
    assert a.get(download.group(1)).data == PDF
    # the submitter follows the approval and may download it; someone else may not
    assert sign_in(desk, "officer1").get(download.group(1)).status_code == 200
    assert sign_in(desk, "officer3").get(download.group(1)).status_code == 404

    # the application's page shows the approval with its timeline
    record = sign_in(desk, "officer1").get(f"/t/{desk.firm.tenant.slug}/applications/{application}")
    card = record.get_data(as_text=True)
    card = card[card.index('id="record-approval"') :]
    assert 'data-state="approved"' in card[:200] and "资料齐全，同意" in card
    assert f"{base(desk)}/{instance}" in card and "Withdraw" not in text(card)


def test_already_decided_is_said_on_the_page_as_it_now_stands(desk: Desk) -> None:
    desk.publish([approver("credit", [desk.user("a"), desk.user("b")], mode="any")])
    _application, instance = desk.submit("20000")
    a = sign_in(desk, "a")
    token = csrf_from(a, f"{base(desk)}/{instance}")
    desk.act("approve", "b", instance)  # B decides while A has the page open
    late = a.post(
        f"{base(desk)}/{instance}/act", data={"csrf_token": token, "op": "reject", "comment": "x"}
    )
    assert late.status_code == 303
    page = a.get(late.headers["Location"]).get_data(as_text=True)
    assert "This approval is already decided." in page
    assert 'data-state="approved"' in page and 'value="reject"' not in page
    assert desk.timeline(instance).count("rejected") == 0


def test_refused_input_shows_next_to_its_field(desk: Desk) -> None:
    desk.publish([approver("first", [desk.user("a")]), approver("second", [desk.user("b")])])
    _application, instance = desk.submit("20000")
    a = sign_in(desk, "a")
    nowhere = act(a, desk, instance, op="send_back", to="second", comment="back")
    html = nowhere.get_data(as_text=True)
    assert nowhere.status_code == 422
    field = html[html.index('id="f-send-back-to"') :]
    assert "Send back to the submitter or to an earlier approver node." in field[:2000]
    assert 'data-form="send_back"' in html and '<details class="approval-more" open>' in html

    nobody = act(a, desk, instance, op="transfer", user_id="")
    assert nobody.status_code == 422
    assert "Choose a staff member." in nobody.get_data(as_text=True)
    myself = act(a, desk, instance, op="add_signer", user_id=str(desk.user("a")))
    assert myself.status_code == 422
    assert "Choose someone other than yourself." in myself.get_data(as_text=True)
    long = act(a, desk, instance, op="approve", comment="x" * 2001)
    assert long.status_code == 422 and "Use at most 2000 characters." in long.get_data(as_text=True)
    bad_file = a.post(
        f"{base(desk)}/{instance}/act",
        data={
            "csrf_token": csrf_from(a, f"{base(desk)}/{instance}"),
            "op": "comment",
            "files": (io.BytesIO(b"MZ not a document"), "tool.exe"),
        },
        content_type="multipart/form-data",
    )
    assert bad_file.status_code == 422
    assert "tool.exe: Upload a PDF" in bad_file.get_data(as_text=True)
    assert desk.pending(instance) == ("first", {"a"})  # nothing happened
    assert desk.timeline(instance).count("commented") == 0

    refused = a.post(f"{base(desk)}/{instance}/act", data={"op": "approve"})
    assert refused.status_code == 400  # no CSRF token
    assert desk.pending(instance) == ("first", {"a"})


def test_send_back_transfer_and_add_signer_through_the_page(desk: Desk) -> None:
    desk.publish([approver("first", [desk.user("a")]), approver("second", [desk.user("b")])])
    application, instance = desk.submit("20000")
    a, b = sign_in(desk, "a"), sign_in(desk, "b")
    assert act(a, desk, instance, op="approve").status_code == 303

    page = b.get(f"{base(desk)}/{instance}").get_data(as_text=True)
    assert '<option value="first">first</option>' in page  # an earlier node to send back to
    assert act(b, desk, instance, op="send_back", to="first", comment="补充").status_code == 303
    assert desk.pending(instance) == ("first", {"a"})

    officer2 = str(desk.user("officer2"))
    assert act(a, desk, instance, op="transfer", user_id=officer2).status_code == 303
    assert desk.pending(instance) == ("first", {"officer2"})
    o2 = sign_in(desk, "officer2")
    assert (
        act(
            o2, desk, instance, op="add_signer", user_id=str(desk.user("risk")), where="before"
        ).status_code
        == 303
    )
    assert desk.pending(instance) == ("first", {"risk"})
    assert act(sign_in(desk, "risk"), desk, instance, op="approve").status_code == 303
    assert act(o2, desk, instance, op="approve").status_code == 303
    assert desk.pending(instance) == ("second", {"b"})
    assert act(b, desk, instance, op="send_back", to="submitter").status_code == 303
    assert desk.status(application) == "returned"
    page = sign_in(desk, "officer1").get(f"{base(desk)}/{instance}").get_data(as_text=True)
    assert "This was sent back to you." in page
    story = text(page[page.index('id="approval-timeline"') :])
    for words in (
        "Sent back to first",
        "Transferred to officer2",
        "Asked risk to approve first",
        "Sent back to the submitter",
    ):
        assert words in story, words


def test_withdraw_from_the_record_page(desk: Desk) -> None:
    desk.publish([approver("credit", [desk.user("a")])])
    application, instance = desk.submit("20000")
    officer = sign_in(desk, "officer1")
    record = f"/t/{desk.firm.tenant.slug}/applications/{application}"
    card = officer.get(record).get_data(as_text=True)
    card = card[card.index('id="record-approval"') :]
    assert 'value="withdraw"' in card and "Now at credit" in text(card)
    token = csrf_from(officer, record)
    back = officer.post(
        f"{base(desk)}/{instance}/act",
        data={"csrf_token": token, "op": "withdraw", "next": record},
    )
    assert back.status_code == 303 and back.headers["Location"].endswith(record)
    assert desk.status(application) == "withdrawn"
    assert 'value="withdraw"' not in officer.get(record).get_data(as_text=True)
    # the approver cannot withdraw someone else's submission
    _other, second = desk.submit("30000")
    refused = act(sign_in(desk, "a"), desk, second, op="withdraw")
    assert refused.status_code == 303
    assert desk.status(_other) == "submitted"


def test_who_may_open_an_approval(desk: Desk) -> None:
    desk.publish([approver("credit", [desk.user("a")])])
    _application, instance = desk.submit("20000")
    assert sign_in(desk, "officer3").get(f"{base(desk)}/{instance}").status_code == 404
    assert (
        act(sign_in(desk, "officer3"), desk, instance, op="comment", comment="hi").status_code
        == 404
    )
    # the risk manager reads the branch's applications: sees the approval, may do nothing
    risk = sign_in(desk, "risk").get(f"{base(desk)}/{instance}")
    assert risk.status_code == 200
    assert 'id="approval-actions"' not in risk.get_data(as_text=True)
    record = f'href="/t/{desk.firm.tenant.slug}/applications/{_application}" data-record-link'
    assert record in risk.get_data(as_text=True)
    assert sign_in(desk, "a").get(f"{base(desk)}/{uuid.uuid4()}").status_code == 404
    assert desk.app.test_client().get(f"{base(desk)}/").status_code == 302  # sign in first


def test_values_follow_the_viewers_field_permissions(desk: Desk, api_a: Any) -> None:
    roles = {r["key"]: r["id"] for r in api_a.get("/roles").get_json()}
    grant = {"scope": "unit", "fields": {"number": "view", "amount": "masked"}, "export": []}
    assert (
        api_a.put(
            f"/roles/{roles['risk_manager']}/record-access/application", json=grant
        ).status_code
        == 200
    )
    desk.publish([approver("risk", [desk.user("risk")])])
    _application, instance = desk.submit("20000")
    page = sign_in(desk, "risk").get(f"{base(desk)}/{instance}").get_data(as_text=True)
    values = page[page.index('id="approval-values"') : page.index('id="approval-path"')]
    assert 'data-field="amount"' in values and "****" in values and "20,000" not in values
    assert 'data-field="term_months"' not in values


def test_other_tenants_approvals_do_not_exist(
    desk: Desk, app: Flask, tenant_b: TenantFixture
) -> None:
    desk.publish([approver("credit", [desk.user("a")])])
    _application, instance = desk.submit("20000")
    other = app.test_client()
    assert web_login(other, tenant_b).status_code == 302
    with other.session_transaction() as session:
        session["locale"] = "en"
    assert other.get(f"/t/{tenant_b.slug}/approvals/{instance}").status_code == 404
    inbox = other.get(f"/t/{tenant_b.slug}/approvals/?box=submitted")
    assert inbox.status_code == 200 and rows(inbox.get_data(as_text=True)) == []
    token = csrf_from(other, f"/t/{tenant_b.slug}/approvals/")
    answer = other.post(
        f"/t/{tenant_b.slug}/approvals/bulk-approve",
        data={"csrf_token": token, "instance_id": str(instance)},
    )
    assert "No such approval." in answer.get_data(as_text=True)
    assert desk.pending(instance) == ("credit", {"a"})


def test_a_flow_manager_hands_on_a_step_nobody_could_take(
    desk: Desk, tenant_a: TenantFixture
) -> None:
    nobody = [{"kind": "manager", "levels": 10}]  # no one heads ten levels up
    desk.publish([{**approver("orphan"), "assignees": nobody, "when_empty": "block"}])
    _application, instance = desk.submit("20000")
    assert desk.pending(instance) == ("orphan", set())
    admin = desk.app.test_client()
    assert web_login(admin, tenant_a).status_code == 302
    with admin.session_transaction() as session:
        session["locale"] = "en"
    page = admin.get(f"{base(desk)}/{instance}").get_data(as_text=True)
    assert 'data-form="hand_on"' in page and 'data-form="decide"' not in page
    assert act(admin, desk, instance, op="transfer", user_id=str(desk.user("b"))).status_code == 303
    assert desk.pending(instance) == ("orphan", {"b"})
    # officer B now finds it in their to-do list
    assert len(rows(sign_in(desk, "b").get(f"{base(desk)}/").get_data(as_text=True))) == 1
