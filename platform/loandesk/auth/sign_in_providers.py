"""Sign-in through a plugin's provider (钉钉登录, 企业微信登录, ...): the contract a plugin
implements (``SignInProvider``, offered through ``loandesk_sign_in_providers``) and what the core
does with the provider's answer, the same for every provider.

The plugin knows the provider: where to send the browser, how to turn the code it sends back
into the provider's id of the person, and which staff member that id is (the plugin's own
mapping). The core keeps everything that must be safe whatever the plugin: the ``state`` bound
to the browser session, the tenant, that the user is an active staff member of this tenant,
the audit of every sign-in and refusal, and the session (``loandesk.web.provider_sign_in``).
No Flask here.
"""

from __future__ import annotations

import abc
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loandesk.auth.models import User
from loandesk.auth.sso import SignInRefused, record_sign_in, refuse_deactivated
from loandesk.i18n import N_

__all__ = ["SignInProvider", "SignInRefused", "sign_in"]


class SignInProvider(abc.ABC):
    """One way for staff to sign in with an account elsewhere, offered by a plugin.

    ``key`` names it in URLs and the audit log (``<plugin>`` or ``<plugin>.<name>``), the
    labels on the sign-in button (``钉钉``, ``DingTalk``). The provider sends the browser back
    with the code in the query parameter ``code_parameter`` and the ``state`` in ``state``.
    Every method runs in a request of the current tenant, with the plugin's settings read by
    the plugin itself; none of them sees the browser session.
    """

    key: str
    label_zh: str
    label_en: str
    code_parameter: str = "code"

    @abc.abstractmethod
    def authorize_url(self, state: str, redirect_uri: str) -> str:
        """The provider's page that signs the person in and sends the browser to
        ``redirect_uri`` with a code and ``state`` unchanged (the core made and checks
        both)."""

    @abc.abstractmethod
    def identify(self, code: str, redirect_uri: str) -> str:
        """The provider's id of the person the ``code`` was issued to, after exchanging it
        with the provider (server to server; the code is good once). Raise ``SignInRefused``
        when the provider refuses the code, cannot be reached, or vouches for nobody; its
        message is shown, its ``detail`` audited: never put a secret or token in either."""

    @abc.abstractmethod
    def user_for(self, session: Session, external_id: str) -> uuid.UUID | None:
        """The current tenant's staff member whose account at the provider is
        ``external_id`` (the staff mapping: ``sdk.staff_of_external_id``), or None for
        nobody. May raise ``SignInRefused``."""


def sign_in(session: Session, provider: SignInProvider, external_id: str, *, now: datetime) -> User:
    """The user ``external_id`` signs in as through ``provider``: the one its plugin maps it
    to, if that is an active staff member of the current tenant. Raises ``SignInRefused``
    otherwise; the caller rolls back and calls ``sso.record_refusal``. Like single sign-on,
    it asks for no second factor: the provider authenticated the person (docs/security.md).
    """
    user_id = provider.user_for(session, external_id)
    # The tenant filter applies: an id from another tenant's mapping finds nobody here.
    user = session.scalar(select(User).where(User.id == user_id)) if user_id else None
    if user is None:
        raise SignInRefused(
            "no_account",
            N_(
                "Your %(provider)s account is not linked to a LoanDesk staff member of this "
                "firm. Ask your administrator to link it."
            ),
        )
    refuse_deactivated(user)
    if not user.is_active:
        raise SignInRefused(
            "not_active",
            N_("Your LoanDesk account is not active yet: accept your invitation first."),
            email=user.email,
            user_id=user.id,
        )
    record_sign_in(session, user, method=provider.key, now=now, subject=external_id[:255])
    return user
