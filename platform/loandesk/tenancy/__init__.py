"""Tenants and the current-tenant context (DESIGN §2)."""

from loandesk.tenancy.context import (
    TenantContextMissing,
    TenantRef,
    current,
    current_id,
    current_or_none,
    use,
)

__all__ = ["TenantContextMissing", "TenantRef", "current", "current_id", "current_or_none", "use"]
