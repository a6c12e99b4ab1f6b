"""``loandesk retention run``: anonymise what is due now, by hand (the daily job does the same)."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from loandesk import extension


@click.group("retention", cls=AppGroup)
def retention_group() -> None:
    """Retention periods of personal data (保存期限)."""


@retention_group.command("run")
@click.option("--tenant", "slug", default=None, help="One tenant (default: every active one).")
@click.option("--dry-run", is_flag=True, help="Count what is due; change nothing.")
@with_appcontext
def run_command(slug: str | None, dry_run: bool) -> None:
    """Anonymise the personal data whose retention period has run out, per tenant and record
    type, and print JSON with what was due and what was anonymised."""
    from loandesk.cli import domain_failure, echo_json
    from loandesk.errors import DomainError
    from loandesk.plugins import runtime
    from loandesk.plugins import service as plugins
    from loandesk.privacy import retention
    from loandesk.tenancy import service as tenants
    from loandesk.tenancy import use
    from loandesk.tenancy.models import Tenant

    db = extension.get().db
    with db.transaction() as session:
        if slug:
            try:
                refs = [tenants.get_by_slug(session, slug).ref()]
            except DomainError as error:
                raise domain_failure(error) from None
        else:
            active = select(Tenant).where(Tenant.status == "active").order_by(Tenant.slug)
            refs = [t.ref() for t in session.scalars(active)]
    report = []
    for ref in refs:
        with use(ref), db.session_factory() as session:
            try:
                available = retention.subjects(runtime.host(), plugins.enabled_names(session))
                runs = retention.run(session, available, timezone=ref.timezone, dry_run=dry_run)
            finally:
                session.rollback()  # a dry run's reads; a real run committed every batch
        report.append(
            {
                "tenant": ref.slug,
                "record_types": [
                    {
                        "record_type": r.record_type,
                        "days": r.days,
                        "cutoff": r.cutoff.isoformat(),
                        "due": r.due,
                        "anonymised": r.anonymised,
                    }
                    for r in runs
                ],
            }
        )
    echo_json({"dry_run": dry_run, "tenants": report})
