"""Credit queries: a customer's external credit data through the tenant's connector, only with
the customer's valid ``credit_query`` consent (征信查询授权), reused while it is valid, each
external call counted with its cost; and ``variables``, what the risk rules read: the latest
valid external variables and the customer's own history in the tenant. No Flask here.

The consent is read from the customers plugin's ``customers_consents`` table by name (as other
plugins refer to ``customers_customers``): this plugin is written against ``loandesk.sdk``
only."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import marshmallow as ma
from sqlalchemy import Select, column, func, select, table
from sqlalchemy.orm import Session

from loandesk import sdk
from loandesk_credit.connectors import Connector, ConnectorError, Subject, Value
from loandesk_credit.models import CreditQuery
from loandesk_credit.settings import CreditSettings

NAME = "credit"
PURPOSE = "credit_query"

_consents = table(
    "customers_consents",
    column("tenant_id"),
    column("id"),
    column("customer_id"),
    column("purpose"),
    column("agreed_at", sdk.UTCDateTime()),
    column("withdrawn_at", sdk.UTCDateTime()),
)
_applications = table(
    "intake_applications", column("tenant_id"), column("customer_id"), column("status")
)


class NoConsent(sdk.ValidationFailed):
    """The customer has no valid consent to a credit query: nothing is sent anywhere."""


class QueryFailed(sdk.DomainError):
    """The connector gave no result; the failed call is recorded (commit, then answer)."""

    status = 502
    code = "credit_connector_failed"


@dataclass(frozen=True)
class Result:
    variables: dict[str, Value]
    cached: bool
    query: CreditQuery  # the external call the variables come from
    connector: str


def settings() -> dict[str, Any]:
    """The tenant's credit settings, defaults filled in."""
    try:
        return dict(CreditSettings().load(sdk.plugin_settings(NAME)))
    except ma.ValidationError as problem:
        raise sdk.Conflict(
            sdk.N_("The credit settings are incomplete: %(fields)s."),
            params={"fields": ", ".join(sorted(problem.messages))},
        ) from None


def connector(key: str) -> Connector:
    """The enabled connector ``key`` (the built-in one or another enabled plugin's)."""
    for found in sdk.credit_connectors():
        if getattr(found, "key", None) == key:
            chosen: Connector = found
            return chosen
    raise sdk.Conflict(
        sdk.N_("The credit connector %(connector)s is not available to this firm."),
        params={"connector": key},
    )


def valid_consent_id(session: Session, customer_id: uuid.UUID) -> uuid.UUID | None:
    """The customer's latest ``credit_query`` consent that counts now (agreed, not
    withdrawn), or None."""
    query = (
        select(_consents.c.id)
        .where(
            _consents.c.tenant_id == sdk.current().id,
            _consents.c.customer_id == customer_id,
            _consents.c.purpose == PURPOSE,
            _consents.c.agreed_at <= sdk.utcnow(),
            _consents.c.withdrawn_at.is_(None),
        )
        .order_by(_consents.c.agreed_at.desc())
        .limit(1)
    )
    found = session.scalar(query)
    return None if found is None else uuid.UUID(str(found))


def query(
    session: Session,
    access: sdk.RecordAccess,
    customer_id: uuid.UUID,
    *,
    application_id: uuid.UUID | None = None,
) -> Result:
    """The customer's external variables for the acting user: refused (``NoConsent``, 422)
    without a valid credit-query consent, before anything is sent; the cached result while
    the tenant's validity lasts; otherwise one call to the tenant's connector, recorded with
    its cost (``QueryFailed`` when it gives no result: the failed call is recorded too, and
    the caller commits it before answering)."""
    model: Any = access.record_type.model
    customer = access.check_record(session.scalar(select(model).where(model.id == customer_id)))
    consent_id = valid_consent_id(session, customer.id)
    if consent_id is None:
        raise NoConsent(
            sdk.N_("The customer has not consented to a credit query."),
            errors={"customer_id": [sdk.N_("Record the customer's credit query consent first.")]},
        )
    config = settings()
    chosen = connector(config["connector"])
    cached = _cached(session, customer.id, chosen.key, config["validity_days"])
    if cached is not None:
        _audit(session, customer.id, cached, cached=True, application_id=application_id)
        return Result(dict(cached.variables or {}), True, cached, chosen.key)
    subject = _subject(customer, consent_id)
    started = time.monotonic()
    row = CreditQuery(
        id=uuid.UUID(subject.request_id),
        customer_id=customer.id,
        application_id=application_id,
        connector=chosen.key,
        consent_id=consent_id,
        asked_by_id=sdk.acting_user().id,
        created_at=sdk.utcnow(),
    )
    try:
        variables = chosen.query(subject, sdk.plugin_settings(chosen.plugin))
    except ConnectorError as problem:
        row.status, row.cost, row.error = "failed", Decimal("0.00"), str(problem)[:500]
        sdk.connector_failed(chosen.key, problem)  # kept even though the caller rolls back
    else:
        row.status, row.cost, row.variables = "ok", Decimal(config["cost_per_query"]), variables
        sdk.connector_succeeded(chosen.key, "the provider answered a query")
    row.duration_ms = int((time.monotonic() - started) * 1000)
    session.add(row)
    session.flush()
    _audit(session, customer.id, row, cached=False, application_id=application_id)
    if row.status == "failed":
        raise QueryFailed(
            sdk.N_("The credit connector gave no result: %(reason)s"),
            params={"reason": row.error},
        )
    return Result(dict(variables), False, row, chosen.key)


def variables(session: Session, customer_id: uuid.UUID) -> dict[str, Value]:
    """What risk rules read about a customer, without calling anyone: the customer's own
    history in the tenant (``own_*``) and the variables of the latest external result still
    valid under the tenant's settings (absent when there is none)."""
    found: dict[str, Value] = dict(internal_variables(session, customer_id))
    config = settings()
    cached = _cached(session, customer_id, config["connector"], config["validity_days"])
    if cached is not None:
        found.update(cached.variables or {})
    return found


def variable_kinds() -> dict[str, str]:
    """The variables ``decision_variables`` may give risk rules, with their kinds: the
    customer's own history and the built-in bureau's (a connector of another plugin may
    return more; rules can name only these)."""
    from loandesk_credit.bureau import VARIABLES

    external = {
        name: "boolean" if kind is bool else "integer" if kind is int else "text"
        for name, kind in VARIABLES.values()
    }
    return {
        "own_applications": "integer",
        "own_approved": "integer",
        "own_rejected": "integer",
        **external,
    }


def decision_variables(session: Session, customer_id: uuid.UUID) -> dict[str, Value]:
    """What a risk decision reads about a customer: the own history always; the external
    variables only while the customer's credit-query consent is valid and a result within
    the validity is stored. Nobody is called: a bureau is asked by staff (``query``)."""
    if valid_consent_id(session, customer_id) is None:
        return dict(internal_variables(session, customer_id))
    try:
        return variables(session, customer_id)
    except sdk.Conflict:  # settings incomplete: no external data to read
        return dict(internal_variables(session, customer_id))


def internal_variables(session: Session, customer_id: uuid.UUID) -> dict[str, Value]:
    """The customer's own history in the tenant: applications (not drafts), approved ones,
    rejected ones. Outstanding balances and repayment history join when loans do."""
    rows: dict[str, int] = {}
    if _has_table(session, "intake_applications"):
        counted = session.execute(
            select(_applications.c.status, func.count())
            .where(
                _applications.c.tenant_id == sdk.current().id,
                _applications.c.customer_id == customer_id,
                _applications.c.status != "draft",
            )
            .group_by(_applications.c.status)
        )
        rows = {status: count for status, count in counted}
    return {
        "own_applications": sum(rows.values()),
        "own_approved": rows.get("approved", 0),
        "own_rejected": rows.get("rejected", 0),
    }


def queries(
    session: Session, *, customer_id: uuid.UUID | None = None, page: int = 1, per_page: int = 20
) -> tuple[list[CreditQuery], int]:
    """The tenant's external calls, newest first, and how many there are."""
    statement: Select[Any] = select(CreditQuery)
    if customer_id is not None:
        statement = statement.where(CreditQuery.customer_id == customer_id)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    items = session.scalars(
        statement.order_by(CreditQuery.created_at.desc(), CreditQuery.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(items), total


def _cached(
    session: Session, customer_id: uuid.UUID, key: str, validity_days: int
) -> CreditQuery | None:
    if validity_days <= 0:
        return None
    since: datetime = sdk.utcnow() - timedelta(days=validity_days)
    return session.scalar(
        select(CreditQuery)
        .where(
            CreditQuery.customer_id == customer_id,
            CreditQuery.connector == key,
            CreditQuery.status == "ok",
            CreditQuery.created_at > since,
        )
        .order_by(CreditQuery.created_at.desc(), CreditQuery.id.desc())
        .limit(1)
    )


def _subject(customer: Any, consent_id: uuid.UUID) -> Subject:
    if customer.anonymised_at is not None:
        raise sdk.Conflict(sdk.N_("This customer's personal data was anonymised."))
    keys = sdk.keyring()
    id_number = customer.get_personal("id_number", keys=keys)
    mobile = customer.get_personal("mobile", keys=keys)
    if not id_number or not mobile:
        raise sdk.ValidationFailed(
            sdk.N_("Some fields need attention."),
            errors={
                "customer_id": [sdk.N_("A credit query needs the customer's ID number and mobile.")]
            },
        )
    return Subject(id_number, customer.name, mobile, str(consent_id), str(sdk.uuid7()))


def _audit(
    session: Session,
    customer_id: uuid.UUID,
    row: CreditQuery,
    *,
    cached: bool,
    application_id: uuid.UUID | None,
) -> None:
    sdk.audit_record(
        session,
        "credit.query",
        "customer",
        customer_id,
        {
            "query_id": str(row.id),
            "connector": row.connector,
            "cached": cached,
            "status": row.status,
            "application_id": str(application_id) if application_id else None,
        },
    )


def _has_table(session: Session, name: str) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(session.get_bind()).has_table(name))
