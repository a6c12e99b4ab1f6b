"""The SMTP client, without Flask or the database: one e-mail built and sent over one
connection, and the server's answers sorted into "try again later" and "never".

The connection is encrypted unless the tenant chose ``none`` for a relay on the same machine:
``ssl`` speaks TLS from the first byte, ``starttls`` upgrades before anything else is said (a
server that does not offer STARTTLS is an error, never a reason to go on in the clear). The
certificate is verified against the system's trusted authorities (``SSL_CERT_FILE`` and
``SSL_CERT_DIR`` add others) and must name the host. smtplib's debug output (which would
print the login) is never turned on.

Errors: a 5xx answer to the recipient (``RCPT TO``) or to the message (``DATA``) is about this
e-mail and is permanent (``Refused``: not tried again). Everything else raises ``SmtpError``
and the outbox tries again later: 4xx answers, no answer within the timeout, no connection,
a TLS failure, and the firm's own configuration refused (login 535, sender 5xx): an admin who
corrects the settings sees the waiting messages go. Error texts hold the server's code and
the start of its answer, never the password."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

# 7-bit clean on the wire (UTF-8 text as base64 or quoted-printable), so no server needs
# 8BITMIME; CRLF line ends as SMTP wants.
POLICY = SMTP_POLICY.clone(cte_type="7bit")


class SmtpError(Exception):
    """The e-mail did not go; trying again later may help."""


class Refused(SmtpError):
    """The server refused this e-mail for good (its recipient or its content)."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    security: str  # starttls, ssl or none
    username: str
    password: str
    timeout: float


@dataclass(frozen=True)
class Letter:
    """One e-mail as it is sent: every header value already in its final form."""

    sender_address: str
    sender_name: str
    to: str
    subject: str
    body: str
    message_id: str
    date: datetime
    reply_to: str = ""


def message_id(key: str, scope: str, sender_address: str) -> str:
    """A Message-ID that is the same on every attempt of the message ``key`` of ``scope`` (the
    tenant), so that a retry is recognisable, on the sender's domain; the key itself is not
    shown (a hash of it)."""
    digest = hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()[:40]
    domain = sender_address.rpartition("@")[2] or "loandesk.invalid"
    return f"<ld.{digest}@{domain}>"


def build(letter: Letter) -> EmailMessage:
    """The message: UTF-8 text/plain, the display name and subject encoded as RFC 2047 words
    where they are not ASCII. ``Refused`` for a recipient that is not a valid address."""
    try:
        to = Address(addr_spec=letter.to)
    except (ValueError, IndexError, HeaderParseError):  # what the address parser raises
        raise Refused("the recipient's address is not a valid e-mail address") from None
    if not to.addr_spec.isascii():
        raise Refused("the recipient's address is not plain ASCII (SMTPUTF8 is not used)")
    message = EmailMessage(policy=POLICY)
    message["From"] = Address(display_name=letter.sender_name, addr_spec=letter.sender_address)
    message["To"] = to
    if letter.reply_to:
        message["Reply-To"] = Address(addr_spec=letter.reply_to)
    message["Subject"] = letter.subject
    message["Date"] = format_datetime(letter.date)
    message["Message-ID"] = letter.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    message.set_content(letter.body, subtype="plain", charset="utf-8")
    return message


def send(server: Server, letter: Letter) -> str:
    """Send ``letter``; the server's answer to the message (its queue id, usually).
    ``Refused`` when it refuses the e-mail for good, ``SmtpError`` otherwise."""
    message = build(letter)
    payload = message.as_bytes(policy=POLICY)
    return _guarded(
        server, lambda: _exchange(server, letter.sender_address, message["To"].addresses[0],
                                  payload)
    )  # fmt: skip


def check(server: Server) -> str:
    """The connectors page's test: connect, ``EHLO``, STARTTLS, the login, ``NOOP`` and
    ``QUIT``, sending nothing; the server's answer to ``NOOP``. ``SmtpError`` otherwise."""

    def talk() -> str:
        client = _connect(server)
        try:
            _hello(client, server)
            code, answer = client.noop()
        except BaseException:
            client.close()
            raise
        _quit(client)
        if code != 250:
            raise SmtpError(_said("NOOP", code, answer))
        return f"login and NOOP accepted: {code} {_text(answer)}"[:200]

    return _guarded(server, talk)


def _guarded(server: Server, talk: Callable[[], str]) -> str:
    """``talk()`` with every failure turned into an ``SmtpError`` with a clear text."""
    try:
        return talk()
    except SmtpError:
        raise
    except smtplib.SMTPAuthenticationError as problem:
        raise SmtpError(_said("the login", problem.smtp_code, problem.smtp_error)) from None
    except smtplib.SMTPDataError as problem:  # DATA itself refused (before the message)
        raise _sorted("the message", problem.smtp_code, problem.smtp_error) from None
    except smtplib.SMTPNotSupportedError:
        raise SmtpError("the server does not offer STARTTLS; nothing was sent") from None
    except smtplib.SMTPResponseException as problem:
        raise SmtpError(_said("the server", problem.smtp_code, problem.smtp_error)) from None
    except ssl.SSLCertVerificationError as problem:
        raise SmtpError(
            f"TLS: the server's certificate is not accepted ({problem.verify_message})"
        ) from None
    except ssl.SSLError as problem:
        raise SmtpError(f"TLS failed ({problem.reason or type(problem).__name__})") from None
    except TimeoutError:
        raise SmtpError(f"no answer within {server.timeout:g} s") from None
    except smtplib.SMTPServerDisconnected as problem:  # smtplib's word for a read timing out too
        if isinstance(problem.__context__, TimeoutError):
            raise SmtpError(f"no answer within {server.timeout:g} s") from None
        raise SmtpError("the server closed the connection") from None
    except smtplib.SMTPException as problem:  # smtplib's own texts ("no AUTH offered", ...)
        raise SmtpError(f"SMTP failed: {problem}") from None
    except OSError as problem:
        raise SmtpError(f"the SMTP server cannot be reached ({type(problem).__name__})") from None


def _exchange(server: Server, sender: str, to: Address, payload: bytes) -> str:
    client = _connect(server)
    try:
        answer = _conversation(client, server, sender, to, payload)
    except SmtpError:  # the server answered: say goodbye properly
        _quit(client)
        raise
    except BaseException:
        client.close()  # no QUIT: the server may be the one not answering
        raise
    _quit(client)
    return answer


def _conversation(
    client: smtplib.SMTP, server: Server, sender: str, to: Address, payload: bytes
) -> str:
    _hello(client, server)
    code, answer = client.mail(sender)
    if code != 250:
        raise SmtpError(_said("the sender", code, answer))
    code, answer = client.rcpt(to.addr_spec)
    if code not in (250, 251):
        raise _sorted("the recipient", code, answer)
    code, answer = client.data(payload)
    if code != 250:
        raise _sorted("the message", code, answer)
    return _text(answer)[:200]


def _quit(client: smtplib.SMTP) -> None:
    # Once the server has taken the message, a QUIT that goes wrong must not make it look
    # unsent (it would be sent again).
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _connect(server: Server) -> smtplib.SMTP:
    if server.security == "ssl":
        return smtplib.SMTP_SSL(
            server.host, server.port, timeout=server.timeout, context=ssl.create_default_context()
        )
    return smtplib.SMTP(server.host, server.port, timeout=server.timeout)


def _hello(client: smtplib.SMTP, server: Server) -> None:
    client.ehlo()
    if server.security == "starttls":
        client.starttls(context=ssl.create_default_context())  # SMTPNotSupportedError if absent
        client.ehlo()
    if server.username:
        _login(client, server)


def _login(client: smtplib.SMTP, server: Server) -> None:
    # One attempt with one mechanism (smtplib's login() tries each the server offers in turn:
    # a wrong password would count as several failures towards the account's lock-out).
    offered = client.esmtp_features.get("auth", "").upper().split()
    mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
    if mechanism is None:
        raise SmtpError("the server offers no login by AUTH PLAIN or LOGIN; nothing was sent")
    client.user, client.password = server.username, server.password
    client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))


def _sorted(what: str, code: int, answer: bytes | str) -> SmtpError:
    text = _said(what, code, answer)
    return Refused(text) if 500 <= code < 600 else SmtpError(text)


def _said(what: str, code: int, answer: bytes | str) -> str:
    return f"SMTP {code} to {what}: {_text(answer)[:300]}"


def _text(answer: bytes | str) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
    return " ".join(text.split())
