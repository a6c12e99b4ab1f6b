"""A test for connectors whose provider's API has no harmless call (an SMS gateway's one call
sends, a credit bureau's costs money): a ``HEAD`` request without key or body, which shows
only that the URL answers (DNS, TLS, firewall, the server up)."""

from __future__ import annotations

import requests

from loandesk.connectors.contract import ConnectorTestFailed

# the server, or the proxy in front of it, is failing; any other status is a server answering
# (501 or 405: it takes no HEAD, 404: nothing at that path for HEAD)
DOWN = frozenset({500, 502, 503, 504})


def reachable(url: str, timeout: float, what: str) -> str:
    """``"<what> answers (HTTP <status>)"``, or ``ConnectorTestFailed`` when nothing answers
    at ``url`` within ``timeout`` seconds or the server fails. Redirects are not followed; the
    URL stays out of the message."""
    try:
        answer = requests.head(url, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        raise ConnectorTestFailed(f"no answer within {timeout:g} s") from None
    except requests.RequestException as problem:
        raise ConnectorTestFailed(f"{what} cannot be reached ({type(problem).__name__})") from None
    if answer.status_code in DOWN:
        raise ConnectorTestFailed(f"{what} answers HTTP {answer.status_code}")
    return f"{what} answers (HTTP {answer.status_code})"
