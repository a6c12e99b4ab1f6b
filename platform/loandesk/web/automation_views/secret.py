"""The webhook secret page (Webhook 签名密钥): when the tenant's secret was made, how
receivers check a request, and two buttons: show the secret, or replace it with a new one.
The secret appears only in the answer to one of those POSTs (audited, never cached)."""

from __future__ import annotations

from typing import Any

from flask import g, render_template

from loandesk import extension, pii
from loandesk.automations import signing
from loandesk.web.auth_views import permission_required
from loandesk.web.automation_views import bp
from loandesk.web.automation_views.common import PERMISSION

NO_STORE = {"Cache-Control": "no-store"}


def _page(shown: signing.Secret | None = None, *, rotated: bool = False) -> Any:
    made = shown.updated_at if shown else signing.made_at(extension.session())
    html = render_template(
        "admin/automations/webhook_secret.html", made=made, shown=shown, rotated=rotated
    )
    return html, 200, NO_STORE


@bp.get("/webhook-secret", endpoint="webhook_secret")
@permission_required(PERMISSION)
def webhook_secret() -> Any:
    return _page()


@bp.post("/webhook-secret/reveal", endpoint="reveal_secret")
@permission_required(PERMISSION)
def reveal_secret() -> Any:
    session = extension.session()
    shown = signing.reveal(session, pii.for_current_tenant())
    session.commit()
    return _page(shown)


@bp.post("/webhook-secret/rotate", endpoint="rotate_secret")
@permission_required(PERMISSION)
def rotate_secret() -> Any:
    session = extension.session()
    shown = signing.rotate(session, pii.for_current_tenant(), user_id=g.user.id)
    session.commit()
    return _page(shown, rotated=True)
