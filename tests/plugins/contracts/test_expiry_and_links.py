"""A sent contract not signed by its last day expires (the daily job), its borrower is
reminded before that once; the borrower's link refuses tampering, expiry and withdrawal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from loandesk import sdk
from tests.plugins.contracts.conftest import Office


def _run(office: Office, work: Any) -> Any:
    with office.app.test_request_context(), office.session() as session:
        return work(session)


def test_reminders_go_once_before_expiry_and_the_contract_then_expires(office: Office) -> None:
    from loandesk_contracts import signing

    contract, link = office.sent_contract()
    last_day = dt.date.fromisoformat(contract["expires_on"])
    texted = len(office.outbox())

    assert _run(office, lambda s: signing.remind_due(s, last_day - dt.timedelta(days=3))) == []
    reminded = _run(office, lambda s: signing.remind_due(s, last_day - dt.timedelta(days=2)))
    assert [str(r) for r in reminded] == [contract["id"]]
    assert _run(office, lambda s: signing.remind_due(s, last_day - dt.timedelta(days=1))) == []
    bodies = office.outbox()[texted:]
    assert len(bodies) == 1 and "提醒" in bodies[0] and contract["number"] in bodies[0]

    assert _run(office, lambda s: signing.expire_due(s, last_day)) == []  # still its last day
    expired = _run(office, lambda s: signing.expire_due(s, last_day + dt.timedelta(days=1)))
    assert [str(e) for e in expired] == [contract["id"]]
    after = office.api.get(f"/contracts/{contract['id']}").get_json()
    assert after["status"] == "expired" and after["expired_at"]
    assert office.app.test_client().get(link).status_code == 404
    assert office.api.post(f"/contracts/{contract['id']}/send").status_code == 409
    assert (
        office.api.post(
            f"/contracts/{contract['id']}/void", json={"reason": "过期未签"}
        ).status_code
        == 200
    )


def test_the_daily_job_is_declared_for_the_tenants_morning(office: Office) -> None:
    host = office.app.extensions["loandesk.plugins"]
    schedules = {s.name: s for s in host.contributions["contracts"].schedules}
    assert schedules["contracts.daily"].job == "contracts.expire_and_remind"


def test_a_changed_or_expired_link_is_refused(office: Office) -> None:
    from loandesk_contracts import links, service

    contract, link = office.sent_contract()
    phone = office.app.test_client()
    token = link.rsplit("/", 1)[1]
    assert phone.get(link).status_code == 200
    changed = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert phone.get(link.replace(token, changed)).status_code == 404

    def tokens(session: Any) -> tuple[str, str, str]:
        row = service.get_contract(session, contract["id"])
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=61)
        stale = links.token_for(row, days=60, now=old)
        fresh = links.token_for(row, days=60)
        other = sdk.sign_link("someone.else", [str(row.id), row.link_nonce, 2_000_000_000])
        return stale, fresh, other

    stale, fresh, other = _run(office, tokens)
    base = link.replace(token, "")
    assert phone.get(base + stale).status_code == 404  # expired
    assert phone.get(base + fresh).status_code == 200
    assert phone.get(base + other).status_code == 404  # signed for another purpose


def test_wrong_links_are_rate_limited(office: Office) -> None:
    _, link = office.sent_contract()
    phone = office.app.test_client()
    answers = [phone.get(link + "x").status_code for _ in range(12)]
    assert answers[0] == 404 and 429 in answers


def test_the_daily_job_runs_outside_a_request(office: Office) -> None:
    """Today nothing is due: the contract sent today stays sent and nobody is texted."""
    from loandesk_contracts import jobs

    contract, _ = office.sent_contract()
    texted = len(office.outbox())
    with office.app.app_context(), office.session() as session:
        context = sdk.JobContext(
            job_id="t", attempt=1, tenant=sdk.current(), session=session,
            progress=lambda done, total: None,
        )  # fmt: skip
        jobs.expire_and_remind(context)
    assert office.api.get(f"/contracts/{contract['id']}").get_json()["status"] == "sent"
    assert len(office.outbox()) == texted
