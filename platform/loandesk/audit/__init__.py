"""The audit log (操作日志): append-only, hash-chained per tenant (DESIGN §1, §5).

Service functions call ``record(session, action, ...)`` in the transaction of the change they
make; who acted, from where, and the request id come from ``actor_context`` that the web and
API layers set per request (jobs and the CLI act as "system").
"""

from loandesk.audit.context import Actor, actor_context, current_actor
from loandesk.audit.service import REDACTED, Entry, changes, record, record_many

__all__ = [
    "REDACTED",
    "Actor",
    "Entry",
    "actor_context",
    "changes",
    "current_actor",
    "record",
    "record_many",
]
