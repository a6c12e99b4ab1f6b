"""``POST /api/v1/email/test``: an admin (plugins.manage) sends a test e-mail with the saved
settings, to check them before the tenant's messages depend on them."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import Blueprint

from loandesk import sdk
from loandesk_email import channel, smtp

blp = Blueprint(
    "email",
    __name__,
    url_prefix="/email",
    description="E-mail (电子邮件) through the tenant's SMTP server.",
)


class EmailTestRequestSchema(ma.Schema):
    to = ma.fields.Email(
        load_default=None,
        metadata={"description": "Where to send it; the acting user's own address if absent"},
    )


class EmailTestResultSchema(ma.Schema):
    to = ma.fields.String(metadata={"description": "The address, masked"})
    message_id = ma.fields.String(metadata={"description": "The test e-mail's Message-ID"})
    answer = ma.fields.String(metadata={"description": "The server's answer to the e-mail"})


class EmailTestFailed(sdk.DomainError):
    """The server did not take the test e-mail (the reason has no password, no address)."""

    status = 502
    code = "email_test_failed"


@blp.route("/test")
class SendTestEmail(MethodView):
    @sdk.require_token("plugins:write")
    @blp.arguments(EmailTestRequestSchema)
    @blp.response(200, EmailTestResultSchema)
    @blp.alt_response(403, description="The acting user lacks plugins.manage")
    @blp.alt_response(409, description="The saved settings are incomplete: which")
    @blp.alt_response(502, description="The server did not take it: the reason")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Send a test e-mail now with the saved settings, to ``to`` or to the staff member
        the client acts for (who needs plugins.manage); audited (``email.test``) with the
        address masked."""
        own = _acting_address()  # checks the acting staff member's permission first
        to = args["to"] or own
        if not to:
            raise sdk.ValidationFailed(
                sdk.N_("Some fields need attention."),
                errors={"to": [sdk.N_("Enter the address to send the test e-mail to.")]},
            )
        shown = sdk.scrub_personal(to)
        session = sdk.session()
        try:
            settings = channel.loaded_settings()
        except smtp.SmtpError as problem:  # nothing was sent: no server to blame (not a 502)
            raise sdk.Conflict(
                sdk.N_("The test e-mail was not sent: %(reason)s"), params={"reason": str(problem)}
            ) from None
        try:
            letter = channel.letter(settings, to, gettext("LoanDesk test e-mail"), gettext(
                "This test e-mail shows that LoanDesk can send the firm's e-mail through "
                "this SMTP server."
            ))  # fmt: skip
            answer = channel.deliver(settings, letter)
        except (smtp.SmtpError, sdk.Undeliverable) as problem:
            reason = str(problem)
            sdk.audit_record(session, "email.test", "plugin", "email",
                             {"to": [None, shown], "result": [None, reason]})  # fmt: skip
            session.commit()
            raise EmailTestFailed(
                sdk.N_("The test e-mail was not sent: %(reason)s"), params={"reason": reason}
            ) from None
        sdk.audit_record(session, "email.test", "plugin", "email",
                         {"to": [None, shown], "result": [None, "sent"]})  # fmt: skip
        session.commit()
        return {"to": shown, "message_id": letter.message_id, "answer": answer}


def _acting_address() -> str:
    """The acting staff member's address; checks their permission. A tenant's admin client
    acting for nobody may test (its ``plugins:write`` scope is what changing the settings
    takes), but must say where to."""
    try:
        user = sdk.acting_user()
    except sdk.Forbidden:
        user = None
    if user is None:
        return ""
    if not user.can("plugins.manage"):
        raise sdk.Forbidden(
            sdk.N_("You lack the permission %(permission)s."),
            params={"permission": "plugins.manage"},
        )
    return str(user.email)
