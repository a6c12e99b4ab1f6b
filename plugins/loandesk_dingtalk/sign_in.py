"""钉钉登录: staff sign in to LoanDesk with their DingTalk account, through the firm's app, when
the tenant allowed it (setting ``sign_in_enabled``). DingTalk's login page gives a code; the
code becomes the person's unionId (``openapi.user_access_token``, ``union_id_of_user``), the
unionId their userid in the firm's organisation (``userid_by_union_id``, with the app's
token), and the userid the staff member it is mapped to (``StaffAccount``). The core does the
rest: state, tenant, active user, session and audit (``loandesk.sdk.SignInProvider``)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_dingtalk import channel, openapi

NOT_IN_ORGANISATION = 60121  # getbyunionid: "找不到该用户"


def providers() -> list[sdk.SignInProvider]:
    """DingTalk sign-in for the current tenant, if allowed and the app is set up."""
    try:
        settings = channel.loaded_settings()
    except openapi.DingTalkError:
        return []
    if not (settings["sign_in_enabled"] and settings["app_key"] and settings["app_secret"]):
        return []
    return [DingTalkSignIn(settings)]


class DingTalkSignIn(sdk.SignInProvider):
    key = "dingtalk"
    label_zh = "钉钉"
    label_en = "DingTalk"
    code_parameter = "authCode"  # DingTalk's name for the code in the redirect

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.app = openapi.App(
            base_url=settings["base_url"],
            app_key=settings["app_key"],
            app_secret=settings["app_secret"],
            timeout=settings["timeout_seconds"],
        )

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        query = urlencode({
            "redirect_uri": redirect_uri, "response_type": "code",
            "client_id": self.app.app_key, "scope": "openid", "state": state,
            "prompt": "consent",
        })  # fmt: skip
        return f"{self.settings['login_url'].rstrip('/')}/oauth2/auth?{query}"

    def identify(self, code: str, redirect_uri: str) -> str:
        user_token = ""
        try:
            user_token = openapi.user_access_token(self.app, self.settings["api_url"], code)
            union_id = openapi.union_id_of_user(
                self.settings["api_url"], user_token, self.app.timeout
            )
            userid, contact_type = self._userid(union_id)
        except openapi.ApiRefused as problem:
            raise sdk.SignInRefused(
                "provider_error",
                sdk.N_(
                    "DingTalk refused the sign-in (%(code)s). Start again; if it keeps "
                    "failing, ask your administrator."
                ),
                params={"code": self._clean(problem.code or str(problem.status), user_token)},
                detail={"error": self._clean(str(problem), user_token)},
            ) from None
        except openapi.Refused as problem:
            not_member = problem.errcode == NOT_IN_ORGANISATION
            raise sdk.SignInRefused(
                "no_account" if not_member else "provider_error",
                sdk.N_("Your DingTalk account is not in this firm's DingTalk organisation.")
                if not_member
                else sdk.N_(
                    "DingTalk could not tell who you are. Try again; if it keeps failing, "
                    "ask your administrator."
                ),
                detail={"error": self._clean(str(problem), user_token)},
            ) from None
        except openapi.DingTalkError as problem:
            raise sdk.SignInRefused(
                "provider_unreachable",
                sdk.N_("DingTalk cannot be reached right now. Try again in a moment."),
                detail={"error": self._clean(str(problem), user_token)},
            ) from None
        if contact_type != 0:
            raise sdk.SignInRefused(
                "not_staff",
                sdk.N_("Your DingTalk account is an outside contact of the firm, not staff."),
                detail={"dingtalk_userid": userid},
            )
        return userid

    def user_for(self, session: Session, external_id: str) -> uuid.UUID | None:
        # one staff member per userid (unique in the core's staff_external_accounts)
        return sdk.staff_of_external_id(session, "dingtalk", external_id)

    def _userid(self, union_id: str) -> tuple[str, int]:
        try:
            return openapi.userid_by_union_id(self.app, channel.token(self.app), union_id)
        except openapi.TokenRejected:
            channel.forget_token(self.app)
            return openapi.userid_by_union_id(self.app, channel.token(self.app), union_id)

    def _clean(self, text: str, user_token: str) -> str:
        if user_token:
            text = text.replace(user_token, "***")
        return channel.clean_error(text, self.settings)
