"""The ``webhook`` action (issue 7): a rule POSTs the record as signed JSON to a real receiver
on 127.0.0.1 (this installation allows http and private addresses, as a private install
would). Each firing is delivered once — a second runner pass or a redelivered event sends
nothing more; a receiver that fails is retried with the engine's backoff until it answers
2xx, and one that keeps failing leaves a failed run with its status and the start of its
answer, never the secret. Bad URLs and private addresses are refused when the rule is saved
(where the installation does not allow them), at ``actions.N.url``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from loandesk.settings import Settings
from tests.platform.automations.conftest import deliver_and_run, run_job, save_rule
from tests.platform.automations.receiver import Receiver, receiver
from tests.platform.flows.api_helpers import ok, staff
from tests.platform.flows.conftest import Desk

MOBILE = {"key": "backup_mobile", "kind": "mobile", "label_zh": "备用手机", "label_en": "Backup"}


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Webhooks to http and 127.0.0.1 allowed, unless a test asks ``False``; a 1 s timeout."""
    allowed = getattr(request, "param", True)
    return settings.replace(
        webhook_allow_http=allowed,
        webhook_allow_private=allowed,
        webhook_timeout=timedelta(seconds=1),
    )


@pytest.fixture
def hook(shop: Desk) -> Any:
    with receiver() as found:
        found.secret = secret(shop)
        yield found


def secret(desk: Desk) -> str:
    from loandesk import pii
    from loandesk.automations import signing

    with desk.session() as session:
        return signing.current(session, pii.for_current_tenant()).value


def rule(url: str, name: str = "提交后通知核心系统") -> dict[str, Any]:
    return {
        "name": name,
        "trigger": {"kind": "event", "event": "application.submitted"},
        "actions": [{"type": "webhook", "url": url}],
    }


def firings(desk: Desk) -> list[Any]:
    from loandesk.automations.models import RuleFiring

    with desk.session() as session:
        return list(session.scalars(select(RuleFiring).order_by(RuleFiring.created_at)))


def run_at(desk: Desk, moment: Any) -> int:
    from loandesk.automations import engine
    from loandesk.plugins import runtime

    with desk.session() as session:
        types = {t.key: t for t in runtime.record_types()}
        return engine.run_pending(session, types, runtime.automation_actions(), now=moment)


def test_a_firing_posts_the_signed_record_once(shop: Desk, hook: Receiver, api_a: Any) -> None:
    from loandesk.events import OutboxEvent

    assert api_a.post("/record-types/application/fields", json=MOBILE).status_code == 201
    assert api_a.post("/record-types/application/form/publish", json={}).status_code == 201
    save_rule(shop, rule(hook.url))
    application, _instance = shop.submit("80000", backup_mobile="13800138000")
    deliver_and_run(shop)

    [delivery] = hook.deliveries
    assert delivery.signed and delivery.path == "/hooks/loandesk"
    [firing] = firings(shop)
    assert (firing.state, firing.results) == ("done", [{"action": 0, "status": 200}])
    assert delivery.headers["Idempotency-Key"] == f"{firing.id}:0"
    assert delivery.headers["Content-Type"] == "application/json; charset=utf-8"
    body = delivery.data
    assert body["rule"]["name"] == "提交后通知核心系统"
    assert (body["record_type"], body["record_id"]) == ("application", application)
    assert (body["event"], body["occurrence"]) == ("application.submitted", firing.occurrence)
    assert body["tenant"]["slug"] == shop.firm.tenant.slug
    assert body["fields"]["amount"] == "80000.00" and body["fields"]["term_months"] == 12
    assert "backup_mobile" not in body["fields"]  # personal data stays home
    assert "13800138000" not in delivery.body.decode()

    # the event delivered again and the runner run twice more: nothing is sent again
    with shop.session() as session:
        for event in session.scalars(select(OutboxEvent)):
            event.delivered_at = None
    deliver_and_run(shop)
    run_job(shop, "core.run_firings")
    assert len(hook.deliveries) == 1 and len(firings(shop)) == 1


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    shop: Desk, hook: Receiver
) -> None:
    from loandesk.automations import engine
    from loandesk.db import utcnow

    hook.answers = [503, 500]
    save_rule(shop, rule(hook.url))
    shop.submit("80000")
    deliver_and_run(shop)
    [firing] = firings(shop)
    assert (firing.state, firing.attempts) == ("pending", 1)
    assert firing.last_error == "DeliveryFailed: HTTP 503: answer 503"

    start = utcnow()
    assert run_at(shop, start + timedelta(seconds=engine.BACKOFF[0] - 5)) == 0  # not due yet
    assert len(hook.deliveries) == 1
    assert run_at(shop, start + timedelta(seconds=engine.BACKOFF[0] + 1)) == 0
    assert firings(shop)[0].last_error == "DeliveryFailed: HTTP 500: answer 500"
    assert run_at(shop, start + timedelta(seconds=engine.BACKOFF[0] + engine.BACKOFF[1] + 2)) == 1
    [firing] = firings(shop)
    assert (firing.state, firing.attempts, firing.results) == (
        "done", 2, [{"action": 0, "status": 200}],
    )  # fmt: skip
    assert [d.signed for d in hook.deliveries] == [True, True, True]
    assert len({d.headers["Idempotency-Key"] for d in hook.deliveries}) == 1
    assert run_at(shop, start + timedelta(days=1)) == 0 and len(hook.deliveries) == 3


def test_a_receiver_that_keeps_failing_leaves_a_failed_run(shop: Desk, hook: Receiver) -> None:
    from loandesk.audit.models import AuditEvent
    from loandesk.automations import engine
    from loandesk.db import utcnow

    hook.secret = "whsec_not-the-tenants"  # a receiver set up with a wrong secret refuses
    save_rule(shop, rule(hook.url))
    shop.submit("80000")
    deliver_and_run(shop)
    start = utcnow()
    for attempt in range(2, engine.MAX_ATTEMPTS + 1):
        run_at(shop, start + timedelta(days=attempt))
    [firing] = firings(shop)
    assert (firing.state, firing.attempts) == ("failed", engine.MAX_ATTEMPTS)
    assert firing.last_error == "DeliveryFailed: HTTP 401: bad signature"
    assert len(hook.deliveries) == engine.MAX_ATTEMPTS
    tenant_secret = secret(shop)
    with shop.session() as session:
        diffs = [str(d) for d in session.scalars(select(AuditEvent.diff))]
    assert "automation.failed" in _actions(shop)
    assert not any(
        tenant_secret in text for text in [*diffs, firing.last_error, str(firing.results)]
    )


def test_no_answer_within_the_timeout_is_a_failure(shop: Desk, hook: Receiver) -> None:
    hook.delay = 3
    save_rule(shop, rule(hook.url))
    shop.submit("80000")
    deliver_and_run(shop)
    [firing] = firings(shop)
    assert (firing.state, firing.attempts) == ("pending", 1)
    assert firing.last_error == "DeliveryFailed: no answer from 127.0.0.1 within 1 s"


def _actions(desk: Desk) -> list[str]:
    from loandesk.audit.models import AuditEvent

    with desk.session() as session:
        return list(session.scalars(select(AuditEvent.action)))


HTTPS_ONLY = "Use https: this installation sends webhooks over https only."
NOT_A_URL = "Enter a URL such as https://hooks.example.cn/loandesk."
NO_PASSWORD = "Leave user names and passwords out of the URL: requests are signed instead."
PRIVATE = (
    "This address is inside a private network; this installation sends webhooks to public "
    "addresses only."
)
PRIVATE_HOSTS = (
    "127.0.0.1", "localhost", "10.1.2.3", "192.168.0.8", "169.254.169.254", "[::1]",
    "[::ffff:10.0.0.1]", "0.0.0.0",  # noqa: S104  (an address refused, not bound)
)  # fmt: skip


@pytest.mark.parametrize("settings", [False], indirect=True)
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://hooks.example.cn/in", HTTPS_ONLY),
        ("ftp://hooks.example.cn/in", NOT_A_URL),
        ("https://", NOT_A_URL),
        ("https://ops:pw@hooks.example.cn/in", NO_PASSWORD),
        ("", "Enter the receiver's URL."),
        *[(f"https://{host}/in", PRIVATE) for host in PRIVATE_HOSTS],
    ],
)
def test_bad_urls_and_private_addresses_are_refused_when_saved(
    shop: Desk, url: str, problem: str
) -> None:
    admin = staff(shop, "admin", ("automations:read", "automations:write"))
    refused = admin.post(
        "/automations",
        json={"record_type": "application", **rule(url)},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"actions.0.url": [problem]}


@pytest.mark.parametrize("settings", [False], indirect=True)
def test_a_public_https_url_is_accepted_and_extra_parameters_are_not(shop: Desk) -> None:
    admin = staff(shop, "admin", ("automations:read", "automations:write"))
    saved = {"record_type": "application", **rule("https://hooks.example.cn:8443/in?via=loandesk")}
    ok(admin.post("/automations", json=saved), 201)
    extra = rule("https://1.2.3.4/in", "带请求头")
    extra["actions"][0]["headers"] = {"Authorization": "Bearer x"}
    refused = admin.post("/automations", json={"record_type": "application", **extra})
    assert refused.get_json()["errors"] == {"actions.0.headers": ["A webhook takes only its URL."]}


def test_the_dry_run_shows_the_body_and_sends_nothing(shop: Desk, hook: Receiver) -> None:
    admin = staff(shop, "admin", ("automations:read", "automations:write", "records:read"))
    saved = ok(
        admin.post("/automations", json={"record_type": "application", **rule(hook.url)}), 201
    )
    application, _instance = shop.submit("80000")
    preview = ok(
        admin.post(
            f"/automations/{saved['id']}/dry-run",
            json={"record_id": application},
            headers={"Accept-Language": "en"},
        )
    )
    [action] = preview["actions"]
    assert action["would"] == (
        f"POST this body to {hook.url}, signed with the tenant's webhook secret."
    )
    assert action["body"]["record_id"] == application
    assert action["body"]["fields"]["amount"] == "80000.00"
    assert hook.deliveries == []


def test_a_new_secret_signs_the_next_requests(shop: Desk, hook: Receiver) -> None:
    from loandesk import pii
    from loandesk.automations import signing

    save_rule(shop, rule(hook.url))
    with shop.session() as session:
        new = signing.rotate(session, pii.for_current_tenant(), user_id=None).value
    assert new != hook.secret and new.startswith("whsec_")
    hook.secret = new
    shop.submit("80000")
    deliver_and_run(shop)
    assert [d.signed for d in hook.deliveries] == [True]
    assert "automation.webhook_secret.rotate" in _actions(shop)


def test_the_secret_is_per_tenant_and_stored_encrypted(shop: Desk, tenant_b: Any, app: Any) -> None:
    from loandesk import pii
    from loandesk.automations import signing
    from loandesk.automations.models import WebhookSecret
    from loandesk.tenancy import service, use

    mine = secret(shop)
    with app.app_context():
        session = app.extensions["loandesk"].db.session()
        with use(service.get_by_slug(session, tenant_b.slug).ref()):
            theirs = signing.current(session, pii.for_current_tenant()).value
            session.commit()
        app.extensions["loandesk"].db.session.remove()
    assert mine != theirs
    with shop.session() as session:
        [stored] = session.scalars(select(WebhookSecret)).all()
        assert stored.secret.startswith("pd1:") and mine not in stored.secret
        assert signing.current(session, pii.for_current_tenant()).value == mine  # kept
        assert stored.tenant_id == uuid.UUID(shop.firm.tenant.id)


def _certificate(folder: Any) -> tuple[str, str]:
    """A self-signed certificate for ``localhost``: (certificate file, key file)."""
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def test_https_checks_the_receivers_name_though_it_connects_to_the_address(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    from loandesk.automations import outbound

    cert_file, key_file = _certificate(tmp_path)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_file, key_file)
    policy = outbound.Policy(allow_private=True, timeout=2)
    with receiver(tls=server_side) as hook:
        with pytest.raises(outbound.DeliveryFailed, match="cannot reach localhost: SSLError"):
            outbound.post(hook.url, b"{}", {}, policy)  # its certificate is not trusted
        monkeypatch.setenv("SSL_CERT_FILE", cert_file)
        answer = outbound.post(hook.url, b"{}", {}, policy)
        assert answer.status == 401  # reached (unsigned, so refused)
        [delivery] = hook.deliveries
        assert delivery.headers["Host"] == hook.url.split("/")[2]
        by_address = hook.url.replace("localhost", "127.0.0.1")
        with pytest.raises(outbound.DeliveryFailed, match="SSLError"):  # not the name it has
            outbound.post(by_address, b"{}", {}, policy)
