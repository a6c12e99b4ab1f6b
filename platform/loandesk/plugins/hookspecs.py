"""The hooks of LoanDesk: how a plugin contributes to the core (DESIGN §3, STYLE "Plugins").

Every hook is prefixed ``loandesk_``. Contribution hooks are collected from every plugin; the
core attributes each result to its plugin and checks it (a blueprint's name equals the plugin's
name, a permission is namespaced by it), so a plugin never reaches into the app.

Start-up hooks are called once per app for every installed plugin; what they return is then
switched on and off per tenant: the routes of a plugin that a tenant has not enabled answer 404
for that tenant, and its navigation entries and permissions are not offered there.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from flask import Blueprint
    from flask_smorest import Blueprint as ApiBlueprint
    from sqlalchemy.orm import Session

    from loandesk.auth.sign_in_providers import SignInProvider
    from loandesk.automations.rules import ActionType
    from loandesk.bundle.contract import BundleFile
    from loandesk.connectors import Connector
    from loandesk.events import EventHandler, EventType
    from loandesk.fields import RecordType
    from loandesk.fields.forms import Form
    from loandesk.finance import ProductTerms
    from loandesk.jobs import JobSpec
    from loandesk.jobs.schedules import Schedule
    from loandesk.lending import (
        ApplicationIntake,
        ApplicationSummary,
        BorrowerContacts,
        CustomerRegistry,
        DossierSection,
        LoanBook,
        LoanPosition,
    )
    from loandesk.notifications.channels import Channel
    from loandesk.payouts import PayoutConnector
    from loandesk.pii.retention import RetentionSubject
    from loandesk.plugins.info import NavItem, Permission, ProfileSection
    from loandesk.reports import Dataset
    from loandesk.reports.builtin import BuiltinReport

hookspec = pluggy.HookspecMarker("loandesk")


# --- models (start-up) ------------------------------------------------------------------------


@hookspec
def loandesk_migrations() -> str:
    """The folder of the plugin's Alembic revisions (its own branch), called when the app is
    created; ``loandesk db upgrade`` applies them after the core's.

    The plugin's models subclass ``loandesk.sdk.TenantOwned`` and ``loandesk.sdk.Base``, with
    tables prefixed by the plugin's name. Its first revision has ``down_revision = None``,
    ``branch_labels = ("<plugin>",)`` and ``depends_on`` the core revision it builds on; each
    tenant-owned table gets ``loandesk.sdk.enable_rls(op, table)``.
    """


# --- web and API (start-up) -------------------------------------------------------------------


@hookspec
def loandesk_web_blueprints() -> list[Blueprint]:
    """Web pages of the plugin, called once when the app is created.

    Return Flask blueprints named exactly as the plugin; they are mounted under the tenant's
    prefix, so a view's URL is ``/t/<slug>/<url_prefix>/...`` (``/<url_prefix>/...`` in
    single-tenant mode: build URLs with ``url_for``) and its endpoint
    ``tenant.<plugin>.<view>``. Views render the core's layout (``layouts/app.html``); the
    current tenant and user are already set when they run.
    """


@hookspec
def loandesk_api_blueprints() -> list[ApiBlueprint]:
    """REST resources of the plugin (flask-smorest blueprints named as the plugin), called once
    when the app is created. They are mounted under ``/api/v1``; protect every view with
    ``loandesk.sdk.require_token(scope)``, which also answers 404 to tenants that have not
    enabled the plugin."""


@hookspec
def loandesk_nav_items() -> list[NavItem]:
    """Navigation entries (``loandesk.sdk.NavItem``) for the plugin's pages, called once when
    the app is created; shown only to tenants that enabled the plugin."""


# --- permissions (start-up) -------------------------------------------------------------------


@hookspec
def loandesk_permissions() -> list[Permission]:
    """Permissions the plugin defines (``loandesk.sdk.Permission``), each named
    ``<plugin>.<action>`` with a Chinese and an English label; called once when the app is
    created. A tenant is offered them only while the plugin is enabled."""


# --- record types (start-up) -----------------------------------------------------------------


@hookspec
def loandesk_record_types() -> list[RecordType]:
    """Record types the plugin brings (``loandesk.sdk.RecordType``: customer, application,
    loan, ...), each with its model and built-in fields, called once when the app is created.

    Keys are unique across plugins. Data scopes and field permissions
    (``loandesk.sdk.record_access``) govern every read and write of these records; the
    declaration's defaults give built-in roles their access when a tenant enables the plugin.
    """


# --- events and jobs (start-up) ---------------------------------------------------------------


@hookspec
def loandesk_event_types() -> list[EventType]:
    """Events the plugin emits (``loandesk.sdk.EventType``: ``loan.disbursed`` with labels and
    its record type), called once when the app is created. Emit them with
    ``loandesk.sdk.emit(session, name, record_type, record_id, payload)`` inside the
    transaction that causes them."""


@hookspec
def loandesk_event_handlers() -> list[EventHandler]:
    """Handlers (``loandesk.sdk.EventHandler``) of events of the core or of any plugin, called
    once when the app is created. A handler runs in a job after the emitting transaction
    committed, for tenants that enabled the plugin, at least once per event and in order:
    write it to be idempotent. Raising makes the delivery retry later."""


@hookspec
def loandesk_jobs() -> list[JobSpec]:
    """Job functions of the plugin (``loandesk.sdk.JobSpec`` named ``<plugin>.<job>``), called
    once when the app is created. Enqueue them with ``loandesk.sdk.enqueue(name, tenant_id,
    *ids)``; they run only for tenants that have the plugin enabled."""


@hookspec
def loandesk_schedules() -> list[Schedule]:
    """Periodic jobs (``loandesk.sdk.Schedule``: a 5-field cron in the tenant's local time and a
    job of the same plugin), called once when the app is created. ``loandesk scheduler`` (or
    the embedded runner) fires each once per period for every tenant that enabled the plugin;
    a period missed while nothing ran is caught up once."""


# --- submission (per tenant, per record) -------------------------------------------------------


@hookspec
def loandesk_before_submit(
    session: Session, record_type: RecordType, record: Any, form: Form, values: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """``record`` was checked and is about to start (or resume) its approval flow
    (``loandesk.flows.service.submit_for_approval``, however it was submitted: by staff, the
    API or an automation rule): called in the submitting transaction for the tenant's
    enabled plugins, before the flow evaluates any condition. ``values`` are what the form's
    conditions see.

    A plugin may record what it decides (the risk plugin stores a decision) and returns the
    values to add for the flow (``{"risk_outcome": "refer"}``); the flow sees those whose keys
    are fields of the record type's form. Return None to add nothing. Raising refuses the
    submission: the whole transaction rolls back."""


@hookspec
def loandesk_customer_exposure(session: Session, customer_ids: list[uuid.UUID]) -> Decimal | None:
    """What the borrower behind ``customer_ids`` (every customer record of one person, found by
    ID number) owes or has asked for in the plugin's records, as a ``Decimal`` in the tenant's
    currency (``None``: nothing). Called per tenant when an application is created, submitted
    or shown (``loandesk.sdk.customer_exposure`` adds the answers up); the intake plugin
    counts open applications itself, the servicing plugins add their loans' outstanding
    principal. Read only: never write through ``session``."""


# --- automations (start-up) ------------------------------------------------------------------


@hookspec
def loandesk_automation_actions() -> list[ActionType]:
    """Actions the plugin offers to automation rules (``loandesk.sdk.ActionType`` keyed
    ``<plugin>.<action>``: ``sms.send``), called once when the app is created. ``check(params,
    form)`` returns problems keyed by parameter when a rule is saved; ``run(ctx, params)`` does
    the action for one record inside the rule's transaction (``ctx.key`` is unique to this
    action of this firing: give it to a provider as the idempotency key) and returns a short
    result for the run log; raising makes the firing retry later."""


# --- reports (start-up) -----------------------------------------------------------------------


@hookspec
def loandesk_report_datasets() -> list[Dataset]:
    """Datasets reports may be made of (``loandesk.sdk.Dataset`` keyed ``<plugin>.<name>``:
    ``intake.applications``), called once when the app is created; tenants that enabled the
    plugin are offered them. A dataset reads one of the plugin's record types, so the
    viewer's data scope and field permissions apply; its ``dimensions`` (fields, date fields
    with buckets, plain columns) and ``measures`` (count, distinct count, sum, average,
    minimum, maximum of an integer or money field, a ratio of two measures) say what a report
    may group by and compute. ``loandesk.reports.query`` compiles a report to one SQL
    aggregate query. A dataset whose rows are not the record type's own (approval tasks,
    payments of loans) declares a ``source``: the rows joined to the record type's model,
    still narrowed by the viewer's scope over the records."""


@hookspec
def loandesk_builtin_reports() -> list[BuiltinReport]:
    """Reports the plugin ships (``loandesk.sdk.BuiltinReport`` keyed ``<plugin>.<name>``: a
    dataset, a spec, a chart type, the roles it is meant for), called once when the app is
    created and each checked against its dataset then; a tenant that enabled the plugin (and
    has the dataset) sees them under ``/api/v1/reports/builtin``, runs them under each
    viewer's access and copies them into saved reports."""


# --- notifications (start-up) ------------------------------------------------------------


@hookspec
def loandesk_notification_channels() -> list[Channel]:
    """Channels the plugin sends messages through (``loandesk.sdk.Channel``: an SMS or
    e-mail provider, DingTalk, WeCom), called once when the app is created; they are offered
    to tenants that enabled the plugin. ``key`` names the channel (``sms``, ``email``, or
    ``<plugin>.<name>``; ``in_app`` is the core's), ``address_kind`` says what it sends to
    (``mobile``, ``email``, ``user``) and ``audiences`` whom (``borrower``, ``staff``).

    ``send(message)`` gets a ``loandesk.sdk.OutgoingMessage`` (plaintext address, subject,
    body, the tenant, and ``key``, unique to the message: pass it to the provider as the
    idempotency key) and returns the provider's id of the message; raising makes the outbox
    (``core.send_messages``) retry it later with backoff, and after the last attempt the
    message is marked failed with the error (at once for ``loandesk.sdk.Undeliverable``).
    It runs in a job outside any request, with the tenant current: it may read the plugin's
    settings (``loandesk.sdk.plugin_settings``) but writes nothing through the job's session
    (the outbox's); bookkeeping of its own goes in ``loandesk.sdk.transaction()``. The core
    has already held borrower messages during the tenant's quiet hours and logged their
    content.
    """


# --- personal data (start-up) -----------------------------------------------------------------


@hookspec
def loandesk_retention_subjects() -> list[RetentionSubject]:
    """The plugin's record types that hold personal data (``loandesk.sdk.RetentionSubject``,
    each keyed ``<plugin>.<record>``), called once when the app is created.

    Each names the event that starts its retention clock, the legal minimum period, a
    ``due(cutoff)`` SELECT of the ids of the current tenant's records whose clock started before
    ``cutoff`` and that are not anonymised yet, and ``anonymise(session, record_id, now)``,
    which clears the record's personal fields (``loandesk.sdk.clear_personal``), keeps its
    amounts and dates, sets its ``anonymised_at`` and returns the names of the fields cleared.
    A tenant that enabled the plugin sets a period per subject (Administration → Personal
    data); the daily ``core.apply_retention`` job then anonymises what is due, in batches, with
    an audit event per record.
    """


# --- credit data (per tenant) -----------------------------------------------------------------


@hookspec
def loandesk_credit_connectors() -> list[Any]:
    """Connectors to external credit and anti-fraud data (征信 / 反欺诈数据), called for the
    current tenant's enabled plugins when the ``credit`` plugin queries (see
    ``docs/connectors.md``, "Credit data"). Each is a ``loandesk_credit.connectors.Connector``:
    ``key`` (``<plugin>`` or ``<plugin>.<name>``), labels, and ``query(subject, settings)``,
    which gets the borrower's ID number, name and mobile with the reference of their consent and
    the connector plugin's settings for the tenant, and returns the normalised variables (names
    to numbers or text) or raises ``ConnectorError`` with a message without personal data."""


# --- risk variables (per tenant) --------------------------------------------------------------


@hookspec
def loandesk_risk_variable_kinds(record_type: RecordType) -> Mapping[str, str] | None:
    """Variables the plugin gives the risk rules of ``record_type`` beside its form's fields,
    called for the current tenant's enabled plugins when a rule set is checked or compiled:
    names (prefixed by their source: ``bureau_score``, ``history_rejected_90d``) to the kind
    of their values as field kinds say it (``integer``, ``decimal``, ``boolean``, ``text``).
    A form field of the same name wins. Return None to add nothing."""


@hookspec
def loandesk_risk_variables(
    session: Session, record_type: RecordType, record: Any
) -> Mapping[str, Any] | None:
    """The values of the plugin's risk variables for ``record`` at its decision (in the
    submitting transaction): plain values (int, bool, str, Decimal or None for unknown) for
    the names ``loandesk_risk_variable_kinds`` declared. Only what the plugin already holds
    and may use: never call an outside service here (a credit bureau is asked with the
    borrower's consent, by staff, not by a decision). The decision stores every value."""


# --- customers (per tenant, per record) ----------------------------------------------------------


@hookspec
def loandesk_customer_merged(
    session: Session, survivor_id: uuid.UUID, merged_id: uuid.UUID
) -> None:
    """Two records of one borrower were merged (客户合并): ``merged_id`` is now a pointer to
    ``survivor_id``. Called for the current tenant's enabled plugins inside the merging
    transaction, after the customers plugin moved its own rows: a plugin whose rows reference
    the customer moves them to the survivor (an ``UPDATE ... SET customer_id``). Return nothing;
    raising refuses the merge and the whole transaction rolls back."""


@hookspec
def loandesk_record_sections(
    session: Session, record_type: str, record_id: uuid.UUID
) -> list[ProfileSection] | None:
    """Sections a plugin adds to the page of a record of another plugin (an application's
    risk decision), called for the current tenant's enabled plugins while the signed-in user,
    who may read the record, views it. Keys are ``<plugin>.<name>``; sections are shown by
    ``order``, values already formatted as text. Return None for record types you have
    nothing to add to."""


@hookspec
def loandesk_customer_360_sections(
    session: Session, customer_id: uuid.UUID
) -> list[ProfileSection] | None:
    """The sections a plugin adds to a customer's 360° page (客户全景视图), called for the
    current tenant's enabled plugins while the signed-in user views it. A section keyed
    ``applications``, ``loans``, ``payments`` or ``collection`` fills that standard place
    (shown empty until a plugin fills it); other keys (``<plugin>.<name>``) are added after
    them by ``order``. Apply the viewer's data scope and field permissions yourself
    (``sdk.record_access``): show only rows the viewer may see, values already formatted as
    text. Return None (or an empty list) to add nothing."""


# --- loan servicing (per tenant) ----------------------------------------------------------------


@hookspec(firstresult=True)
def loandesk_product_terms(
    session: Session, product_id: uuid.UUID, version: int | None
) -> ProductTerms | None:
    """The terms of product ``product_id`` (贷款产品) for the current tenant: its version
    ``version``, or the version in force when ``version`` is None. Called when a loan is
    quoted, contracted or booked; the plugin that owns the product catalogue answers, others
    return None. None from every plugin means there is no such product (or version)."""


@hookspec(firstresult=True)
def loandesk_rate_cap() -> Decimal | None:
    """The current tenant's cap on the annualised rate (年化利率上限, a fraction: 0.24) that no
    product or loan may exceed, measured as the IRR including every fee. The plugin that owns
    the setting answers; None from every plugin means the default, 24%."""


@hookspec(firstresult=True)
def loandesk_loan_book() -> LoanBook | None:
    """The current tenant's loan book (``loandesk.lending.LoanBook``): the plugin that keeps
    loans answers, so that others read, book and activate loans through it. None from every
    plugin means no loan-keeping plugin is enabled."""


@hookspec(firstresult=True)
def loandesk_customer_registry() -> CustomerRegistry | None:
    """The current tenant's customers (``loandesk.lending.CustomerRegistry``): the plugin that
    keeps customers answers, so that others find and add customers through it. None from
    every plugin means no customer-keeping plugin is enabled."""


@hookspec(firstresult=True)
def loandesk_application_intake() -> ApplicationIntake | None:
    """The current tenant's application intake (``loandesk.lending.ApplicationIntake``): the
    plugin that keeps applications answers, so that others start draft applications through
    it. None from every plugin means no application-keeping plugin is enabled."""


@hookspec(firstresult=True)
def loandesk_application_for_loan(
    session: Session, application_id: uuid.UUID
) -> ApplicationSummary | None:
    """The current tenant's application ``application_id`` (``loandesk.lending.
    ApplicationSummary``), asked when a loan is booked from it (to check that it is approved,
    of the same customer, and that the principal is within the approved amount), when the
    booking page is pre-filled from it, and when its loan's contract is signed. The plugin
    that keeps applications answers, in the caller's transaction and without writing; None
    from every plugin means there is no such application (or none is kept)."""


@hookspec
def loandesk_product_catalogue(
    session: Session, include_inactive: bool
) -> list[ProductTerms] | None:
    """The current tenant's products, each with the terms of its version in force
    (``loandesk.finance.ProductTerms``, its ``code`` and ``name`` included): the active ones,
    which a loan may be booked on now (the booking page's choice, matching an application's
    product by code), or with ``include_inactive`` every product that has a version (pages
    that set something per product, such as the repayment plugin's reminders). The plugin
    that owns the catalogue answers; others return None."""


@hookspec
def loandesk_loan_positions(session: Session, positions: list[LoanPosition]) -> None:
    """Loans' arrears moved (``loandesk.lending.LoanPosition``), called for the current
    tenant's enabled plugins inside the transaction that moved them, so that what they write
    commits (or rolls back, and is done again on the retry) with it:

    - after each chunk of close of business: every loan of the chunk still in arrears
      (``days_past_due > 0``) and every loan whose bucket changed (back to the first bucket
      included), up to a few hundred at once;
    - after a payment or a reversal on a loan close of business has already seen: that loan,
      whatever it now owes;
    - when a loan is paid out (cause ``activation``, nothing owed yet), and after a payment
      or a reversal on a written-off loan (cause ``recovery_payment`` / ``recovery_reversal``,
      status ``written_off``: arrears no longer move, what was recovered did).

    Work set-based over the list (a handful of statements, not one per loan); never commit;
    raise only for a real fault (the chunk, or the payment, is rolled back with it)."""


@hookspec
def loandesk_dossier_sections(session: Session, loan_id: uuid.UUID) -> list[DossierSection] | None:
    """What the plugin contributes to the litigation dossier (诉讼材料包) of the current
    tenant's loan ``loan_id`` (``loandesk.lending.DossierSection``: a titled table and its
    files): the contracts plugin its signed contract, collections its records and demand
    letters. Called for the tenant's enabled plugins when the dossier is exported, in the
    caller's transaction and without writing; None (or []) when it has nothing for the loan.
    Personal data in rows is shown as the dossier's reader may see it (a lawyer's copy is
    unmasked only for a user whose field permission allows it)."""


@hookspec(firstresult=True)
def loandesk_borrower_contacts(session: Session, customer_id: uuid.UUID) -> BorrowerContacts | None:
    """How to reach the current tenant's customer ``customer_id`` (``loandesk.lending.
    BorrowerContacts``: name, phones, address, emergency contacts), each personal value as
    the acting staff member's field permission on the customer allows (in full, masked, or
    left out), whatever their data scope: the asker has already decided the viewer may work
    the borrower (a collector on their case). Values shown in full are audited as viewed.
    The plugin that keeps customers answers; None for no such customer."""


@hookspec
def loandesk_payout_blockers(session: Session, loan_id: uuid.UUID) -> list[str] | None:
    """Why the pending loan ``loan_id`` may not be paid out yet (its contract is not signed),
    asked for the current tenant's enabled plugins before a disbursement is requested and
    again before the money goes out. Return messages staff can act on (translated), or None
    (or an empty list) when the plugin has no objection."""


@hookspec
def loandesk_payout_connectors() -> list[PayoutConnector] | None:
    """Payout providers (放款通道) a connector plugin offers, called for the current tenant's
    enabled plugins when a disbursement order is paid and when a provider's callback arrives
    (``loandesk.payouts.PayoutConnector``: ``key``, labels, ``pay(request)`` once per
    idempotency key, ``read_callback(headers, body)`` verifying the provider's signature, and
    optionally ``query(idempotency_key)`` for payouts left pending, see ``PayoutQuery``).
    Read them with ``sdk.payout_connectors()``; return None to offer none."""


# --- e-signature (per tenant) -----------------------------------------------------------------


@hookspec
def loandesk_signature_providers() -> list[Any]:
    """E-signature providers (电子签章) the plugin offers the current tenant: objects that
    implement ``loandesk.esign.SignatureProvider`` (``key`` as ``<plugin>`` or
    ``<plugin>.<name>``, labels, ``request_signature``, ``handle_callback``, ``fetch_signed``).
    Called for the tenant's enabled plugins whenever a contract is sent for signing or a
    provider calls back; the first provider answered is used, so a connector plugin (e签宝,
    法大大) wins over the contracts plugin's built-in click-to-sign, which is marked
    ``trylast``. A connector reads its credentials from its own settings
    (``sdk.plugin_settings``); return an empty list while they are not filled in."""


# --- sign-in (per tenant) ---------------------------------------------------------------------


@hookspec
def loandesk_sign_in_providers() -> list[SignInProvider] | None:
    """Ways for staff to sign in with an account elsewhere (钉钉登录, 企业微信登录): instances
    of ``loandesk.sdk.SignInProvider`` (``key``, labels, ``authorize_url``, ``identify``,
    ``user_for``). Called for the current tenant's enabled plugins whenever the sign-in page
    is shown and a sign-in through a provider starts or comes back, so it must be quick (read
    the plugin's settings, call nobody). Return only the providers the tenant has allowed
    and configured (None or an empty list: none); the sign-in page shows a button for each,
    and ``/t/<slug>/sign-in/<key>`` answers 404 for any other key. The core does the rest
    (state, tenant, active user, session, audit: ``docs/plugin-guide.md``)."""


# --- connectors (per tenant) -----------------------------------------------------------------


@hookspec
def loandesk_connectors() -> list[Connector] | None:
    """The providers outside LoanDesk the plugin talks to (``sdk.Connector``: ``key`` as
    ``<plugin>`` or ``<plugin>.<name>``, labels, ``plugin``, ``test(session)`` and the
    notification ``channels`` it gives), called for the current tenant's enabled plugins when
    Administration → Connectors (连接器) is shown, an admin tests one, and the outbox records a
    send. ``test`` makes one harmless real call with the tenant's saved settings (a token, an
    SMTP login, a query that moves nothing) and returns a short detail or raises with a clear
    message without secrets. Outcomes of sends through ``channels`` are recorded by the core;
    record other calls with ``sdk.connector_succeeded(key)`` / ``sdk.connector_failed(key,
    error)``. Return None (or an empty list) to declare none."""


# --- tenant bundles (start-up) ----------------------------------------------------------------


@hookspec
def loandesk_bundle_files() -> list[BundleFile]:
    """Files the plugin adds to tenant bundles (``loandesk.sdk.BundleFile``), for configuration
    it keeps in its own tables; called once when the app is created. Each names a new file
    (``collections.yaml``), its marshmallow schema and JSON Schema fragment, and
    ``export(session, context)``, ``check(session, data, context)`` → (path, message) problems
    and ``apply(session, data, context)``, which makes each change through
    ``context.change(path, summary, service_function, ...)``. ``loandesk tenant export``,
    ``check`` and ``apply`` use the files of the plugins the tenant has enabled (or the bundle
    enables), after the core's files, a plugin's after those of the plugins it needs."""
