"""In-app notifications on the web: the bell's count in the navigation, the list page (all or
unread), marking one or all read with CSRF (htmx answers refresh the badge), only one's own;
and the account page's e-mail preference, which decides the channels of staff notifications."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from tests.helpers import csrf_from
from tests.platform.flows.conftest import Desk
from tests.platform.notifications.conftest import Connector, messages, tools
from tests.plugins.customers.conftest import PASSWORD

HX = {"HX-Request": "true"}
BADGE = 'id="nav-counts-tenant-notifications-index"'


def _login(desk: Desk, name: str) -> FlaskClient:
    web = desk.app.test_client()
    login = f"/t/{desk.firm.tenant.slug}/login"
    token = csrf_from(web, login)
    email = desk.firm.staff[name].email
    answer = web.post(login, data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    with web.session_transaction() as session:
        session["locale"] = "en"  # English pages: the zh catalog is merged later
    return web


def _tell(desk: Desk, name: str, title: str, key: str) -> None:
    from loandesk.notifications import service

    with desk.session() as session:
        channels, keys = tools()
        service.notify_staff(session, [desk.user(name)], title, "详情见申请", key=key,
                             channels=channels, keys=keys)  # fmt: skip


def _badge(html: str) -> str | None:
    """The bell's badge label, None when it shows none."""
    if BADGE not in html:
        return None
    found = re.search(BADGE + r'[^>]*>\s*<span class="nav-count" title="([^"]*)"', html)
    return found.group(1) if found else None


def test_the_list_the_count_and_marking_read(desk: Desk) -> None:
    page = f"/t/{desk.firm.tenant.slug}/notifications/"
    read = page + "read"
    _tell(desk, "officer1", "Application approved", "a")
    _tell(desk, "officer1", "Contract due", "b")
    _tell(desk, "officer2", "Not yours", "c")
    web = _login(desk, "officer1")
    html = web.get(page).get_data(as_text=True)
    assert "Application approved" in html and "Contract due" in html and "Not yours" not in html
    assert _badge(html) == "2 unread"
    assert web.post(read, data={}).status_code == 400  # no CSRF token: refused
    token = csrf_from(web, page)
    with desk.session() as session:
        from loandesk.notifications.models import InAppNotification

        ids = {n.title: n.id for n in session.scalars(select(InAppNotification))}
    # another's notification cannot be marked read by me
    web.post(read, data={"csrf_token": token, "id": str(ids["Not yours"])}, headers=HX)
    answer = web.post(
        read, data={"csrf_token": token, "id": str(ids["Contract due"]), "unread": "1"}, headers=HX
    )
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert 'hx-swap-oob="true"' in text and _badge(text) == "1 unread"
    assert "Application approved" in text and "Contract due" not in text  # the unread list
    assert web.post(read, data={"csrf_token": token, "id": "nope"}).status_code == 404
    done = web.post(read, data={"csrf_token": token})
    assert done.status_code == 302
    html = web.get(page + "?unread=1").get_data(as_text=True)
    assert "No notifications." in html and _badge(html) is None
    html = _login(desk, "officer2").get(page).get_data(as_text=True)
    assert "Not yours" in html and _badge(html) == "1 unread"


def test_the_email_preference_decides_the_channels(desk: Desk, connector: Connector) -> None:
    account = f"/t/{desk.firm.tenant.slug}/account"
    _tell(desk, "officer1", "Before", "before")
    web = _login(desk, "officer1")
    token = csrf_from(web, account)
    saved = web.post(account, data={"csrf_token": token, "action": "notifications", "email": "on"})
    assert saved.status_code == 302
    assert '<input type="checkbox" name="email" checked>' in web.get(account).get_data(as_text=True)
    _tell(desk, "officer1", "After", "after")
    _tell(desk, "officer2", "Other", "other")  # officer2 kept in-app only
    me, other = desk.user("officer1"), desk.user("officer2")
    sent = [(key, channel, state) for key, channel, _, state, *_ in messages(desk)]
    assert sorted(sent) == sorted([
        (f"before:{me}:in_app", "in_app", "sent"),
        (f"after:{me}:in_app", "in_app", "sent"),
        (f"after:{me}:email", "email", "pending"),
        (f"other:{other}:in_app", "in_app", "sent"),
    ])  # fmt: skip
    email = next(m for m in messages(desk) if m[1] == "email")
    address = desk.firm.staff["officer1"].email
    assert email[6] != address and email[6].endswith(address.split("@")[1])
    # turning it off again
    web.post(account, data={"csrf_token": token, "action": "notifications"})
    _tell(desk, "officer1", "Later", "later")
    assert [m[1] for m in messages(desk) if m[0].startswith("later:")] == ["in_app"]
    page = web.get(account).get_data(as_text=True)
    assert '<input type="checkbox" name="email">' in page
