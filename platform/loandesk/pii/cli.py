"""``loandesk keys``: rotating the keys that protect personal data (docs/personal-data.md)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from loandesk import extension
from loandesk.pii.rotation import RewrapResult, rotate_tenant


def _split_keys(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    return [key.strip() for value in values for key in value.split(",") if key.strip()]


@click.group("keys", cls=AppGroup)
def keys() -> None:
    """Personal-data keys: each tenant's data keys, wrapped by the master key."""


@keys.command("rotate")
@click.option(
    "--previous-master-key",
    "previous",
    multiple=True,
    envvar="LOANDESK_PREVIOUS_MASTER_KEYS",
    callback=_split_keys,
    help="A master key the data keys may still be wrapped with; repeat, or give several "
    "comma-separated in LOANDESK_PREVIOUS_MASTER_KEYS.",
)
@click.option(
    "--new-data-key",
    is_flag=True,
    help="Also give every tenant a new data key version, which new values will use.",
)
@with_appcontext
def rotate(previous: list[str], new_data_key: bool) -> None:
    """Re-wrap every tenant's data keys with the current master key (LOANDESK_MASTER_KEY).

    Idempotent: keys already wrapped with it are left alone. Prints JSON with counts; exits
    with 1 when some key could not be unwrapped with any master key given.
    """
    from loandesk.tenancy import use
    from loandesk.tenancy.models import Tenant

    ext = extension.get()
    master_key = ext.settings.master_key
    with ext.db.transaction() as session:
        tenants = [t.ref() for t in session.scalars(select(Tenant).order_by(Tenant.id))]
    totals = RewrapResult()
    new_versions = 0
    unavailable: list[str] = []
    for tenant in tenants:
        # One transaction per tenant, with it current: row-level security shows only its keys.
        with use(tenant), ext.db.transaction() as session:
            rotation = rotate_tenant(
                session,
                tenant_id=tenant.id,
                master_key=master_key,
                previous_master_keys=previous,
                new_data_key=new_data_key,
            )
        result = rotation.result
        if result.unavailable:
            unavailable.append(tenant.slug)
        if rotation.new_version is not None:
            new_versions += 1
        for name, count in asdict(result).items():
            setattr(totals, name, getattr(totals, name) + count)
    report = {
        "tenants": len(tenants),
        **asdict(totals),
        "new_data_keys": new_versions,
        "unavailable_tenants": unavailable,
    }
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    if unavailable:
        raise click.exceptions.Exit(1)
