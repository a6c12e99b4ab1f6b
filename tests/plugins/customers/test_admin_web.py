"""Admins shape the organisation and each role's access to customers in the web UI."""

from __future__ import annotations

import re

from tests.helpers import csrf_from, web_login
from tests.plugins.customers.conftest import Firm, new_customer


def test_admin_builds_the_tree_and_grants_a_field(app, client, firm: Firm, api_a) -> None:  # type: ignore[no-untyped-def]
    assert web_login(client, firm.tenant).status_code == 302
    base = f"/t/{firm.tenant.slug}/admin"
    page = client.get(f"{base}/org").get_data(as_text=True)
    assert "华东分公司" in page and "一组" in page

    token = csrf_from(client, f"{base}/org")
    bad = client.post(
        f"{base}/org",
        data={
            "csrf_token": token,
            "parent_id": firm.units["team1"],
            "name": "子组",
            "kind": "team",
        },
    )
    assert bad.status_code == 422  # a team holds no units: said next to the field
    assert "cannot be placed here" in bad.get_data(as_text=True) or "不能" in bad.get_data(
        as_text=True
    )
    good = client.post(
        f"{base}/org",
        data={
            "csrf_token": token,
            "parent_id": firm.units["branch"],
            "name": "三组",
            "kind": "team",
        },
    )
    assert good.status_code == 302
    names = [u["name"] for u in api_a.get("/org-units").get_json()["items"]]
    assert names.count("三组") == 1

    # deleting a unit that still has staff is refused and changes nothing
    refused = client.post(f"{base}/org/{firm.units['team1']}/delete", data={"csrf_token": token})
    assert refused.status_code == 302
    assert "一组" in [u["name"] for u in api_a.get("/org-units").get_json()["items"]]

    # the collector's mobile goes from masked to view
    roles = api_a.get("/roles").get_json()
    collector_role = next(r for r in roles if r["key"] == "collector")
    url = f"{base}/roles/{collector_role['id']}/records/customer"
    form = client.get(url).get_data(as_text=True)
    assert re.search(r'name="field-mobile" value="masked"[^>]*checked', form)
    grant = api_a.get(f"/roles/{collector_role['id']}/record-access").get_json()[0]
    data = {f"field-{k}": v for k, v in grant["fields"].items()}
    data.update({"csrf_token": csrf_from(client, url), "scope": "own", "field-mobile": "view"})
    saved = client.post(url, data=data)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    customer = new_customer(firm.staff["officer1"].api)
    firm.staff["risk"].api.post(
        f"/customers/{customer['id']}/assign", json={"owner_id": firm.staff["collector"].user_id}
    )
    seen = firm.staff["collector"].api.get(f"/customers/{customer['id']}").get_json()
    assert seen["mobile"] == "13800138000" and seen["id_number"] == "110***********002X"
