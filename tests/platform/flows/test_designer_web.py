"""The approval flow designer in the web UI (审批流程): holders of ``flows.manage`` list the
record types that run approvals, insert nodes and branches through the "+" posts, set a node
in the side panel (errors next to its inputs, the flow's problems on the cards), test-run
sample records, publish versions and look at them. Everyone else gets 403."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import TenantFixture, csrf_from, web_login
from tests.platform.flows.conftest import Desk
from tests.plugins.customers.conftest import PASSWORD, audit_events

HX = {"HX-Request": "true"}


class Designer:
    """The admin's browser on the application flow's designer (English pages: the assertions
    read the message ids)."""

    def __init__(self, client: FlaskClient, desk: Desk) -> None:
        self.client, self.desk = client, desk
        self.base = f"/t/{desk.firm.tenant.slug}/admin/flows"
        self.url = f"{self.base}/application"
        self.token = csrf_from(client, self.base)

    def post(self, path: str, htmx: bool = False, **data: Any) -> Any:
        return self.client.post(
            self.url + path, data={"csrf_token": self.token, **data}, headers=HX if htmx else {}
        )

    def page(self, node: str | None = None) -> str:
        response = self.client.get(self.url, query_string={"node": node} if node else {})
        assert response.status_code == 200
        return str(response.get_data(as_text=True))

    def draft(self) -> dict[str, Any]:
        from loandesk.flows import definitions

        with self.desk.session() as session:
            row = definitions.definition(session, "application")
            return dict(row.draft) if row else {"nodes": []}

    def insert(self, kind: str, where: str = "", after: str = "") -> str:
        """A node added through the "+" menu (no htmx: a redirect that selects it)."""
        before = _ids(self.draft())
        response = self.post("/insert", kind=kind, where=where, after=after)
        assert response.status_code == 302, response.get_data(as_text=True)
        added = _ids(self.draft()) - before
        selected = re.search(r"node=([A-Za-z0-9]+)", response.headers["Location"])
        assert selected and selected[1] in added
        return str(selected[1])


def _ids(tree: dict[str, Any]) -> set[str]:
    from loandesk.web.flow_designer.edit import ids

    return ids(tree)


def _card(html: str, item_id: str) -> str:
    """A card's markup: its opening tag, up to the next "+" or card."""
    at = html.find(f'id="node-{item_id}"')
    assert at > 0, f"no card {item_id}"
    start = html.rindex("<div", 0, at)
    ends = [e for e in (html.find('class="fd-add"', at), html.find('id="node-', at + 1)) if e > 0]
    return html[start : min(ends, default=len(html))]


@pytest.fixture
def designer(client: FlaskClient, tenant_a: TenantFixture, desk: Desk) -> Designer:
    assert web_login(client, tenant_a).status_code == 302
    with client.session_transaction() as session:
        session["locale"] = "en"
    return Designer(client, desk)


def _policy(designer: Designer) -> dict[str, str]:
    """The issue's policy built through the designer's posts: amount < 50,000 → A and B
    or-sign; otherwise A and B countersign, then the risk manager."""
    a, b = str(designer.desk.user("a")), str(designer.desk.user("b"))
    small = designer.insert("branch")
    fork = designer.draft()["nodes"][0]
    large = fork["branches"][1]["id"]
    saved = designer.post(f"/nodes/{small}", name="5 万以下", condition="amount < 50000")
    assert saved.status_code == 302
    either = designer.insert("approver", where=small)
    assert (
        designer.post(f"/nodes/{either}", name="或签", user=[a, b], mode="any").status_code == 302
    )
    both = designer.insert("approver", where=large)
    assert designer.post(f"/nodes/{both}", name="会签", user=[a, b], mode="all").status_code == 302
    risk = designer.insert("approver", where=large, after=both)
    saved = designer.post(f"/nodes/{risk}", name="风控", role="risk_manager", mode="any")
    assert saved.status_code == 302
    return {"fork": fork["id"], "small": small, "large": large, "either": either,
            "both": both, "risk": risk}  # fmt: skip


def test_only_flow_designers_get_in(
    app: Flask, client: FlaskClient, tenant_a: TenantFixture, desk: Desk
) -> None:
    base = f"/t/{tenant_a.slug}/admin/flows"
    login = f"/t/{tenant_a.slug}/login"
    token = csrf_from(client, login)
    signed_in = client.post(
        login,
        data={
            "email": desk.firm.staff["officer1"].email,
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert signed_in.status_code == 302
    token = csrf_from(client, f"/t/{tenant_a.slug}/")
    assert client.get(base).status_code == 403
    assert client.get(f"{base}/application").status_code == 403
    assert client.get(f"{base}/application/versions").status_code == 403
    refused = client.post(
        f"{base}/application/insert", data={"csrf_token": token, "kind": "approver"}
    )
    assert refused.status_code == 403
    assert 'href="/t/tenant-a/admin/flows"' not in client.get(f"/t/{tenant_a.slug}/").get_data(
        as_text=True
    )


def test_the_list_shows_record_types_with_a_flow_and_where_they_stand(
    designer: Designer,
) -> None:
    html = designer.client.get(designer.base).get_data(as_text=True)
    assert 'href="/t/tenant-a/admin/flows"' in html  # the nav item
    assert '<tr data-record-type="customer">' not in html  # customers run no approvals
    row = re.search(r'<tr data-record-type="application">(.*?)</tr>', html, re.S)
    assert row and "None yet" in row[1] and 'href="/t/tenant-a/admin/flows/application"' in row[1]

    nodes = _policy(designer)
    assert designer.post("/publish", note="首版").status_code == 302
    row = re.search(
        r'<tr data-record-type="application">(.*?)</tr>',
        designer.client.get(designer.base).get_data(as_text=True),
        re.S,
    )
    assert row and "Version 1" in row[1] and "Unpublished changes" not in row[1]
    designer.post(f"/nodes/{nodes['risk']}", name="风控主管", role="risk_manager")
    row = re.search(
        r'<tr data-record-type="application">(.*?)</tr>',
        designer.client.get(designer.base).get_data(as_text=True),
        re.S,
    )
    assert row and "Unpublished changes" in row[1]


def test_inserting_nodes_and_branches_draws_them_with_their_problems(
    app: Flask, designer: Designer
) -> None:
    empty = designer.page()
    assert "Whoever submits a record of" in empty and "End of the flow" in empty

    approver = designer.insert("approver")
    html = designer.page(approver)
    card = _card(html, approver)
    assert "has-problem" in card and "is-selected" in card
    assert "Choose who this node goes to." in card  # the tree's problem, on its card
    assert 'id="fd-panel"' in html and 'name="user"' in html  # the side panel is open
    assert 'id="problem-summary"' in html

    # htmx gets the designer fragment, with the new node selected and the URL to show
    response = designer.post("/insert", htmx=True, kind="branch", where="", after=approver)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="designer"') and "<html" not in fragment
    fork = designer.draft()["nodes"][1]
    first, default = fork["branches"]
    assert fork["type"] == "branch" and default.get("default") is True
    assert f"node={first['id']}" in response.headers["HX-Replace-Url"]
    assert "Enter the condition of this branch." in _card(fragment, first["id"])
    assert "Other cases (when no condition above holds)" in _card(fragment, default["id"])

    for kind in ("cc", "automation", "end"):
        designer.insert(kind, where=first["id"])
    kinds = [n["type"] for n in designer.draft()["nodes"][1]["branches"][0]["nodes"]]
    assert kinds == ["end", "automation", "cc"]  # each went first in the branch

    # an id that is no longer there: the page was out of date; nothing changes
    before = designer.draft()
    assert designer.post("/insert", kind="cc", where="gone").status_code == 409
    assert designer.post("/nodes/gone/delete").status_code == 409
    assert designer.draft() == before
    assert audit_events(app, designer.desk.firm, "flow.save_draft")


def test_branches_are_added_reordered_and_deleted(designer: Designer) -> None:
    nodes = _policy(designer)
    added = designer.post(f"/nodes/{nodes['fork']}/branches")
    assert added.status_code == 302
    branches = designer.draft()["nodes"][0]["branches"]
    assert [b["id"] for b in branches][::2] == [nodes["small"], nodes["large"]]
    middle = branches[1]["id"]
    assert f"node={middle}" in added.headers["Location"]

    assert designer.post(f"/nodes/{middle}/move", direction="up").status_code == 302
    order = [b["id"] for b in designer.draft()["nodes"][0]["branches"]]
    assert order == [middle, nodes["small"], nodes["large"]]
    assert designer.post(f"/nodes/{nodes['large']}/move", direction="up").status_code == 409

    assert designer.post(f"/nodes/{middle}/delete").status_code == 302
    assert designer.post(f"/nodes/{nodes['small']}/delete").status_code == 302
    # one branch left: no choice to make, the default branch's nodes take the fork's place
    assert [n["id"] for n in designer.draft()["nodes"]] == [nodes["both"], nodes["risk"]]


def test_the_panel_refuses_what_it_cannot_read_and_keeps_the_draft(
    designer: Designer,
) -> None:
    nodes = _policy(designer)
    before = designer.draft()
    refused = designer.post(f"/nodes/{nodes['either']}", name="或签", mode="ratio", ratio="lots")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    error = re.search(r'<div id="f-ratio-error">(.*?)</div>\s*</div>', html, re.S)
    assert error and "The pass ratio is a whole percent from 1 to 100." in error[1]
    assert 'value="ratio" id="f-mode-ratio" checked' in html  # the input is kept
    assert designer.draft() == before

    # the condition builder adds its clause to the branch's condition, and saves it
    built = designer.post(
        f"/nodes/{nodes['small']}",
        htmx=True,
        name="5 万以下",
        condition="amount < 50000",
        build="1",
        b_join="and",
        b_field="term_months",
        b_op="<=",
        b_value="12",
    )
    assert built.status_code == 200
    condition = designer.draft()["nodes"][0]["branches"][0]["condition"]
    assert condition == "amount < 50000 and term_months <= 12"
    card = _card(built.get_data(as_text=True), nodes["small"])
    assert "Amount &lt; 50000 AND Term (months) ≤ 12" in card and "has-problem" not in card

    # a condition naming no field is saved, and shown on its card as the tree's problem
    designer.post(f"/nodes/{nodes['small']}", name="x", condition="amount < 50000 and score > 1")
    assert "No field is called score." in _card(designer.page(), nodes["small"])


def test_publishing_with_problems_publishes_nothing(designer: Designer) -> None:
    designer.insert("approver")  # nobody to approve yet
    refused = designer.post("/publish", note="太早")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "The flow has problems; see the marked nodes." in html
    assert 'value="太早"' in html
    versions = designer.client.get(f"{designer.url}/versions").get_data(as_text=True)
    assert "No version published yet." in versions


def test_publish_then_view_the_versions(designer: Designer) -> None:
    nodes = _policy(designer)
    published = designer.post("/publish", note="首版")
    assert published.status_code == 302
    html = designer.page()
    assert "Version 1 published." in html and "In force: version 1" in html
    assert 'id="draft-differs"' not in html
    same = designer.post("/publish", htmx=True)  # nothing changed: nothing to publish
    assert same.status_code == 409
    assert "Nothing changed since version 1." in same.get_data(as_text=True)

    designer.post(f"/nodes/{nodes['risk']}", name="风控复核", role="risk_manager")
    assert 'id="draft-differs"' in designer.page()
    assert designer.post("/publish", htmx=True).status_code == 200

    listing = designer.client.get(f"{designer.url}/versions").get_data(as_text=True)
    assert [int(n) for n in re.findall(r'<tr data-version="(\d+)"', listing)] == [2, 1]
    assert "首版" in listing and "admin" in listing
    first = designer.client.get(f"{designer.url}/versions/1").get_data(as_text=True)
    assert "风控" in first and "风控复核" not in first
    assert 'class="fd-add-menu"' not in first and "/delete" not in first  # read only
    assert designer.client.get(f"{designer.url}/versions/9").status_code == 404


def test_a_test_run_shows_the_path_a_sample_takes(designer: Designer) -> None:
    nodes = _policy(designer)
    admin = str(designer.desk.user("a"))
    small = designer.post("/test-run", v_amount="49999.99", submitter=admin)
    assert small.status_code == 200
    html = small.get_data(as_text=True)
    listed = re.findall(r'<li data-node-id="([^"]+)"', html)
    assert listed == [nodes["fork"], nodes["either"]]
    assert "on-path" in _card(html, nodes["either"]) and "on-path" not in _card(html, nodes["both"])
    assert re.search(rf'class="fd-col not-taken" data-branch-id="{nodes["large"]}"', html)
    who = re.search(rf'<li data-node-id="{nodes["either"]}".*?</li>', html, re.S)
    assert who and "Goes to: a, b" in who[0]
    assert "the record is approved" in html

    large = designer.post("/test-run", htmx=True, v_amount="80000", submitter=admin)
    html = large.get_data(as_text=True)
    listed = re.findall(r'<li data-node-id="([^"]+)"', html)
    assert listed == [nodes["fork"], nodes["both"], nodes["risk"]]
    risk = re.search(rf'<li data-node-id="{nodes["risk"]}".*?</li>', html, re.S)
    assert risk and "Goes to: risk" in risk[0]

    # a sample that is no amount: its error next to the input
    wrong = designer.post("/test-run", v_amount="lots")
    assert wrong.status_code == 422
    assert re.search(
        r'<div id="f-v_amount-error">\s*<div class="field-error">', wrong.get_data(as_text=True)
    )


def test_a_test_run_of_a_draft_with_problems_runs_nothing(designer: Designer) -> None:
    nodes = _policy(designer)
    designer.post(f"/nodes/{nodes['small']}", name="5 万以下", condition="")
    blocked = designer.post("/test-run", v_amount="100")
    assert blocked.status_code == 422
    html = blocked.get_data(as_text=True)
    assert 'id="test-blocked"' in html and 'id="test-result"' not in html
    assert "Enter the condition of this branch." in _card(html, nodes["small"])
