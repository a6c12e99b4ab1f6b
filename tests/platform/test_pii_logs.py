"""No personal data in application logs: the one filter that ``create_app`` installs masks ID
numbers, mobile numbers, bank cards and e-mail local parts in messages, arguments and
tracebacks, whichever logger a record comes from."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from loandesk.app import create_app
from loandesk.pii.logfilter import PersonalDataFilter, scrub
from loandesk.settings import Settings

ID_NUMBER = "11010519491231002X"
MOBILE = "13800138000"
CARD = "6222021001123456789"
EMAIL = "zhang.san@example.cn"


@pytest.fixture
def root_output() -> Iterator[io.StringIO]:
    """A handler on the root logger, as a deployment's logging config would add one, present
    before the app is created."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def logging_app(settings: Settings, root_output: io.StringIO) -> Iterator[Flask]:
    app = create_app(settings)
    try:
        yield app
    finally:
        app.extensions["loandesk"].db.dispose()


def _assert_clean(text: str) -> None:
    for secret in (ID_NUMBER, MOBILE, CARD, "zhang.san", "1380013"):
        assert secret not in text, f"{secret!r} reached the log:\n{text}"


def test_scrub_masks_each_kind_and_leaves_other_numbers_alone() -> None:
    line = (
        f"id={ID_NUMBER} id_lower={ID_NUMBER.lower()} tel=+86 138-0013-8000 tel2={MOBILE} "
        f"card=6222 0210 0112 3456 789 visa=4111111111111111 mail={EMAIL} "
        "ts=1764355200000 amount=12345.67 order=20261128000123 uuid=0190d3c2-7b4e-7a1c-9d2e-"
        "3f4a5b6c7d8e not_a_card=6222021001123456780"
    )
    masked = scrub(line)
    assert "id=110***********002X" in masked
    assert "id_lower=110***********002X" in masked
    assert "tel=138****8000" in masked and "tel2=138****8000" in masked
    assert "card=6222 **** **** 6789" in masked and "visa=4111 **** **** 1111" in masked
    assert "mail=z***@example.cn" in masked
    # what only looks like personal data stays readable: timestamps, amounts, ids, bad cards
    for kept in (
        "ts=1764355200000",
        "amount=12345.67",
        "order=20261128000123",
        "uuid=0190d3c2-7b4e-7a1c-9d2e-3f4a5b6c7d8e",
        "not_a_card=6222021001123456780",
    ):
        assert kept in masked
    assert scrub(masked) == masked  # masking twice changes nothing


def test_app_child_and_third_party_loggers_are_masked(
    logging_app: Flask, root_output: io.StringIO
) -> None:
    logging_app.logger.warning("sign-in failed for %s from %s", EMAIL, MOBILE)
    logging.getLogger("loandesk.privacy").info("looked up %(id)s", {"id": ID_NUMBER})
    logging.getLogger("some.library").error("card %s declined", int(CARD))  # a number, not text
    logging.getLogger("werkzeug").info('"GET /x?mobile=%s HTTP/1.1" 200 -', MOBILE)
    text = root_output.getvalue()
    _assert_clean(text)
    assert "sign-in failed for z***@example.cn from 138****8000" in text
    assert "looked up 110***********002X" in text
    assert "card 6222 **** **** 6789 declined" in text
    assert "mobile=138****8000" in text


def test_a_formatted_exception_is_masked(logging_app: Flask, root_output: io.StringIO) -> None:
    log = logging.getLogger("loandesk.jobs")
    try:
        raise ValueError(f"no borrower with ID {ID_NUMBER} and mobile {MOBILE}")
    except ValueError:
        log.exception("job failed for card %s", CARD)
    text = root_output.getvalue()
    _assert_clean(text)
    assert "Traceback (most recent call last)" in text
    assert "ValueError: no borrower with ID 110***********002X and mobile 138****8000" in text


def test_an_unhandled_error_in_a_view_is_logged_masked(
    settings: Settings, root_output: io.StringIO
) -> None:
    app = create_app(settings)
    try:

        @app.get("/boom")
        def boom() -> str:
            raise RuntimeError(f"lookup of {ID_NUMBER} / {MOBILE} failed")

        response = app.test_client().get("/boom?mobile=" + MOBILE)
        assert response.status_code == 500
        assert ID_NUMBER not in response.get_data(as_text=True)
        text = root_output.getvalue()
        assert "unhandled error on GET /boom" in text
        assert "RuntimeError: lookup of 110***********002X / 138****8000 failed" in text
        _assert_clean(text)
    finally:
        app.extensions["loandesk"].db.dispose()


def test_caplog_sees_masked_records_and_the_filter_is_installed_once(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(settings)
    other = create_app(settings)
    try:
        assert sum(isinstance(f, PersonalDataFilter) for f in caplog.handler.filters) == 1
        logging.getLogger("loandesk.test").info("call %s", MOBILE)
        assert [r.getMessage() for r in caplog.records] == ["call 138****8000"]
        assert caplog.records[0].args is None
    finally:
        for each in (app, other):
            each.extensions["loandesk"].db.dispose()
