"""The approvals API, acting (issue 6, point 7): approve, reject, send back, transfer, add a
signer, withdraw, comment with files, bulk approve; the engine's refusals as 403/409/422."""

from __future__ import annotations

import io
import uuid
from typing import Any

from flask import Flask

from loandesk.storage.models import Attachment
from tests.helpers import ApiClient
from tests.platform.flows.api_helpers import ok, staff
from tests.platform.flows.conftest import Desk, approver
from tests.plugins.customers.conftest import audit_events

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def refused(response: Any, status: int, text: str = "") -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert text in body["message"], body
    return body


def two_steps(desk: Desk) -> list[dict[str, Any]]:
    return [approver("first", [desk.user("a")]), approver("second", [desk.user("b")])]


def test_decisions_send_back_and_already_decided(desk: Desk) -> None:
    desk.publish(two_steps(desk))
    application, instance = desk.submit("80000")
    a, b, officer = staff(desk, "a"), staff(desk, "b"), staff(desk, "officer1")
    refused(officer.post(f"/approvals/{instance}/approve", json={}), 403, "not an approver")
    refused(b.post(f"/approvals/{instance}/reject", json={}), 404)  # takes no part yet

    after = ok(a.post(f"/approvals/{instance}/approve", json={"comment": "资料齐全"}))
    assert after["current_node"] == "second" and after["allowed"]["approve"] is False
    assert after["timeline"][-2]["action"] == "approved"
    assert after["timeline"][-2]["comment"] == "资料齐全"
    assert after["timeline"][-2]["actor"]["name"] == "a"

    bad = refused(b.post(f"/approvals/{instance}/send-back", json={"to": "nowhere"}), 422)
    assert "to" in bad["errors"]
    back = ok(b.post(f"/approvals/{instance}/send-back", json={"to": "first", "comment": "补充"}))
    assert back["current_node"] == "first" and back["timeline"][-2]["detail"] == {"to": "first"}
    refused(b.post(f"/approvals/{instance}/approve", json={}), 409, "already decided")

    ok(a.post(f"/approvals/{instance}/approve", json={}))
    done = ok(b.post(f"/approvals/{instance}/approve", json={}))
    assert done["state"] == "approved" and done["current_node"] is None
    assert desk.status(application) == "approved"
    refused(b.post(f"/approvals/{instance}/approve", json={}), 409, "already decided")
    refused(a.post(f"/approvals/{instance}/reject", json={}), 409, "already decided")

    _application, other = desk.submit("1000")
    returned = ok(a.post(f"/approvals/{other}/send-back", json={"to": "submitter"}))
    assert returned["state"] == "returned" and returned["allowed"]["withdraw"] is False
    rejected = desk.submit("2000")[1]
    assert ok(a.post(f"/approvals/{rejected}/reject", json={"comment": "不符"}))["state"] == (
        "rejected"
    )


def test_transfer_add_signer_and_withdraw(desk: Desk) -> None:
    desk.publish([approver("first", [desk.user("a")])])
    _application, instance = desk.submit("1000")
    a, b, officer = staff(desk, "a"), staff(desk, "b"), staff(desk, "officer1")
    myself = {"user_id": desk.firm.staff["a"].user_id}
    assert (
        "user_id" in refused(a.post(f"/approvals/{instance}/transfer", json=myself), 422)["errors"]
    )
    assert "user_id" in refused(a.post(f"/approvals/{instance}/transfer", json={}), 422)["errors"]
    moved = ok(
        a.post(f"/approvals/{instance}/transfer", json={"user_id": desk.firm.staff["b"].user_id})
    )
    tasks = [(t["assignee"]["name"], t["state"]) for t in moved["steps"][0]["tasks"]]
    assert tasks == [("a", "transferred"), ("b", "pending")]
    refused(a.post(f"/approvals/{instance}/approve", json={}), 409)

    before = {"user_id": desk.firm.staff["a"].user_id, "before": True}
    assert (
        "before"
        in refused(
            b.post(f"/approvals/{instance}/add-signer", json={"user_id": before["user_id"]}), 422
        )["errors"]
    )
    ok(b.post(f"/approvals/{instance}/add-signer", json=before))
    refused(b.post(f"/approvals/{instance}/approve", json={}), 409, "not your turn")
    ok(a.post(f"/approvals/{instance}/approve", json={}))
    assert ok(b.post(f"/approvals/{instance}/approve", json={}))["state"] == "approved"

    _application, second = desk.submit("2000")
    refused(a.post(f"/approvals/{second}/withdraw", json={}), 403, "Only the submitter")
    gone = ok(officer.post(f"/approvals/{second}/withdraw", json={"comment": "客户撤回"}))
    assert gone["state"] == "withdrawn"
    refused(officer.post(f"/approvals/{second}/withdraw", json={}), 409, "already decided")

    _application, third = desk.submit("3000")
    after = {"user_id": desk.firm.staff["b"].user_id, "before": False}
    ok(a.post(f"/approvals/{third}/add-signer", json=after))  # counts as A's approval
    refused(officer.post(f"/approvals/{third}/withdraw", json={}), 409, "already decided")


def test_a_flow_manager_hands_a_blocked_step_to_someone(desk: Desk) -> None:
    nobody = {"kind": "role", "role": "read_only"}  # a role nobody holds
    desk.publish(
        [
            {
                "id": "stuck",
                "type": "approver",
                "name": "无人",
                "assignees": [nobody],
                "when_empty": "block",
            }
        ]
    )
    _application, instance = desk.submit("1000")
    admin, a = staff(desk, "admin"), staff(desk, "a")
    seen = ok(admin.get(f"/approvals/{instance}"))
    assert seen["steps"][0]["tasks"] == [] and seen["allowed"]["transfer"] is True
    assert seen["allowed"]["approve"] is False
    refused(
        staff(desk, "officer1").post(
            f"/approvals/{instance}/transfer", json={"user_id": desk.firm.staff["a"].user_id}
        ),
        403,
    )
    ok(
        admin.post(
            f"/approvals/{instance}/transfer", json={"user_id": desk.firm.staff["a"].user_id}
        )
    )
    assert ok(a.post(f"/approvals/{instance}/approve", json={}))["state"] == "approved"


def upload(api: ApiClient, instance: uuid.UUID, data: bytes = PNG, name: str = "凭证.png") -> Any:
    return api.post(
        f"/approvals/{instance}/attachments",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_comments_with_files(app: Flask, desk: Desk) -> None:
    desk.publish([approver("first", [desk.user("a")])])
    _application, instance = desk.submit("1000")
    a, officer = staff(desk, "a"), staff(desk, "officer1")

    sent = ok(upload(a, instance), 201)
    assert sent["filename"] == "凭证.png" and sent["content_type"] == "image/png"
    assert sent["download_url"] == f"/api/v1/approvals/{instance}/attachments/{sent['id']}/content"
    assert audit_events(app, desk.firm, "attachment.upload")[-1].diff["record_type"] == "flow"
    assert "file" in refused(upload(a, instance, b"just text", "a.txt"), 422)["errors"]
    assert "file" in refused(upload(a, instance, PNG, ""), 422)["errors"]
    refused(upload(staff(desk, "auditor"), instance), 403, "not taking part")  # sees, takes no part
    refused(upload(staff(desk, "collector"), instance), 404)

    assert "comment" in refused(a.post(f"/approvals/{instance}/comment", json={}), 422)["errors"]
    body = {"comment": "见附件", "attachment_ids": [sent["id"]]}
    noted = ok(a.post(f"/approvals/{instance}/comment", json=body))
    last = noted["timeline"][-1]
    assert last["action"] == "commented" and last["comment"] == "见附件"
    assert [f["filename"] for f in last["attachments"]] == ["凭证.png"]
    assert noted["state"] == "running"  # a comment decides nothing

    url = last["attachments"][0]["download_url"].removeprefix("/api/v1")
    got = officer.get(url)
    assert got.status_code == 200 and got.data == PNG
    assert "UTF-8''%E5%87%AD%E8%AF%81.png" in got.headers["Content-Disposition"]  # 凭证.png
    assert audit_events(app, desk.firm, "attachment.download")
    assert staff(desk, "collector").get(url).status_code == 404
    assert (
        officer.get(f"/approvals/{instance}/attachments/{uuid.uuid4()}/content").status_code == 404
    )
    # the file through the record attachments endpoint: not a record field's file
    assert officer.get(f"/attachments/{sent['id']}/content").status_code == 404

    # someone else's upload, or a file kept for a record's field, cannot be attached
    theirs = ok(upload(officer, instance), 201)["id"]
    body = {"comment": "x", "attachment_ids": [theirs]}
    assert (
        "attachment_ids"
        in refused(a.post(f"/approvals/{instance}/approve", json=body), 422)["errors"]
    )
    with desk.session() as session:
        photo = Attachment(
            filename="id.png",
            content_type="image/png",
            size=1,
            sha256="0" * 64,
            storage_key="nowhere",
            uploaded_by_id=desk.user("a"),
            record_type="customer",
            field_key="id_photo",
        )
        session.add(photo)
        session.flush()
        photo_id = str(photo.id)
    body = {"comment": "x", "attachment_ids": [photo_id]}
    assert (
        "attachment_ids"
        in refused(a.post(f"/approvals/{instance}/comment", json=body), 422)["errors"]
    )
    assert ok(a.get(f"/approvals/{instance}"))["state"] == "running"


def test_bulk_approve(desk: Desk) -> None:
    desk.publish([approver("first", [desk.user("a")], bulk=True)])
    first, second = desk.submit("1000")[1], desk.submit("2000")[1]
    desk.publish([approver("first", [desk.user("a")])])
    one_by_one = desk.submit("3000")[1]
    a = staff(desk, "a")
    assert ok(a.get(f"/approvals/{first}"))["allowed"]["bulk"] is True
    assert ok(a.get(f"/approvals/{one_by_one}"))["allowed"]["bulk"] is False
    stranger = uuid.uuid4()
    ids = [str(i) for i in (first, second, one_by_one, stranger)]
    results = ok(a.post("/approvals/bulk-approve", json={"ids": ids, "comment": "批量同意"}))
    assert [(r["id"], r["ok"]) for r in results["results"]] == [
        (ids[0], True),
        (ids[1], True),
        (ids[2], False),
        (ids[3], False),
    ]
    assert "one by one" in results["results"][2]["message"]
    assert results["results"][3]["message"] == "No such approval."
    assert ok(a.get(f"/approvals/{first}"))["state"] == "approved"
    assert ok(a.get(f"/approvals/{one_by_one}"))["state"] == "running"
    again = ok(a.post("/approvals/bulk-approve", json={"ids": ids[:1]}))["results"][0]
    assert again["ok"] is False and "already decided" in again["message"]
    assert "ids" in refused(a.post("/approvals/bulk-approve", json={"ids": []}), 422)["errors"]
    many = {"ids": [str(uuid.uuid4()) for _ in range(101)]}
    assert "ids" in refused(a.post("/approvals/bulk-approve", json=many), 422)["errors"]
