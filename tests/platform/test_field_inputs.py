"""The inputs of region and attachment fields in record forms: the cascading region picker
(its endpoint, and the current value shown preselected) and the attachment input."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from flask import Flask, render_template_string
from flask.testing import FlaskClient

from loandesk.fields.registry import FieldSpec
from tests.helpers import TenantFixture, web_login

MACRO = '{% from "partials/record_form.html" import record_input %}{{ record_input(spec, view) }}'


def _selects(html: str) -> list[tuple[str, str, list[str]]]:
    """Each select's name, chosen value and option values."""
    found = []
    for attributes, body in re.findall(r"<select([^>]*)>(.*?)</select>", html, re.S):
        name = re.search(r'name="([^"]+)"', attributes)
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        options = re.findall(r'<option value="([^"]+)"', body)
        found.append((name.group(1) if name else "", chosen.group(1) if chosen else "", options))
    return found


def test_the_picker_endpoint_gives_the_levels_of_a_code(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    web_login(client, tenant_a)
    url = f"/t/{tenant_a.slug}/regions/picker?name=home&fid=f-home"
    response = client.get(f"{url}&home=110101")
    assert response.status_code == 200
    assert "private" in response.headers["Cache-Control"]
    assert "max-age=86400" in response.headers["Cache-Control"]
    province, city, district = _selects(response.get_data(as_text=True))
    assert [s[0] for s in (province, city, district)] == ["home"] * 3
    assert (province[1], city[1], district[1]) == ("110000", "110100", "110101")
    assert len(province[2]) == 31 and city[2] == ["110100"] and len(district[2]) == 16

    # a province chosen: its cities offered, no district yet
    province, city, district = _selects(client.get(f"{url}&home=440000").get_data(as_text=True))
    assert (province[1], city[1], district[1]) == ("440000", "", "")
    assert "440300" in city[2] and district[2] == []

    # the city select cleared: back to its province (sent as "parent")
    html = client.get(f"{url}&home=&parent=440000").get_data(as_text=True)
    assert _selects(html)[0][1] == "440000"
    assert 'hx-vals=\'{"parent": "440000"}\'' in html  # the city select names its province

    assert client.get(f"{url}&home=999999").status_code == 200  # unknown: nothing chosen
    assert client.get(f"/t/{tenant_a.slug}/regions/picker?name=Bad-Name&fid=x").status_code == 400
    refresh = f"{url}&home=110000&refresh=//evil.example"
    assert client.get(refresh).status_code == 400


def test_the_picker_re_renders_the_form_when_the_field_drives_conditions(
    client: FlaskClient, tenant_a: TenantFixture
) -> None:
    web_login(client, tenant_a)
    url = f"/t/{tenant_a.slug}/regions/picker?name=home&fid=f-home&home=110000"
    html = client.get(f"{url}&refresh=/t/{tenant_a.slug}/customers/new/fields").get_data(
        as_text=True
    )
    assert 'hx-trigger="load"' in html and 'hx-target="#record-fields"' in html
    assert 'hx-trigger="load"' not in client.get(url).get_data(as_text=True)


def test_the_picker_needs_a_signed_in_user(app: Flask, tenant_a: TenantFixture) -> None:
    response = app.test_client().get(f"/t/{tenant_a.slug}/regions/picker?name=home&fid=f-home")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _render(app: Flask, tenant: TenantFixture, spec: FieldSpec, **view: Any) -> str:
    from loandesk import extension
    from loandesk.tenancy import service
    from loandesk.tenancy.web import activate

    defaults: dict[str, Any] = {
        "values": {},
        "errors": None,
        "locale": "zh_CN",
        "drivers": set(),
        "refresh_url": "",
        "choices": {},
        "names": {},
        "form": SimpleNamespace(record_type=SimpleNamespace(key="customer")),
    }
    with app.test_request_context(f"/t/{tenant.slug}/"):
        activate(service.get_by_slug(extension.session(), tenant.slug).ref())
        return render_template_string(MACRO, spec=spec, view=SimpleNamespace(**defaults | view))


def test_a_region_field_shows_its_value_preselected(app: Flask, tenant_a: TenantFixture) -> None:
    spec = FieldSpec("home_region", "籍贯", "Home region", kind="region", required=True)
    html = _render(app, tenant_a, spec, values={"home_region": "440305"})
    selects = _selects(html)
    assert [(name, chosen) for name, chosen, _ in selects] == [
        ("home_region", "440000"),
        ("home_region", "440300"),
        ("home_region", "440305"),
    ]
    assert 'for="f-home_region"' in html and 'id="f-home_region"' in html  # label → province
    assert f"/t/{tenant_a.slug}/regions/picker?" in html
    empty = _selects(_render(app, tenant_a, spec))
    assert [chosen for _, chosen, _ in empty] == ["", "", ""]
    assert empty[1][2] == [] and len(empty[0][2]) == 31


def test_an_attachment_field_shows_its_file_and_uploads_on_change(
    app: Flask, tenant_a: TenantFixture
) -> None:
    spec = FieldSpec("id_photo", "身份证照片", "ID photo", kind="attachment", accept="image")
    ident = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    link = f"/t/{tenant_a.slug}/attachments/{ident}"
    html = _render(
        app,
        tenant_a,
        spec,
        values={"id_photo": ident},
        names={"id_photo": {ident: ("正面.png", link)}},
    )
    assert f'<input type="hidden" name="id_photo" value="{ident}">' in html
    assert f'href="{link}"' in html and "正面.png" in html and f'src="{link}?inline=1"' in html
    assert 'type="file" id="f-id_photo" name="id_photo__file"' in html
    assert 'accept="image/png,image/jpeg,image/webp"' in html
    assert f'hx-post="/t/{tenant_a.slug}/attachments/customer/id_photo"' in html
    assert 'hx-encoding="multipart/form-data"' in html
    blank = _render(app, tenant_a, FieldSpec("documents", "资料", "Documents", kind="attachment"))
    assert '<input type="hidden" name="documents" value="">' in blank
    assert ".pdf" in blank and "<img" not in blank
