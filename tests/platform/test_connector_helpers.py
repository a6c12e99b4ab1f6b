"""The core's helpers for connector plugins (``loandesk.connectors.helpers``, in ``sdk``):
the access-token cache keeps one token per tenant and app credentials until 5 minutes before
it expires, fetches again after ``forget`` or for a changed secret, masks what it holds, and
serves threads that ask at the same time (each gets a token, one stays held); the urllib3
log filter masks every plugin's query parameters; ``in_locale`` translates outside a
request."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from loandesk import sdk
from tests.helpers import TenantFixture, tenant_session

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


class Provider:
    """Hands out numbered tokens, valid ``expires_in`` seconds; counts the fetches."""

    def __init__(self, delay: float = 0.0) -> None:
        self.fetches, self.delay = 0, delay
        self.lock = threading.Lock()

    def fetch(self) -> tuple[str, int]:
        time.sleep(self.delay)
        with self.lock:
            self.fetches += 1
            return f"token-{self.fetches}", 7200


def test_tokens_are_kept_per_tenant_and_app_until_five_minutes_before_they_expire(
    app: Flask, tenant_a: TenantFixture, tenant_b: TenantFixture
) -> None:
    cache, provider = sdk.TokenCache(), Provider()
    app_key = ("https://api.example.cn", "app-1")
    with tenant_session(app, tenant_a.slug):
        first = cache.token(app_key, "secret-1", provider.fetch, now=NOW)
        assert cache.token(app_key, "secret-1", provider.fetch, now=NOW) == first
        late = NOW + timedelta(seconds=7200) - timedelta(minutes=5)
        assert cache.token(app_key, "secret-1", provider.fetch, now=late - timedelta(seconds=1)) \
            == first  # fmt: skip
        renewed = cache.token(app_key, "secret-1", provider.fetch, now=late)
        assert renewed != first and provider.fetches == 2
        # a changed secret is another app; another app key too
        assert cache.token(app_key, "secret-2", provider.fetch, now=NOW) == "token-3"
        assert cache.token(("https://api.example.cn", "app-2"), "secret-1", provider.fetch,
                           now=NOW) == "token-4"  # fmt: skip
        cache.forget(app_key, "secret-1")
        assert cache.token(app_key, "secret-1", provider.fetch, now=NOW) == "token-5"
        assert cache.mask("errmsg echoes token-5 and token-3") == "errmsg echoes *** and ***"
    with tenant_session(app, tenant_b.slug):  # the same app at another tenant: its own token
        assert cache.token(app_key, "secret-1", provider.fetch, now=NOW) == "token-6"
    assert not any("secret-1" in str(key) for key in cache._tokens)  # only its hash is kept


def test_threads_asking_at_once_all_get_a_token_that_stays_held(
    app: Flask, tenant_a: TenantFixture
) -> None:
    cache, provider = sdk.TokenCache(), Provider(delay=0.05)
    got: list[str] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            with tenant_session(app, tenant_a.slug):
                got.append(cache.token(("u", "k"), "s", provider.fetch, now=NOW))
        except BaseException as problem:  # pragma: no cover - shown by the assertion
            errors.append(problem)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(got) == 8
    fetched = provider.fetches
    with tenant_session(app, tenant_a.slug):  # whichever fetch stored last is what is held
        held = cache.token(("u", "k"), "s", provider.fetch, now=NOW)
    assert held in got and provider.fetches == fetched


def test_query_string_secrets_are_masked_in_urllib3_debug_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sdk.mask_request_logs("appsecret", "access_token")
    sdk.mask_request_logs("corpsecret", "code")  # a second plugin adds its own
    logger = logging.getLogger("urllib3.connectionpool")
    logger.debug('%s "GET %s HTTP/1.1" 200 52', "https://oapi.example.cn:443",
                 "/gettoken?appkey=ding1&appsecret=S3cr3t&x=1")  # fmt: skip
    logger.debug('"GET /cgi-bin/auth/getuserinfo?access_token=T0k&code=C0de HTTP/1.1" 200')
    logger.debug('"GET /cgi-bin/gettoken?corpid=ww1&corpsecret=W3c0m HTTP/1.1" 200')
    text = caplog.text
    for secret in ("S3cr3t", "T0k", "C0de", "W3c0m"):
        assert secret not in text
    assert "appsecret=***&x=1" in text and "access_token=***&code=***" in text
    assert "appkey=ding1" in text and "corpid=ww1" in text  # not secrets: left as they are
    caplog.clear()
    logger.debug("answer errcode=40029 scode=1")  # a longer name that ends in one is no match
    assert "errcode=40029 scode=1" in caplog.text


def test_in_locale_translates_outside_a_request(app: Flask) -> None:
    from flask_babel import gettext

    with app.app_context(), sdk.in_locale("zh_CN"):
        assert gettext("Some fields need attention.") != "Some fields need attention."
    with app.app_context(), sdk.in_locale("en"):
        assert gettext("Some fields need attention.") == "Some fields need attention."
