"""Posting to a receiver a tenant admin named, without letting a rule reach into the network
LoanDesk runs in (SSRF). The URL must be ``https`` (``http`` only where the installation
allows it), name no user or password, and its host must resolve to public addresses only
(loopback, private and link-local ones only where the installation allows them: a private
install whose receivers are on its own network). The request goes to the address that was
checked, so a DNS answer that changes in between cannot move it inside; redirects are not
followed; the answer is awaited ``timeout`` seconds at most and only its start is read."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from loandesk.i18n import N_

MAX_URL = 2000
EXCERPT = 200
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class DeliveryFailed(Exception):
    """The receiver could not be reached, or did not answer in time."""


@dataclass(frozen=True)
class Policy:
    """What the installation allows (``LOANDESK_WEBHOOK_*``)."""

    allow_http: bool = False
    allow_private: bool = False
    timeout: float = 10.0

    @classmethod
    def of_app(cls) -> Policy:
        from loandesk import extension

        settings = extension.get().settings
        return cls(
            settings.webhook_allow_http,
            settings.webhook_allow_private,
            settings.webhook_timeout.total_seconds(),
        )


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: str  # the start of the body, on one line
    content: bytes = b""  # the body as read: its first ``limit`` bytes


def permitted(address: Address, policy: Policy) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_multicast or address.is_unspecified:
        return False
    return address.is_global or policy.allow_private


def resolve(host: str, port: int) -> list[Address]:
    """The addresses ``host`` resolves to (an address given as such: itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))


def url_problem(url: object, policy: Policy, *, lookup: bool = True) -> str | None:
    """Why ``url`` cannot receive webhooks here (a message id), or None. With ``lookup``,
    a host that resolves to an address not permitted is refused too (one that does not
    resolve now is not: it is looked up again for every request)."""
    if not isinstance(url, str) or not url.strip():
        return N_("Enter the receiver's URL.")
    if len(url) > MAX_URL:
        return N_("Use at most 2000 characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return N_("Enter a URL such as https://hooks.example.cn/loandesk.")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return N_("Enter a URL such as https://hooks.example.cn/loandesk.")
    if parts.scheme == "http" and not policy.allow_http:
        return N_("Use https: this installation sends webhooks over https only.")
    if parts.username is not None or parts.password is not None:
        return N_("Leave user names and passwords out of the URL: requests are signed instead.")
    if lookup:
        default = 443 if parts.scheme == "https" else 80
        if not all(permitted(a, policy) for a in resolve(parts.hostname, port or default)):
            return N_(
                "This address is inside a private network; this installation sends webhooks "
                "to public addresses only."
            )
    return None


def post(
    url: str, body: bytes, headers: Mapping[str, str], policy: Policy, *, limit: int = EXCERPT * 4
) -> Answer:
    """POST ``body`` to ``url``: the receiver's answer, whatever its status; ``DeliveryFailed``
    when it cannot be sent or no answer comes in time. The host's addresses are tried in turn
    (IPv4 first) until one takes the connection. At most ``limit`` bytes of the answer are
    read (a connector that needs the whole answer, such as a credit bureau's, asks more)."""
    if problem := url_problem(url, policy, lookup=False):
        raise DeliveryFailed(problem)
    parts = urlsplit(url.strip())
    host = parts.hostname
    assert host is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = sorted(resolve(host, port), key=lambda a: a.version)
    if not addresses:
        raise DeliveryFailed(f"cannot resolve {host}")
    if not all(permitted(a, policy) for a in addresses):
        raise DeliveryFailed(f"{host} resolves to an address inside a private network")
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = {**headers, "Host": netloc}
    for address in addresses:
        pool = _pool(parts.scheme, str(address), port, host, policy.timeout)
        try:
            response = pool.urlopen(
                "POST", path, body=body, headers=request,
                redirect=False, retries=False, preload_content=False,
            )  # fmt: skip
            try:
                start = response.read(limit)
            finally:
                response.release_conn()
        except urllib3.exceptions.ConnectTimeoutError:  # refused or unreachable: the next
            continue
        except urllib3.exceptions.TimeoutError:
            raise DeliveryFailed(f"no answer from {host} within {policy.timeout:g} s") from None
        except urllib3.exceptions.HTTPError as problem:
            raise DeliveryFailed(f"cannot reach {host}: {type(problem).__name__}") from None
        finally:
            pool.close()
        excerpt = " ".join(start.decode("utf-8", "replace").split())[:EXCERPT]
        return Answer(response.status, excerpt, start)
    raise DeliveryFailed(f"cannot connect to {host}")


def _pool(
    scheme: str, address: str, port: int, host: str, timeout: float
) -> urllib3.HTTPConnectionPool:
    """A pool that connects to ``address`` and, over https, checks the certificate against
    ``host`` (the name the admin gave), which SNI names too."""
    limit = urllib3.Timeout(total=timeout)
    if scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address, port, timeout=limit, retries=False, maxsize=1,
            ssl_context=ssl.create_default_context(), server_hostname=host, assert_hostname=host,
        )  # fmt: skip
    return urllib3.HTTPConnectionPool(address, port, timeout=limit, retries=False, maxsize=1)
