"""Sign-in hardening: security headers, rate limits, and per-tenant session timeouts.

``headers`` sets the Content-Security-Policy and its companions on every response;
``ratelimit`` counts requests in fixed windows (Redis, or a platform table without it);
``session_policy`` decides when a web session has been idle or open too long; ``web`` wires
them into the app and answers 429. See ``docs/security.md``.
"""
