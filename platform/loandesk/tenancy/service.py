"""Creating and finding tenants: self-service sign-up, the CLI and platform operators use these."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loandesk import audit
from loandesk.auth import users
from loandesk.auth.models import User
from loandesk.auth.passwords import password_problems
from loandesk.db import utcnow, uuid7
from loandesk.errors import Conflict, NotFound, ValidationFailed
from loandesk.i18n import N_
from loandesk.rbac import org
from loandesk.rbac import service as rbac
from loandesk.tenancy.context import TenantRef, use
from loandesk.tenancy.models import Tenant

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# Words that are, or may become, top-level paths or look official.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "assets",
        "auth",
        "billing",
        "demo-admin",
        "docs",
        "help",
        "healthz",
        "lang",
        "login",
        "logout",
        "loandesk",
        "oauth",
        "platform",
        "public",
        "readyz",
        "root",
        "signup",
        "static",
        "status",
        "support",
        "system",
        "t",
        "www",
    }
)


def slug_problems(slug: str) -> list[str]:
    if not 3 <= len(slug) <= 40:
        return [N_("Use 3 to 40 characters.")]
    if not SLUG_PATTERN.match(slug) or "--" in slug:
        return [
            N_(
                "Use lowercase letters, digits and single hyphens; start and end with a letter "
                "or digit."
            )
        ]
    if slug in RESERVED_SLUGS:
        return [N_("This name is reserved.")]
    return []


@dataclass(frozen=True)
class SignupResult:
    tenant: Tenant
    admin: User


def sign_up(
    session: Session,
    *,
    name: str,
    slug: str,
    admin_email: str,
    admin_password: str,
    admin_name: str | None = None,
) -> SignupResult:
    """Create a tenant with its first admin, in the caller's transaction.

    Raises ``ValidationFailed`` (422) with every field's problems at once, and ``Conflict``
    (409) when the slug is taken.
    """
    name, slug = name.strip(), slug.strip()
    admin_email = users.normalise_email(admin_email)
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [N_("Enter the firm's name.")]
    elif len(name) > 200:
        errors["name"] = [N_("Use at most 200 characters.")]
    if problems := slug_problems(slug):
        errors["slug"] = problems
    if problems := users.email_problems(admin_email):
        errors["admin_email"] = problems
    if problems := password_problems(admin_password, email=admin_email):
        errors["admin_password"] = problems
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(N_("This address is already taken."), errors={"slug": [N_("Taken.")]})

    tenant = Tenant(id=uuid7(), name=name, slug=slug)
    with use(tenant_ref(tenant)):
        # No savepoint here (pysqlite's are unreliable): a race on the slug fails this flush,
        # and the caller's transaction, which sign-up always begins, is rolled back whole.
        try:
            session.add(tenant)
            session.flush()
        except IntegrityError:
            raise Conflict(
                N_("This address is already taken."), errors={"slug": [N_("Taken.")]}
            ) from None
        audit.record(
            session,
            "tenant.create",
            "tenant",
            tenant.id,
            {"name": name, "slug": slug, "admin_email": admin_email},
        )
        rbac.seed_builtin_roles(session)
        org.create_company(session, name)
        admin = users.create_user(
            session,
            email=admin_email,
            display_name=admin_name or admin_email.split("@", 1)[0],
            password=admin_password,
            is_admin=True,
        ).user
    return SignupResult(tenant=tenant, admin=admin)


def tenant_ref(tenant: Tenant) -> TenantRef:
    # A new Tenant has no defaults applied until it is flushed.
    return TenantRef(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        status=tenant.status or "active",
        timezone=tenant.timezone or "Asia/Shanghai",
        locale=tenant.locale or "zh_CN",
        currency=tenant.currency or "CNY",
        plugins_version=tenant.plugins_version or 0,
    )


def find_by_slug(session: Session, slug: str) -> Tenant | None:
    return session.scalar(select(Tenant).where(Tenant.slug == slug))


def find_by_id(session: Session, tenant_id: uuid.UUID) -> Tenant | None:
    return session.get(Tenant, tenant_id)


def get_by_slug(session: Session, slug: str) -> Tenant:
    tenant = find_by_slug(session, slug)
    if tenant is None:
        raise NotFound(N_("No such tenant."))
    return tenant


def set_status(session: Session, tenant: Tenant, status: str, now: datetime | None = None) -> None:
    """Suspend or re-activate a tenant (platform operators and the CLI)."""
    if status not in ("active", "suspended"):
        raise ValidationFailed(N_("Unknown status."), errors={"status": [N_("Unknown status.")]})
    tenant.status = status
    tenant.suspended_at = (now or utcnow()) if status == "suspended" else None


def set_region(session: Session, tenant: Tenant, *, timezone: str, locale: str) -> None:
    """Change a tenant's time zone (its "today" and daily jobs) and default language (audited)."""
    from zoneinfo import available_timezones

    from loandesk.i18n import LOCALES

    errors: dict[str, list[str]] = {}
    if timezone not in available_timezones():
        errors["timezone"] = [N_("Choose a time zone from the list.")]
    if locale not in LOCALES:
        errors["locale"] = [N_("Choose a language from the list.")]
    if errors:
        raise ValidationFailed(N_("Some fields need attention."), errors=errors)
    before = {"timezone": tenant.timezone, "locale": tenant.locale}
    tenant.timezone, tenant.locale = timezone, locale
    session.flush()
    if diff := audit.changes(before, {"timezone": timezone, "locale": locale}):
        audit.record(session, "tenant.region", "tenant", tenant.id, diff)
