"""企业微信登录: staff sign in to LoanDesk with WeCom (企业微信 Web 登录, scanning the code or
the desktop client), through the firm's own app, when the tenant allowed it (setting
``sign_in_enabled``). WeCom's login page gives a code; the code becomes the member's userid
(``openapi.member_of_code``, with the app's token), and the userid the staff member it is
mapped to (the staff mapping). The core does the rest: state, tenant, active user, session and
audit (``loandesk.sdk.SignInProvider``)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_wecom import channel, openapi, staff

INVALID_CODE = 40029  # "invalid code": used, expired (five minutes) or never issued


def providers() -> list[sdk.SignInProvider]:
    """WeCom sign-in for the current tenant, if allowed and the app is set up."""
    try:
        settings = channel.loaded_settings()
    except openapi.WeComError:
        return []
    if not (settings["sign_in_enabled"] and settings["corp_id"] and settings["app_secret"]
            and settings["agent_id"]):  # fmt: skip
        return []
    return [WeComSignIn(settings)]


class WeComSignIn(sdk.SignInProvider):
    key = "wecom"
    label_zh = "企业微信"
    label_en = "WeCom"
    code_parameter = "code"

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.app = channel.app_of(settings)

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        query = urlencode({
            "login_type": "CorpApp", "appid": self.app.corp_id, "agentid": self.app.agent_id,
            "redirect_uri": redirect_uri, "state": state,
        })  # fmt: skip
        return f"{self.settings['login_url'].rstrip('/')}/wwlogin/sso/login?{query}"

    def identify(self, code: str, redirect_uri: str) -> str:
        try:
            userid = self._member(code)
        except openapi.Refused as problem:
            bad_code = problem.errcode == INVALID_CODE
            raise sdk.SignInRefused(
                "provider_error",
                sdk.N_("WeCom did not accept this sign-in (it was used or took too long). "
                       "Start again.")
                if bad_code
                else sdk.N_("WeCom refused the sign-in (%(code)s). Start again; if it keeps "
                            "failing, ask your administrator."),
                params={"code": str(problem.errcode)},
                detail={"error": channel.clean(str(problem), self.settings)},
            ) from None  # fmt: skip
        except openapi.WeComError as problem:
            raise sdk.SignInRefused(
                "provider_unreachable",
                sdk.N_("WeCom cannot be reached right now. Try again in a moment."),
                detail={"error": channel.clean(str(problem), self.settings)},
            ) from None
        if userid is None:
            raise sdk.SignInRefused(
                "not_staff",
                sdk.N_("Your WeCom account is not a member of this firm's WeCom."),
            )
        return userid

    def user_for(self, session: Session, external_id: str) -> uuid.UUID | None:
        # one staff member per userid (unique in the core's staff_external_accounts)
        return sdk.staff_of_external_id(session, staff.KIND.provider, external_id)

    def _member(self, code: str) -> str | None:
        try:
            return openapi.member_of_code(self.app, channel.token(self.app), code)
        except openapi.TokenRejected:
            channel.forget_token(self.app)
            return openapi.member_of_code(self.app, channel.token(self.app), code)
