"""``/api/v1/connectors``: the tenant's connectors (连接器) — SMS, e-mail, DingTalk, e签宝,
credit bureau, payout channels, webhooks — with how each last fared, and a test call to one.
Reading needs ``plugins:read``, testing ``plugins:write``; a client acting for a staff member
needs that member to hold ``plugins.manage``."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_babel import get_locale
from flask_smorest import Blueprint

from loandesk import extension
from loandesk.api.schemas import PageArgs, page_of, paged
from loandesk.auth.oauth import require_token
from loandesk.connectors import service
from loandesk.errors import Forbidden
from loandesk.i18n import N_

MANAGE = "plugins.manage"

blp = Blueprint(
    "api_connectors",
    __name__,
    url_prefix="/connectors",
    description="Connectors (连接器): the providers the tenant's enabled plugins talk to, each "
    "with its state (`ok` 正常, `failing` 异常, `unused` 未使用), last success and last error "
    "(secrets and personal data removed), and a test that makes one harmless call to the "
    "provider with the saved settings.",
)


class ConnectorStateSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": "e.g. `sms_http`, `credit.bureau`"})
    plugin = ma.fields.String(metadata={"description": "the plugin that gives it (empty: core)"})
    label = ma.fields.String(metadata={"description": "in the request's language"})
    label_zh = ma.fields.String()
    label_en = ma.fields.String()
    channels = ma.fields.List(ma.fields.String(), metadata={"description": "channels it gives"})
    state = ma.fields.String(metadata={"description": "`ok`, `failing` or `unused`"})
    last_success_at = ma.fields.DateTime(allow_none=True)
    last_success_detail = ma.fields.String()
    last_error_at = ma.fields.DateTime(allow_none=True)
    last_error = ma.fields.String(metadata={"description": "without secrets or personal data"})


ConnectorPage = page_of(ConnectorStateSchema, "ConnectorPage")


def dump(item: service.Listed) -> dict[str, Any]:
    connector, row = item.connector, item.status
    return {
        "key": connector.key,
        "plugin": connector.plugin,
        "label": connector.label(str(get_locale() or "zh")),
        "label_zh": connector.label_zh,
        "label_en": connector.label_en,
        "channels": list(connector.channels),
        "state": item.state,
        "last_success_at": row.last_success_at if row else None,
        "last_success_detail": row.last_success_detail if row else "",
        "last_error_at": row.last_error_at if row else None,
        "last_error": row.last_error if row else "",
    }


def _check_acting_user() -> None:
    """A client acting for a staff member needs them to hold plugins.manage; a tenant's admin
    client acting for nobody has what its scope gives."""
    from loandesk.rbac.current import acting_user

    try:
        user = acting_user()
    except Forbidden:
        return
    if user is not None and not user.can(MANAGE):
        raise Forbidden(
            N_("You lack the permission %(permission)s."), params={"permission": MANAGE}
        )


@blp.route("")
class Connectors(MethodView):
    @require_token("plugins:read")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ConnectorPage)
    @blp.alt_response(403, description="The acting user lacks plugins.manage")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tenant's connectors, by key, with their status."""
        _check_acting_user()
        found = [dump(item) for item in service.listed(extension.session())]
        return paged(found, args)


@blp.route("/<key>/test")
class TestConnector(MethodView):
    @require_token("plugins:write")
    @blp.response(200, ConnectorStateSchema)
    @blp.alt_response(403, description="The acting user lacks plugins.manage")
    @blp.alt_response(404, description="No such connector enabled for the tenant")
    def post(self, key: str) -> dict[str, Any]:
        """Test the connector now with the saved settings: one harmless call to the provider.
        Answers the connector with its new status (a failed test is `failing` with the
        reason in `last_error`, HTTP 200); audited (`connector.tested`)."""
        _check_acting_user()
        session = extension.session()
        item = service.run_test(session, key)
        session.commit()
        return dump(item)
