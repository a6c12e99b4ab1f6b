"""Attachment fields: uploading (API and web), the type and size checks, who may upload and
download (field permissions), auditing, and tenant isolation (a tenant can neither download
another's file nor put its id in a field)."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select

from loandesk.settings import Settings
from tests.helpers import ApiClient, TenantFixture, csrf_from, web_login
from tests.plugins.customers.conftest import Firm, add_staff, audit_events

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200
PDF = b"%PDF-1.7\n" + b"1 0 obj\n" * 50
LIMIT = 64 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(attachment_max_size=LIMIT)


def _define_fields(api: ApiClient) -> None:
    for key, label, accept in (("id_photo", "身份证照片", "image"), ("documents", "资料", "file")):
        response = api.post(
            "/record-types/customer/fields",
            json={
                "key": key,
                "kind": "attachment",
                "label_zh": label,
                "label_en": key,
                "rules": {"accept": accept},
            },
        )
        assert response.status_code == 201, response.get_json()
    assert api.post("/record-types/customer/form/publish", json={}).status_code == 201


@pytest.fixture
def fields(firm: Firm, api_a: ApiClient) -> Firm:
    _define_fields(api_a)
    roles = {r["key"]: r["id"] for r in api_a.get("/roles").get_json()}
    # finance may not see the files, the collector only see them
    for role, grants in (
        ("finance", {"name": "view"}),
        ("collector", {"name": "view", "id_photo": "view", "documents": "view"}),
    ):
        response = api_a.put(
            f"/roles/{roles[role]}/record-access/customer",
            json={"scope": "all", "fields": grants, "export": []},
        )
        assert response.status_code == 200, response.get_json()
    return firm


@contextmanager
def acting(app: Flask, slug: str, email: str) -> Iterator[Any]:
    """A request of the staff member ``email`` of tenant ``slug``, for calling services."""
    from loandesk import extension
    from loandesk.auth.models import User
    from loandesk.tenancy import service, use

    with app.test_request_context():
        session = extension.session()
        with use(service.get_by_slug(session, slug).ref()):
            g.user = session.scalar(select(User).where(User.email == email))
            yield session
        session.rollback()


def set_field(app: Flask, slug: str, email: str, values: dict[str, Any]) -> dict[str, Any]:
    """Validate ``values`` as a new customer's through the one validation path; the field
    errors (empty when valid). The customers API takes no custom fields yet."""
    from loandesk.errors import ValidationFailed
    from loandesk.fields.current import current_form, value_context
    from loandesk.fields.validation import validate_record

    with acting(app, slug, email):
        base = {"name": "李四", "mobile": "13800138001"}
        try:
            validate_record(current_form("customer"), {**base, **values}, context=value_context())
        except ValidationFailed as problem:
            return problem.errors
    return {}


def upload(api: ApiClient, field: str, data: bytes, name: str = "scan.png") -> Any:
    return api.post(
        "/attachments",
        data={"record_type": "customer", "field": field, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_upload_and_download_through_the_api(app: Flask, fields: Firm) -> None:
    officer = fields.staff["officer1"].api
    response = upload(officer, "id_photo", PNG, "身份证正面.png")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["content_type"] == "image/png" and body["size"] == len(PNG)
    assert body["filename"] == "身份证正面.png" and body["field"] == "id_photo"
    assert body["uploaded_by_id"] == fields.staff["officer1"].user_id
    content = officer.get(f"/attachments/{body['id']}/content")
    assert content.status_code == 200 and content.data == PNG
    assert content.headers["Content-Type"] == "image/png"
    assert "filename*=UTF-8''%E8%BA%AB" in content.headers["Content-Disposition"]
    assert officer.get(f"/attachments/{body['id']}").get_json()["sha256"] == body["sha256"]

    uploaded = audit_events(app, fields, "attachment.upload")
    assert [e.record_id for e in uploaded] == [body["id"]]
    assert len(audit_events(app, fields, "attachment.download")) == 1
    officer_email = fields.staff["officer1"].email
    assert set_field(app, fields.tenant.slug, officer_email, {"id_photo": body["id"]}) == {}


def test_the_type_is_read_from_the_bytes_and_the_size_is_limited(fields: Firm) -> None:
    officer = fields.staff["officer1"].api
    assert upload(officer, "documents", PDF, "合同.pdf").get_json()["content_type"] == (
        "application/pdf"
    )
    assert upload(officer, "documents", JPEG, "x.bin").get_json()["content_type"] == "image/jpeg"
    refused = upload(officer, "id_photo", PDF, "photo.png")  # a PDF is no image
    assert refused.status_code == 422 and "file" in refused.get_json()["errors"]
    disguised = upload(officer, "documents", b"#!/bin/sh\nrm -rf /\n", "invoice.pdf")
    assert disguised.status_code == 422
    too_large = upload(officer, "documents", b"%PDF-" + b"0" * LIMIT, "big.pdf")
    assert too_large.status_code == 422
    assert "MB" in too_large.get_json()["errors"]["file"][0]
    assert upload(officer, "documents", b"", "empty.pdf").status_code == 422
    assert upload(officer, "name", PDF).status_code == 404  # not an attachment field
    assert upload(officer, "nonexistent", PDF).status_code == 404


def test_only_users_who_may_edit_the_field_upload(fields: Firm, api_a: ApiClient) -> None:
    assert upload(fields.staff["collector"].api, "id_photo", PNG).status_code == 403
    assert upload(fields.staff["finance"].api, "id_photo", PNG).status_code == 403
    assert upload(api_a, "id_photo", PNG).status_code == 403  # acts for no staff member


def test_download_needs_the_field_not_hidden(fields: Firm) -> None:
    ident = upload(fields.staff["officer1"].api, "id_photo", PNG).get_json()["id"]
    collector = fields.staff["collector"].api.get(f"/attachments/{ident}/content")
    assert collector.status_code == 200 and collector.data == PNG
    finance = fields.staff["finance"].api
    assert finance.get(f"/attachments/{ident}/content").status_code == 404
    assert finance.get(f"/attachments/{ident}").status_code == 404
    assert finance.get(f"/attachments/{uuid.uuid4()}/content").status_code == 404


def test_a_file_is_valid_only_for_the_field_it_was_uploaded_for(app: Flask, fields: Firm) -> None:
    officer = fields.staff["officer1"]
    document = upload(officer.api, "documents", PNG).get_json()["id"]
    pdf = upload(officer.api, "documents", PDF).get_json()["id"]
    slug = fields.tenant.slug
    assert set_field(app, slug, officer.email, {"documents": document}) == {}
    assert "id_photo" in set_field(app, slug, officer.email, {"id_photo": document})
    assert "id_photo" in set_field(app, slug, officer.email, {"id_photo": str(uuid.uuid4())})
    assert "documents" in set_field(app, slug, officer.email, {"documents": "not-an-id"})

    from loandesk.fields import attachments
    from loandesk.fields.current import tenant_record_type

    with acting(app, slug, officer.email) as session:
        record_type = tenant_record_type("customer")
        image_field = record_type.field("id_photo")
        assert attachments.exists(session, uuid.UUID(document), record_type.field("documents"))
        # a PNG uploaded for "documents" is no "id_photo"; an image field takes no PDF
        assert not attachments.exists(session, uuid.UUID(document), image_field)
        assert not attachments.exists(session, uuid.UUID(pdf), image_field)


def test_tenant_b_can_neither_download_nor_use_tenant_a_files(
    app: Flask, client: FlaskClient, fields: Firm, tenant_b: TenantFixture, api_b: ApiClient
) -> None:
    ident = upload(fields.staff["officer1"].api, "id_photo", PNG).get_json()["id"]
    assert api_b.put("/plugins/customers", json={"enabled": True}).status_code == 200
    _define_fields(api_b)
    unit = api_b.get("/org-units").get_json()["items"][0]["id"]
    other = add_staff(app, client, tenant_b, "officer_b", ["credit_officer"], unit).api
    assert other.get(f"/attachments/{ident}/content").status_code == 404
    assert other.get(f"/attachments/{ident}").status_code == 404
    email = "officer_b@tenant-b.example.cn"
    errors = set_field(app, tenant_b.slug, email, {"id_photo": ident})
    assert errors["id_photo"] == ["找不到该上传文件。"]  # "No such uploaded file.", in Chinese
    # its own upload works, and lands under its own tenant's prefix
    own = upload(other, "id_photo", PNG).get_json()["id"]
    assert set_field(app, tenant_b.slug, email, {"id_photo": own}) == {}
    stored = list((app.extensions["loandesk"].settings.attachments_path).iterdir())
    assert sorted(p.name for p in stored) == sorted([fields.tenant.id, tenant_b.id])


def _web_upload(client: FlaskClient, slug: str, field: str, data: bytes, name: str) -> Any:
    token = csrf_from(client, f"/t/{slug}/")
    return client.post(
        f"/t/{slug}/attachments/customer/{field}",
        data={f"{field}__file": (io.BytesIO(data), name), f"{field}__current": ""},
        content_type="multipart/form-data",
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )


def test_web_upload_answers_with_the_input_holding_the_new_file(
    app: Flask, client: FlaskClient, fields: Firm, tenant_b: TenantFixture
) -> None:
    slug = fields.tenant.slug
    web_login(client, fields.tenant)
    response = _web_upload(client, slug, "id_photo", PNG, "照片.png")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    ident = re.search(r'type="hidden" name="id_photo" value="([0-9a-f-]{36})"', html)
    assert ident, html
    link = f"/t/{slug}/attachments/{ident.group(1)}"
    assert f'href="{link}"' in html and "照片.png" in html
    assert f'src="{link}?inline=1"' in html  # an image is previewed

    download = client.get(link)
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Disposition"].startswith("attachment;")
    inline = client.get(f"{link}?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline;")
    assert len(audit_events(app, fields, "attachment.preview")) == 1

    refused = _web_upload(client, slug, "id_photo", PDF, "a.pdf")
    assert refused.status_code == 200
    assert 'class="field-error"' in refused.get_data(as_text=True)
    assert 'name="id_photo" value=""' in refused.get_data(as_text=True)

    other = FlaskClient(app, response_wrapper=app.response_class, use_cookies=True)
    web_login(other, tenant_b)
    assert other.get(f"/t/{tenant_b.slug}/attachments/{ident.group(1)}").status_code == 404
    signed_out = app.test_client().get(link)
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
