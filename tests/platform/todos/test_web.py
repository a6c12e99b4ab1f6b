"""The to-do page: the list with its filters, creating with CSRF and errors beside the fields,
done/undone by htmx, overdue rows highlighted, links to records, and the nav's badges."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.helpers import csrf_from
from tests.platform.todos.conftest import Office, ok
from tests.plugins.customers.conftest import PASSWORD

HX = {"HX-Request": "true"}


def _login(office: Office, name: str) -> FlaskClient:
    web = office.app.test_client()
    slug = office.firm.tenant.slug
    login = f"/t/{slug}/login"
    email = office.firm.staff[name].email
    token = csrf_from(web, login)
    answer = web.post(login, data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    with web.session_transaction() as session:
        session["locale"] = "en"  # English pages: the zh catalog is merged later
    return web


def _page(office: Office) -> str:
    return f"/t/{office.firm.tenant.slug}/todos/"


def _badges(html: str) -> str:
    """The labels of the to-do entry's badges, "|"-joined (red ones marked with "!")."""
    assert 'id="nav-counts-tenant-todos-index"' in html, "no to-do badges in the navigation"
    start = html.index('id="nav-counts-tenant-todos-index"')
    rest = html[html.index(">", start) + 1 :]
    labels = []
    badge = re.compile(
        r'\s*<span class="nav-count( nav-count-muted)?" title="([^"]*)">.*?</span></span>', re.S
    )
    while found := badge.match(rest):
        labels.append(found.group(2) + ("" if found.group(1) else "!"))
        rest = rest[found.end() :]
    return "|".join(labels)


def test_empty_page_then_create_with_csrf_and_errors_beside_fields(office: Office) -> None:
    web = _login(office, "officer1")
    page = _page(office)
    html = web.get(page).get_data(as_text=True)
    assert "Nothing to do right now." in html and 'data-empty="open"' in html
    assert 'href="/t/tenant-a/todos/"' in html  # the nav entry
    # no CSRF token: refused, nothing saved
    assert web.post(page, data={"title": "x", "assignee": "role:finance"}).status_code == 400
    token = csrf_from(web, page)
    bad = web.post(page, data={"csrf_token": token, "title": "", "assignee": ""}, headers=HX)
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "Give the to-do a title." in text and "Choose who should do it." in text
    me = office.user("officer1")
    made = web.post(
        page,
        data={
            "csrf_token": token,
            "title": "Collect the payslips",
            "assignee": f"user:{me}",
            "due_date": "2020-03-01",
            "due_time": "09:00",
        },
        headers=HX,
    )
    assert made.status_code == 200, made.get_data(as_text=True)
    text = made.get_data(as_text=True)
    assert "To-do created." in text and "Collect the payslips" in text
    assert "todo-overdue" in text and "2020-03-01 09:00" in text
    assert 'hx-swap-oob="true"' in text and _badges(text) == "1 open to-do|1 overdue!"
    assert ok(office.api("officer1").get("/todos/counts")) == {"open": 1, "overdue": 1}


def test_toggle_by_htmx_updates_row_and_badges(office: Office) -> None:
    api = office.api("risk")
    made = ok(
        api.post(
            "/todos",
            json={
                "title": "Check the car title",
                "assignee_role": "credit_officer",
                "due_date": "2999-01-01",
            },
        ),
        201,
    )
    web = _login(office, "officer2")
    page = _page(office)
    html = web.get(page).get_data(as_text=True)
    assert "Check the car title" in html and "todo-overdue" not in html
    assert _badges(html) == "1 open to-do"
    token = csrf_from(web, page)
    done = web.post(f"{page}{made['id']}/done", data={"csrf_token": token}, headers=HX)
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert 'data-state="done"' in text and "Reopen" in text
    assert _badges(text) == ""
    assert "Nothing to do right now." in web.get(page).get_data(as_text=True)
    assert "Check the car title" in web.get(f"{page}?state=done").get_data(as_text=True)
    again = web.post(f"{page}{made['id']}/undone", data={"csrf_token": token}, headers=HX)
    assert 'data-state="open"' in again.get_data(as_text=True)
    # not a holder of the role: as if it did not exist
    other = _login(office, "collector")
    refused = other.post(
        f"{page}{made['id']}/done", data={"csrf_token": csrf_from(other, page)}, headers=HX
    )
    assert refused.status_code == 404


def test_overdue_filter_and_record_link(office: Office) -> None:
    api = office.api("officer1")
    me = str(office.user("officer1"))
    customer = office.customer_of("officer1")
    ok(
        api.post(
            "/todos", json={"title": "Late one", "assignee_user_id": me, "due_date": "2020-01-01"}
        ),
        201,
    )
    ok(
        api.post(
            "/todos",
            json={
                "title": "Visit",
                "assignee_user_id": me,
                "record_type": "customer",
                "record_id": customer,
            },
        ),
        201,
    )
    web = _login(office, "officer1")
    page = _page(office)
    html = web.get(page).get_data(as_text=True)
    assert f'href="/t/tenant-a/customers/{customer}"' in html
    only = web.get(f"{page}?overdue=1", headers={**HX, "HX-Target": "todos"}).get_data(as_text=True)
    assert "Late one" in only and "Visit" not in only and "<html" not in only
    assert _badges(html) == "2 open to-dos|1 overdue!"  # overdue in red


def test_a_record_page_can_show_its_todos(office: Office) -> None:
    from flask import g, render_template_string
    from sqlalchemy import select

    from loandesk import extension, sdk
    from loandesk.auth.models import User
    from loandesk.tenancy import service
    from loandesk.tenancy.web import activate

    customer = office.customer_of("officer1")
    untouched = office.customer_of("officer2")
    me = str(office.user("officer1"))
    body = {"title": "Visit", "assignee_user_id": me, "record_type": "customer"}
    ok(office.api("officer1").post("/todos", json={**body, "record_id": customer}), 201)
    macro = "{% from template import record_todos %}{{ record_todos(todos) }}"
    slug = office.firm.tenant.slug
    with office.app.test_request_context(f"/t/{slug}/"):
        activate(service.get_by_slug(extension.session(), slug).ref())
        g.user = extension.session().scalar(select(User).where(User.id == office.user("officer1")))
        html = render_template_string(
            macro,
            template=sdk.RECORD_TODOS_TEMPLATE,
            todos=sdk.record_todos("customer", customer),
        )
        other = sdk.record_todos("customer", untouched)
    assert "Visit" in html and f"/t/{slug}/todos/" in html and 'data-state="open"' in html
    assert other == []
