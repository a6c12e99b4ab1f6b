"""Two-factor sign-in (TOTP): enrolment with a real code, sign-in with password and code,
wrong and replayed codes refused (and counted), recovery codes, the tenant's requirement,
turning it off, and the admin's reset. Codes come from pyotp on a clock the test moves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from loandesk.audit.models import AuditEvent
from loandesk.auth import two_factor
from loandesk.auth.models import RecoveryCode, User
from loandesk.cli import cli
from loandesk.pii.keys import DecryptionFailed, Keyring
from loandesk.tenancy import service, use
from loandesk.tenancy.models import Tenant
from loandesk.web.sessions import COOKIE_NAME
from tests.helpers import ApiClient, csrf_from, web_login
from tests.two_factor_helpers import (
    T0,
    Clock,
    code_step,
    enrol,
    password_step,
    recovery_codes_on,
    secret_on,
    wrong_code,
)


def _ref(app: Flask, slug: str):  # type: ignore[no-untyped-def]
    with app.extensions["loandesk"].db.transaction() as session:
        return service.get_by_slug(session, slug).ref()


def _user(app: Flask, slug: str, email: str) -> User:
    with use(_ref(app, slug)), app.extensions["loandesk"].db.transaction() as session:
        user = session.scalar(select(User).where(User.email == email))
        session.expunge(user)
        return user


def _events(app: Flask, slug: str, action: str) -> list[AuditEvent]:
    with use(_ref(app, slug)), app.extensions["loandesk"].db.transaction() as session:
        events = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )
        session.expunge_all()
        return events


def _enrolled_admin(app: Flask, client, tenant):  # type: ignore[no-untyped-def]
    """Tenant A's admin with two-factor sign-in, signed out again; enrolled at step T0."""
    clock = Clock(app)
    web_login(client, tenant)
    enrolled = enrol(client, tenant, clock)
    client.post(
        f"/t/{tenant.slug}/logout", data={"csrf_token": csrf_from(client, f"/t/{tenant.slug}/")}
    )
    return clock, enrolled


# --- enrolment -----------------------------------------------------------------------------


def test_enrolment_with_a_real_code_turns_it_on_and_shows_recovery_codes_once(
    app: Flask, client, tenant_a, api_a: ApiClient
) -> None:
    clock = Clock(app)
    web_login(client, tenant_a)
    account = client.get(f"/t/{tenant_a.slug}/account?lang=en").get_data(as_text=True)
    assert "Set up two-factor sign-in" in account
    page = client.get(f"/t/{tenant_a.slug}/account/two-factor?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and 'class="segno"' in html
    secret = secret_on(html)
    assert len(secret) == 32
    # a reload shows the same secret: the QR code already scanned stays good
    again = client.get(f"/t/{tenant_a.slug}/account/two-factor").get_data(as_text=True)
    assert secret_on(again) == secret

    user = _user(app, tenant_a.slug, tenant_a.admin_email)
    assert user.totp_secret_enc.startswith("pd1:") and secret not in user.totp_secret_enc
    assert not user.two_factor_enabled

    done = client.post(
        f"/t/{tenant_a.slug}/account/two-factor?lang=en",
        data={
            "code": pyotp.TOTP(secret).at(T0),
            "csrf_token": csrf_from(client, f"/t/{tenant_a.slug}/account"),
        },
    )
    codes = recovery_codes_on(done.get_data(as_text=True))
    assert done.status_code == 200 and len(codes) == len(set(codes)) == 10
    assert "shown only once" in done.get_data(as_text=True)
    user = _user(app, tenant_a.slug, tenant_a.admin_email)
    assert user.two_factor_enabled and user.totp_last_step == T0 // 30
    with use(_ref(app, tenant_a.slug)), app.extensions["loandesk"].db.transaction() as s:
        hashes = list(s.scalars(select(RecoveryCode.code_hash)))
    assert len(hashes) == 10 and not {c.replace("-", "") for c in codes} & set(hashes)
    # the codes are never shown again
    later = client.get(f"/t/{tenant_a.slug}/account?lang=en").get_data(as_text=True)
    assert "10 recovery codes left" in later and not set(codes) & set(recovery_codes_on(later))
    assert client.get(f"/t/{tenant_a.slug}/account/two-factor").status_code == 302
    assert api_a.get(f"/users/{tenant_a.admin_user_id}").get_json()["two_factor_enabled"] is True
    assert [e.diff for e in _events(app, tenant_a.slug, "user.two_factor_enabled")] == [
        {"email": tenant_a.admin_email}
    ]
    assert clock.now == T0


def test_a_wrong_code_at_enrolment_is_refused_next_to_the_field(app: Flask, client, tenant_a):
    Clock(app)
    web_login(client, tenant_a)
    page = f"/t/{tenant_a.slug}/account/two-factor?lang=en"
    secret = secret_on(client.get(page).get_data(as_text=True))
    for code, message in (
        ("", "Enter the 6-digit code from your app."),
        (pyotp.TOTP(secret).at(T0 - 60), "This code is not right."),
        (pyotp.TOTP(pyotp.random_base32()).at(T0), "This code is not right."),
    ):
        refused = client.post(page, data={"code": code, "csrf_token": csrf_from(client, page)})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422 and "field-error" in html and message in html
        assert secret_on(html) == secret  # the same QR code, to try again
    assert not _user(app, tenant_a.slug, tenant_a.admin_email).two_factor_enabled


def test_the_secret_decrypts_only_on_its_own_user_row(app: Flask, api_a, tenant_a) -> None:
    other = api_a.post(
        "/users",
        json={"email": "li@a.cn", "display_name": "李", "password": "Credit-officer-1"},
    ).get_json()
    ext = app.extensions["loandesk"]
    with use(_ref(app, tenant_a.slug)), ext.db.transaction() as s:
        keyring = Keyring(s, master_key=ext.settings.master_key)
        admin = s.scalar(select(User).where(User.email == tenant_a.admin_email))
        two_factor.begin_enrolment(s, admin, keyring=keyring, issuer="x")
        li = s.get(User, (admin.tenant_id, uuid.UUID(other["id"])))
        li.totp_secret_enc = admin.totp_secret_enc  # copied to another row
        with pytest.raises(DecryptionFailed):
            two_factor.pending_enrolment(li, keyring=keyring, issuer="x")


# --- signing in ----------------------------------------------------------------------------


def test_sign_in_takes_the_password_then_a_code(app: Flask, client, tenant_a) -> None:
    clock, enrolled = _enrolled_admin(app, client, tenant_a)
    clock.advance(30)
    before = client.get_cookie(COOKIE_NAME).value
    first = password_step(client, tenant_a)
    assert first.status_code == 302 and first.location.endswith("/login/code")
    assert client.get_cookie(COOKIE_NAME).value != before  # a new session id already
    # between the steps nobody is signed in
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302
    assert client.get(f"/t/{tenant_a.slug}/account").status_code == 302
    page = client.get(f"/t/{tenant_a.slug}/login/code?lang=en")
    assert page.status_code == 200 and "authenticator app" in page.get_data(as_text=True)
    pending_cookie = client.get_cookie(COOKIE_NAME).value

    done = code_step(client, tenant_a, enrolled.code(clock.now))
    assert done.status_code == 302 and done.location.endswith(f"/t/{tenant_a.slug}/")
    assert client.get_cookie(COOKIE_NAME).value != pending_cookie  # rotated again
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    sign_ins = _events(app, tenant_a.slug, "user.sign_in")
    assert sign_ins[-1].diff == {"email": tenant_a.admin_email, "method": "password+totp"}
    assert all(e.diff["method"] == "password" for e in sign_ins[:-1])


def test_a_user_without_two_factor_signs_in_with_the_password_alone(app, client, tenant_a):
    response = password_step(client, tenant_a)
    assert response.status_code == 302 and response.location.endswith(f"/t/{tenant_a.slug}/")
    assert _events(app, tenant_a.slug, "user.sign_in")[-1].diff["method"] == "password"


def test_the_code_step_keeps_where_the_user_was_going(app: Flask, client, tenant_a) -> None:
    clock, enrolled = _enrolled_admin(app, client, tenant_a)
    clock.advance(30)
    login = f"/t/{tenant_a.slug}/login"
    client.post(
        login,
        data={
            "email": tenant_a.admin_email,
            "password": tenant_a.admin_password,
            "next": f"/t/{tenant_a.slug}/admin/users",
            "csrf_token": csrf_from(client, login),
        },
    )
    done = code_step(client, tenant_a, enrolled.code(clock.now))
    assert done.location.endswith(f"/t/{tenant_a.slug}/admin/users")


def test_a_wrong_code_is_refused_and_counts_towards_the_lock_out(app, client, tenant_a):
    clock, enrolled = _enrolled_admin(app, client, tenant_a)
    clock.advance(30)
    password_step(client, tenant_a)
    wrong = code_step(client, tenant_a, enrolled.wrong_code(clock.now))
    assert wrong.status_code == 401
    assert "This code is not right." in wrong.get_data(as_text=True)
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302
    assert _user(app, tenant_a.slug, tenant_a.admin_email).failed_logins == 1
    assert _events(app, tenant_a.slug, "user.sign_in_failed")[-1].diff["reason"] == "code"
    # nine more wrong codes lock the account: then even the right code is refused
    bad = enrolled.wrong_code(clock.now)
    for _ in range(8):
        assert code_step(client, tenant_a, bad).status_code == 401
    locked = code_step(client, tenant_a, bad)
    assert locked.status_code == 423 and "locked until" in locked.get_data(as_text=True)
    assert _user(app, tenant_a.slug, tenant_a.admin_email).locked_until is not None
    # the pending sign-in is gone, and the password alone is refused during the lock
    assert client.get(f"/t/{tenant_a.slug}/login/code").status_code == 302
    assert password_step(client, tenant_a).status_code == 423
    # a success clears the count: only after the code, not after the password
    clock.advance(16 * 60)
    bad = enrolled.wrong_code(clock.now)
    assert password_step(client, tenant_a).status_code == 302
    assert code_step(client, tenant_a, bad).status_code == 401
    assert password_step(client, tenant_a).status_code == 302
    assert _user(app, tenant_a.slug, tenant_a.admin_email).failed_logins == 1
    assert code_step(client, tenant_a, enrolled.code(clock.now)).status_code == 302
    assert _user(app, tenant_a.slug, tenant_a.admin_email).failed_logins == 0


def test_a_replayed_code_is_refused_with_a_clear_message(app: Flask, client, tenant_a) -> None:
    clock, enrolled = _enrolled_admin(app, client, tenant_a)
    # the code that confirmed the enrolment does not sign in
    password_step(client, tenant_a)
    replay = code_step(client, tenant_a, enrolled.code(T0))
    assert replay.status_code == 401
    assert "This code has already been used" in replay.get_data(as_text=True)
    assert _events(app, tenant_a.slug, "user.sign_in_failed")[-1].diff["reason"] == (
        "code_replayed"
    )
    # the next step's code does (one step ahead: within the drift), and only once
    code = enrolled.code(T0 + 30)
    assert code_step(client, tenant_a, code).status_code == 302
    web = app.test_client()
    password_step(web, tenant_a)
    clock.advance(20)
    again = code_step(web, tenant_a, code)
    assert again.status_code == 401 and "already been used" in again.get_data(as_text=True)
    # an older code than the last one accepted is refused as used too
    assert "already been used" in code_step(web, tenant_a, enrolled.code(T0)).text


def test_codes_one_step_either_side_are_accepted_and_older_ones_not(app, client, tenant_a):
    clock, enrolled = _enrolled_admin(app, client, tenant_a)
    clock.advance(10 * 30)  # step T0 + 10
    password_step(client, tenant_a)
    for off_by in (-2, 2):
        response = code_step(client, tenant_a, enrolled.code(clock.now + off_by * 30))
        assert response.status_code == 401 and "not right" in response.text
    assert code_step(client, tenant_a, enrolled.code(clock.now - 30)).status_code == 302
    second = app.test_client()
    password_step(second, tenant_a)
    assert code_step(second, tenant_a, enrolled.code(clock.now + 30)).status_code == 302
    assert _user(app, tenant_a.slug, tenant_a.admin_email).totp_last_step == T0 // 30 + 11


def test_a_code_wins_once_even_against_a_stale_copy_of_the_user(app, tenant_a) -> None:
    """The replay check is in the database: a request that loaded the user before another one
    accepted the same code still refuses it."""
    ext = app.extensions["loandesk"]
    ref = _ref(app, tenant_a.slug)
    with use(ref), ext.db.transaction() as s:
        keyring = Keyring(s, master_key=ext.settings.master_key)
        user = s.scalar(select(User).where(User.email == tenant_a.admin_email))
        enrolment = two_factor.begin_enrolment(s, user, keyring=keyring, issuer="x")
        two_factor.confirm_enrolment(
            s,
            user,
            pyotp.TOTP(enrolment.secret).at(T0),
            keyring=keyring,
            now=datetime.fromtimestamp(T0, UTC),
        )
    later = datetime.fromtimestamp(T0 + 30, UTC)
    code = pyotp.TOTP(enrolment.secret).at(T0 + 30)
    with use(ref):
        first, second = ext.db.session_factory(), ext.db.session_factory()
        try:
            one = first.scalar(select(User).where(User.email == tenant_a.admin_email))
            two = second.scalar(select(User).where(User.email == tenant_a.admin_email))
            assert one.totp_last_step == two.totp_last_step == T0 // 30
            second.commit()  # end its read transaction: SQLite lets one writer at a time
            ring = Keyring(first, master_key=ext.settings.master_key)
            assert two_factor.check_code(first, one, code, keyring=ring, now=later) == "totp"
            first.commit()
            ring = Keyring(second, master_key=ext.settings.master_key)
            with pytest.raises(two_factor.CodeRefused) as refused:
                two_factor.check_code(second, two, code, keyring=ring, now=later)
            assert refused.value.reason == "replayed"
        finally:
            first.close()
            second.close()


def test_a_recovery_code_signs_in_once(app: Flask, client, tenant_a) -> None:
    _clock, enrolled = _enrolled_admin(app, client, tenant_a)
    recovery = enrolled.recovery_codes[3]
    password_step(client, tenant_a)
    done = code_step(client, tenant_a, recovery.upper().replace("-", " "))
    assert done.status_code == 302
    home = client.get(f"/t/{tenant_a.slug}/?lang=en").get_data(as_text=True)
    assert "You signed in with a recovery code; 9 left." in home
    assert _events(app, tenant_a.slug, "user.sign_in")[-1].diff["method"] == (
        "password+recovery_code"
    )
    assert _events(app, tenant_a.slug, "user.recovery_code_used")[-1].diff == {
        "email": tenant_a.admin_email,
        "remaining": 9,
    }
    other = app.test_client()
    password_step(other, tenant_a)
    used = code_step(other, tenant_a, recovery)
    assert used.status_code == 401 and "already been used" in used.text
    assert code_step(other, tenant_a, enrolled.recovery_codes[4]).status_code == 302


def test_the_pending_sign_in_lasts_five_minutes_and_is_no_session(app, client, tenant_a):
    clock, enrolled = _enrolled_admin(app, client, tenant_a)
    password_step(client, tenant_a)
    token = csrf_from(client, f"/t/{tenant_a.slug}/login/code")
    clock.advance(5 * 60 + 1)
    late = client.post(
        f"/t/{tenant_a.slug}/login/code",
        data={"code": enrolled.code(clock.now), "csrf_token": token},
    )
    assert late.status_code == 302 and late.location.endswith("/login")
    assert "登录超时，请重新登录" in client.get(late.location).text  # flashed in Chinese
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302
    # without a password step, the code page is just the way back to signing in
    fresh = app.test_client()
    assert fresh.get(f"/t/{tenant_a.slug}/login/code").status_code == 302


def test_a_pending_sign_in_of_tenant_a_means_nothing_at_tenant_b(
    app, client, tenant_a, tenant_b
) -> None:
    clock, _enrolled = _enrolled_admin(app, client, tenant_a)
    clock.advance(30)
    password_step(client, tenant_a)
    assert client.get(f"/t/{tenant_b.slug}/login/code").status_code == 302
    assert client.get(f"/t/{tenant_b.slug}/").status_code == 302


def test_the_code_step_is_rate_limited(app: Flask, settings, tenant_a) -> None:
    from loandesk.app import create_app
    from loandesk.settings import Rate

    limited = create_app(settings.replace(rate_limit_login_account=Rate(4, timedelta(minutes=15))))
    limited.testing = True
    try:
        clock = Clock(limited)
        client = limited.test_client()
        web_login(client, tenant_a)  # 1
        enrolled = enrol(client, tenant_a, clock)  # 2 (confirming counts as an attempt)
        client.post(
            f"/t/{tenant_a.slug}/logout",
            data={"csrf_token": csrf_from(client, f"/t/{tenant_a.slug}/")},
        )
        assert password_step(client, tenant_a).status_code == 302  # 3
        bad = enrolled.wrong_code(clock.now)
        assert code_step(client, tenant_a, bad).status_code == 401  # 4
        over = code_step(client, tenant_a, bad)
        assert over.status_code == 429 and "Retry-After" in over.headers
    finally:
        limited.extensions["loandesk"].db.dispose()


# --- the tenant requires two-factor sign-in ------------------------------------------------


def _require(app: Flask, slug: str, required: bool = True) -> None:
    with app.extensions["loandesk"].db.transaction() as s:
        s.scalar(select(Tenant).where(Tenant.slug == slug)).require_two_factor = required


def test_a_tenant_that_requires_it_makes_staff_enrol_before_any_page(
    app: Flask, client, tenant_a, tenant_b
) -> None:
    clock = Clock(app)
    _require(app, tenant_a.slug)
    first = password_step(client, tenant_a)
    assert first.status_code == 302 and first.location.endswith("/login/two-factor-setup")
    for page in ("/", "/account", "/admin/users", "/login/code"):
        response = client.get(f"/t/{tenant_a.slug}{page}")
        assert response.status_code == 302 and "/login" in response.location, page
    setup = client.get(f"/t/{tenant_a.slug}/login/two-factor-setup?lang=en")
    html = setup.get_data(as_text=True)
    assert setup.status_code == 200 and "requires a code from your phone" in html
    secret = secret_on(html)
    token = csrf_from(client, f"/t/{tenant_a.slug}/login/two-factor-setup")
    wrong = client.post(
        f"/t/{tenant_a.slug}/login/two-factor-setup?lang=en",
        data={"code": wrong_code(secret, clock.now), "csrf_token": token},
    )
    assert wrong.status_code == 422 and "not right" in wrong.text
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302
    done = client.post(
        f"/t/{tenant_a.slug}/login/two-factor-setup?lang=en",
        data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": token},
    )
    assert done.status_code == 200 and len(recovery_codes_on(done.text)) == 10
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    assert _events(app, tenant_a.slug, "user.sign_in")[-1].diff["method"] == (
        "password+totp_enrolment"
    )
    # tenant B does not require it
    assert web_login(app.test_client(), tenant_b).location.endswith(f"/t/{tenant_b.slug}/")


def test_signed_in_staff_are_sent_to_enrol_when_the_firm_starts_requiring_it(
    app: Flask, client, tenant_a
) -> None:
    clock = Clock(app)
    web_login(client, tenant_a)
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    _require(app, tenant_a.slug)
    page = client.get(f"/t/{tenant_a.slug}/admin/users")
    assert page.status_code == 302 and page.location.endswith("/account/two-factor")
    fragment = client.get(f"/t/{tenant_a.slug}/admin/users", headers={"HX-Request": "true"})
    assert fragment.status_code == 204
    assert fragment.headers["HX-Redirect"].endswith("/account/two-factor")
    landing = client.get(f"/t/{tenant_a.slug}/account/two-factor").text
    assert "贵机构要求使用两步验证，请先完成设置再继续。" in landing  # flashed in Chinese
    enrol(client, tenant_a, clock)
    assert client.get(f"/t/{tenant_a.slug}/admin/users").status_code == 200


# --- turning it off, new recovery codes, the admin's reset ---------------------------------


def test_turning_it_off_needs_the_password_and_a_current_code(app, client, tenant_a) -> None:
    clock = Clock(app)
    web_login(client, tenant_a)
    enrolled = enrol(client, tenant_a, clock)
    clock.advance(30)
    url = f"/t/{tenant_a.slug}/account/two-factor/disable?lang=en"
    token = csrf_from(client, f"/t/{tenant_a.slug}/account")
    code = enrolled.code(clock.now)
    for data, field, message in (
        ({"password": "Wrong-pass-123", "code": code}, "password", "This is not your password."),
        (
            {"password": tenant_a.admin_password, "code": enrolled.wrong_code(clock.now)},
            "code",
            "not right",
        ),
        ({"password": tenant_a.admin_password, "code": enrolled.code(T0)}, "code", "already"),
    ):
        refused = client.post(url, data={**data, "csrf_token": token})
        assert refused.status_code == 422 and message in refused.text, field
        assert f'id="f-disable-{field}-error"' in refused.text
        assert _user(app, tenant_a.slug, tenant_a.admin_email).two_factor_enabled
    assert len(_events(app, tenant_a.slug, "user.two_factor_disable_failed")) == 3
    done = client.post(
        url, data={"password": tenant_a.admin_password, "code": code, "csrf_token": token}
    )
    assert done.status_code == 302
    user = _user(app, tenant_a.slug, tenant_a.admin_email)
    assert (user.totp_secret_enc, user.totp_enabled_at, user.totp_last_step) == (None,) * 3
    with use(_ref(app, tenant_a.slug)), app.extensions["loandesk"].db.transaction() as s:
        assert s.scalars(select(RecoveryCode)).all() == []
    assert _events(app, tenant_a.slug, "user.two_factor_disabled")
    fresh = app.test_client()
    assert password_step(fresh, tenant_a).location.endswith(f"/t/{tenant_a.slug}/")


def test_new_recovery_codes_replace_the_old_ones(app: Flask, client, tenant_a) -> None:
    clock = Clock(app)
    web_login(client, tenant_a)
    enrolled = enrol(client, tenant_a, clock)
    url = f"/t/{tenant_a.slug}/account/two-factor/recovery-codes?lang=en"
    token = csrf_from(client, f"/t/{tenant_a.slug}/account")
    refused = client.post(url, data={"code": "", "csrf_token": token})
    assert refused.status_code == 422 and 'id="f-regenerate-code-error"' in refused.text
    done = client.post(url, data={"code": enrolled.recovery_codes[0], "csrf_token": token})
    new = recovery_codes_on(done.text)
    assert (
        done.status_code == 200 and len(new) == 10 and not set(new) & set(enrolled.recovery_codes)
    )
    assert _events(app, tenant_a.slug, "user.recovery_codes_regenerated")
    client.post(f"/t/{tenant_a.slug}/logout", data={"csrf_token": token})
    password_step(client, tenant_a)
    old = code_step(client, tenant_a, enrolled.recovery_codes[1])
    assert old.status_code == 401
    assert code_step(client, tenant_a, new[0]).status_code == 302


def test_an_admin_resets_a_users_two_factor_on_the_web(app: Flask, client, tenant_a, api_a):
    clock = Clock(app)
    created = api_a.post(
        "/users",
        json={"email": "li@a.cn", "display_name": "李信审", "password": "Credit-officer-1"},
    ).get_json()
    li = app.test_client()
    password_step(li, tenant_a, "li@a.cn", "Credit-officer-1")
    enrol(li, tenant_a, clock)
    assert li.get(f"/t/{tenant_a.slug}/").status_code == 200

    web_login(client, tenant_a)
    edit = f"/t/{tenant_a.slug}/admin/users/{created['id']}"
    assert "Reset two-factor sign-in" in client.get(edit + "?lang=en").text
    reset = client.post(
        f"{edit}/two-factor/reset?lang=en", data={"csrf_token": csrf_from(client, edit)}
    )
    assert reset.status_code == 302
    assert "is reset" in client.get(reset.location + "?lang=en").text
    assert not _user(app, tenant_a.slug, "li@a.cn").two_factor_enabled
    assert li.get(f"/t/{tenant_a.slug}/").status_code == 302  # signed out
    event = _events(app, tenant_a.slug, "user.two_factor_reset")[-1]
    assert event.diff == {"email": "li@a.cn", "was_enabled": True}
    assert event.actor_id == tenant_a.admin_user_id
    # nothing left to reset; and one's own is turned off on one's account page
    again = client.post(
        f"{edit}/two-factor/reset?lang=en", data={"csrf_token": csrf_from(client, edit)}
    )
    assert "no two-factor sign-in to reset" in client.get(again.location + "?lang=en").text
    enrol(client, tenant_a, clock)
    own = f"/t/{tenant_a.slug}/admin/users/{tenant_a.admin_user_id}"
    refused = client.post(
        f"{own}/two-factor/reset?lang=en", data={"csrf_token": csrf_from(client, own)}
    )
    assert "on your account page" in client.get(refused.location + "?lang=en").text
    assert _user(app, tenant_a.slug, tenant_a.admin_email).two_factor_enabled


def test_the_api_resets_two_factor_and_shows_who_has_it(app: Flask, client, tenant_a, api_a):
    clock = Clock(app)
    web_login(client, tenant_a)
    assert api_a.get(f"/users/{tenant_a.admin_user_id}").get_json()["two_factor_enabled"] is False
    none_yet = api_a.delete(f"/users/{tenant_a.admin_user_id}/two-factor")
    assert none_yet.status_code == 409 and none_yet.get_json()["code"] == "conflict"
    enrol(client, tenant_a, clock)
    listed = api_a.get("/users").get_json()["items"]
    assert [u["two_factor_enabled"] for u in listed] == [True]
    done = api_a.delete(f"/users/{tenant_a.admin_user_id}/two-factor")
    assert done.status_code == 200 and done.get_json()["two_factor_enabled"] is False
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 302  # their sessions ended
    assert _events(app, tenant_a.slug, "user.two_factor_reset")[-1].actor_kind == "api_client"
    assert api_a.delete("/users/0190a8e4-0000-7000-8000-000000000000/two-factor").status_code == 404


def test_the_shell_resets_a_users_two_factor_and_sets_the_requirement(app, client, tenant_a):
    clock = Clock(app)
    web_login(client, tenant_a)
    enrol(client, tenant_a, clock)
    runner = app.test_cli_runner()
    done = runner.invoke(
        cli, ["user", "reset-two-factor", "--tenant", tenant_a.slug, tenant_a.admin_email]
    )
    assert done.exit_code == 0, done.output
    assert not _user(app, tenant_a.slug, tenant_a.admin_email).two_factor_enabled
    missing = runner.invoke(
        cli, ["user", "reset-two-factor", "--tenant", tenant_a.slug, "nobody@a.cn"]
    )
    assert missing.exit_code != 0 and "No such user." in missing.output
    required = runner.invoke(
        cli, ["tenant", "set-two-factor", "--slug", tenant_a.slug, "--require"]
    )
    assert required.exit_code == 0, required.output
    assert _ref(app, tenant_a.slug).require_two_factor is True
    assert _events(app, tenant_a.slug, "tenant.require_two_factor")[-1].diff == {
        "require_two_factor": [False, True]
    }


def test_a_reset_between_the_password_and_the_code_restarts_the_sign_in(
    app: Flask, client, tenant_a, api_a
) -> None:
    clock, enrolled = _enrolled_admin(app, client, tenant_a)
    password_step(client, tenant_a)
    assert api_a.delete(f"/users/{tenant_a.admin_user_id}/two-factor").status_code == 200
    back = client.get(f"/t/{tenant_a.slug}/login/code")
    assert back.status_code == 302 and back.location.endswith("/login")
    # where the firm requires it, the reset user goes on to set it up again instead
    _require(app, tenant_a.slug)
    setup = f"/t/{tenant_a.slug}/login/two-factor-setup"
    assert password_step(client, tenant_a).location.endswith(setup)
    secret = secret_on(client.get(setup).text)
    clock.advance(30)
    done = client.post(
        setup,
        data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": csrf_from(client, setup)},
    )
    assert done.status_code == 200 and recovery_codes_on(done.text)
    other = app.test_client()
    assert password_step(other, tenant_a).location.endswith("/login/code")
    api_a.delete(f"/users/{tenant_a.admin_user_id}/two-factor")
    again = other.get(f"/t/{tenant_a.slug}/login/code")
    assert again.status_code == 302 and again.location.endswith(setup)
    assert other.get(setup).status_code == 200
    assert enrolled.secret != secret
