"""The public surface for plugin authors: a plugin imports ``loandesk.sdk`` and nothing else of
the core. Re-exports only; each name is documented where it is defined.

A minimal plugin module, named by an entry point in the ``loandesk.plugins`` group::

    from loandesk import sdk

    PLUGIN = sdk.PluginInfo(name="hello", title_zh="示例", title_en="Hello", version="1.0")

    @sdk.hookimpl
    def loandesk_permissions():
        return [sdk.Permission("hello.greet", "打招呼", "Greet")]
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pluggy
from sqlalchemy.orm import Session

from loandesk import finance
from loandesk.api.external_accounts import staff_routes as staff_account_routes
from loandesk.api.lists import ListArgs, RecordSchema
from loandesk.api.lists import view_state as list_state
from loandesk.api.schemas import PageArgs, RecordWriteSchema, page_of
from loandesk.audit import Entry as AuditEntry
from loandesk.audit import changes as audit_changes
from loandesk.audit import record as audit_record
from loandesk.audit import record_many as audit_record_many
from loandesk.auth.external_accounts import AccountKind as StaffAccountKind
from loandesk.auth.external_accounts import external_id_of as staff_external_id
from loandesk.auth.external_accounts import link_staff as link_staff_account
from loandesk.auth.external_accounts import move_accounts as move_staff_accounts
from loandesk.auth.external_accounts import restore_accounts as restore_staff_accounts
from loandesk.auth.external_accounts import shared_accounts as shared_staff_accounts
from loandesk.auth.external_accounts import staff_accounts
from loandesk.auth.external_accounts import user_of_external_id as staff_of_external_id
from loandesk.auth.oauth import require_token
from loandesk.auth.sign_in_providers import SignInProvider, SignInRefused
from loandesk.auth.users import active_staff, display_names
from loandesk.automations.engine import ActionContext
from loandesk.automations.outbound import Answer as OutboundAnswer
from loandesk.automations.outbound import DeliveryFailed
from loandesk.automations.outbound import Policy as OutboundPolicy
from loandesk.automations.outbound import post as outbound_post
from loandesk.automations.outbound import url_problem as outbound_url_problem
from loandesk.automations.rules import ActionType
from loandesk.automations.templates import problems as template_problems
from loandesk.bundle.contract import BundleContext, BundleFile
from loandesk.callbacks import record_refused as audit_refused_callback
from loandesk.connectors import Connector, ConnectorTestFailed
from loandesk.connectors.helpers import (
    TokenCache,
    call_json,
    in_locale,
    mask_request_logs,
    staff_page_url,
)
from loandesk.connectors.probe import reachable as connector_reachable
from loandesk.connectors.status import failed as connector_failed
from loandesk.connectors.status import succeeded as connector_succeeded
from loandesk.db import Base, Money, TenantOwned, UTCDateTime, to_minor_units, utcnow, uuid7
from loandesk.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from loandesk.esign import (
    CallbackRefused,
    ProviderUnavailable,
    SignatureOutcome,
    SignatureProvider,
    SignatureRequest,
    Signer,
)
from loandesk.events import Event, EventHandler, EventType, emit, emit_many
from loandesk.expressions import Expression, ExpressionError, compile_expression
from loandesk.extension import session
from loandesk.fields import FieldSpec, RecordType
from loandesk.fields.current import current_form, value_context
from loandesk.fields.forms import Form, Section
from loandesk.fields.lists import ListState, RecordList
from loandesk.fields.lists import Page as ListResult
from loandesk.fields.lists import Resolved as ListResolved
from loandesk.fields.models import CustomValues, JSONValues
from loandesk.fields.saved_views import views_of as list_views
from loandesk.fields.validation import (
    Clean,
    current_values,
    message,
    read_custom,
    store_custom,
    validate_record,
)
from loandesk.fields.validation import (
    defaults as field_defaults,
)
from loandesk.fields.values import Context as ValueContext
from loandesk.fields.web import RecordView, submitted
from loandesk.fields.web import choices as record_choices
from loandesk.fields.web import names as record_names
from loandesk.fields.web import typed as typed_values
from loandesk.finance import ProductTerms
from loandesk.flows.service import latest as latest_approval
from loandesk.flows.service import submit_for_approval
from loandesk.i18n import N_
from loandesk.imports.export import workbook as export_workbook
from loandesk.imports.sheets import XLSX_MIMETYPE
from loandesk.jobs import JobContext, JobSpec
from loandesk.jobs.runtime import enqueue
from loandesk.jobs.schedules import Schedule
from loandesk.lending import (
    ApplicationSummary,
    BorrowerContacts,
    ContactPerson,
    DossierFile,
    DossierSection,
    FunderShare,
    InstallmentLine,
    LedgerTotal,
    LoanBook,
    LoanHistory,
    LoanPosition,
    LoanSummary,
    PaymentLine,
    WrittenOff,
)
from loandesk.notifications.channels import (
    Channel,
    OutgoingMessage,
    SmsTemplateUse,
    Undeliverable,
)
from loandesk.observability.metrics import counter as metric_counter
from loandesk.observability.metrics import histogram as metric_histogram
from loandesk.payouts import (
    InvalidCallback,
    PayoutConnector,
    PayoutQuery,
    PayoutRequest,
    PayoutResult,
    can_query,
)
from loandesk.pdf import FONT_FAMILY as PDF_FONT_FAMILY
from loandesk.pdf import RefusedFetch as PdfRefusedFetch
from loandesk.pdf import to_pdf as html_to_pdf
from loandesk.pii import Keyring, PersonalData
from loandesk.pii import for_current_tenant as keyring
from loandesk.pii.logfilter import scrub as scrub_personal
from loandesk.pii.retention import ANONYMISED_NAME, RetentionSubject, clear_personal
from loandesk.pii.validation import validate as validate_personal
from loandesk.plugins.forms import labels as setting_labels
from loandesk.plugins.info import (
    NavCount,
    NavItem,
    Permission,
    PluginInfo,
    ProfileRow,
    ProfileSection,
)
from loandesk.rbac.access import RecordAccess
from loandesk.rbac.current import acting_user, acting_user_with, record_access
from loandesk.rbac.org import unit_names, unit_of
from loandesk.reports import Dataset, Dimension, Measure, Source, SourceColumn
from loandesk.reports.builtin import BuiltinReport
from loandesk.reports.tasks import approval_tasks
from loandesk.security.links import public_url
from loandesk.security.links import read as read_signed
from loandesk.security.links import sign as sign_link
from loandesk.security.web import check_public_form
from loandesk.tenancy import TenantRef, current
from loandesk.tenancy.rls import each_tenant
from loandesk.tenancy.rls import enable as enable_rls
from loandesk.web.approvals.summary import (
    RECORD_APPROVAL_TEMPLATE,
    RecordApproval,
    record_approval,
)
from loandesk.web.auth_views import admin_required, login_required, permission_required
from loandesk.web.csrf import exempt as csrf_exempt
from loandesk.web.forms import FormErrors
from loandesk.web.lists import ListPage
from loandesk.web.lists import chosen as list_request
from loandesk.web.todo_views import RECORD_TODOS_TEMPLATE, record_todos

hookimpl = pluggy.HookimplMarker("loandesk")


def transaction() -> AbstractContextManager[Session]:
    """A new session of the current tenant in its own short transaction, committed when the
    ``with`` block ends (rolled back if it raises): for a plugin's own bookkeeping that must
    hold whatever the caller's transaction does, such as a channel counting a message before
    it calls the provider."""
    from loandesk import extension

    return extension.get().db.transaction()


def plugin_settings(name: str) -> dict[str, Any]:
    """The settings of plugin ``name`` for the current tenant, secrets decrypted (for the
    plugin's own use: never display them)."""
    from loandesk import extension, pii
    from loandesk.plugins import runtime, service

    return service.settings_for(
        extension.session(), runtime.host(), keyring=pii.for_current_tenant(), name=name
    )


def customer_merged(session: Session, survivor_id: Any, merged_id: Any) -> None:
    """Tell the current tenant's enabled plugins that ``merged_id`` was merged into
    ``survivor_id`` (``loandesk_customer_merged``), in the caller's transaction."""
    from loandesk.plugins import runtime

    runtime.hook("loandesk_customer_merged")(
        session=session, survivor_id=survivor_id, merged_id=merged_id
    )


def customer_360_sections(session: Session, customer_id: Any) -> list[ProfileSection]:
    """The sections the current tenant's enabled plugins add to a customer's 360° page
    (``loandesk_customer_360_sections``)."""
    from loandesk.plugins import runtime

    found = runtime.hook("loandesk_customer_360_sections")(session=session, customer_id=customer_id)
    return [section for sections in found for section in sections or ()]


def record_sections(session: Session, record_type: str, record_id: Any) -> list[ProfileSection]:
    """The sections the current tenant's enabled plugins add to the page of ``record_type``'s
    record ``record_id`` (``loandesk_record_sections``), by ``order``."""
    from loandesk.plugins import runtime

    found = runtime.hook("loandesk_record_sections")(
        session=session, record_type=record_type, record_id=record_id
    )
    return sorted((s for sections in found for s in sections or ()), key=lambda s: s.order)


def credit_connectors() -> list[Any]:
    """The credit-data connectors (``loandesk_credit_connectors``) of the plugins the current
    tenant has enabled, in the order the plugins answer."""
    from loandesk.plugins import runtime

    return [c for found in runtime.hook("loandesk_credit_connectors")() for c in found or ()]


def risk_variable_kinds(record_type: RecordType) -> dict[str, str]:
    """The risk variables (name -> kind) the current tenant's enabled plugins give the rules
    of ``record_type`` (``loandesk_risk_variable_kinds``), merged in the plugins' order."""
    from loandesk.plugins import runtime

    found: dict[str, str] = {}
    for kinds in runtime.hook("loandesk_risk_variable_kinds")(record_type=record_type):
        found.update(kinds or {})
    return found


def risk_variables(session: Session, record_type: RecordType, record: Any) -> dict[str, Any]:
    """The risk variables' values for ``record`` (``loandesk_risk_variables``), merged."""
    from loandesk.plugins import runtime

    found: dict[str, Any] = {}
    caller = runtime.hook("loandesk_risk_variables")
    for values in caller(session=session, record_type=record_type, record=record):
        found.update(values or {})
    return found


def customer_exposure(session: Session, customer_ids: list[Any]) -> Decimal:
    """The sum of what the current tenant's enabled plugins answer to
    ``loandesk_customer_exposure`` for the borrower behind ``customer_ids`` (0 when none)."""
    from loandesk.plugins import runtime

    answers = runtime.hook("loandesk_customer_exposure")(
        session=session, customer_ids=list(customer_ids)
    )
    return sum((Decimal(a) for a in answers if a is not None), Decimal(0))


DEFAULT_RATE_CAP = Decimal("0.24")


def product_terms(session: Session, product_id: Any, version: int | None = None) -> ProductTerms:
    """The terms of the current tenant's product ``product_id`` (its version ``version``, or
    the one in force) from the plugin that owns the catalogue (``loandesk_product_terms``);
    ``NotFound`` when there is none."""
    from loandesk.plugins import runtime

    found = runtime.hook("loandesk_product_terms")(
        session=session, product_id=product_id, version=version
    )
    if found is None:
        raise NotFound(N_("No such product."))
    return found


def loan_book() -> LoanBook:
    """The current tenant's loan book (``loandesk_loan_book``): read, book and activate loans
    of the plugin that keeps them; ``NotFound`` when none is enabled."""
    from loandesk.plugins import runtime

    found = runtime.hook("loandesk_loan_book")()
    if found is None:
        raise NotFound(N_("Loans are not enabled for this firm."))
    return found


def application_for_loan(session: Session, application_id: Any) -> ApplicationSummary | None:
    """The current tenant's application ``application_id`` as a loan booked from it sees it
    (``loandesk_application_for_loan``), or None when there is none (an id that is not a
    UUID included) or no enabled plugin keeps applications."""
    from loandesk.plugins import runtime

    try:
        wanted = (
            application_id
            if isinstance(application_id, uuid.UUID)
            else uuid.UUID(str(application_id))
        )
    except ValueError:
        return None
    found: ApplicationSummary | None = runtime.hook("loandesk_application_for_loan")(
        session=session, application_id=wanted
    )
    return found


def product_catalogue(session: Session, *, include_inactive: bool = False) -> list[ProductTerms]:
    """The current tenant's products at their version in force, by code
    (``loandesk_product_catalogue``): those a loan may be booked on now, or with
    ``include_inactive`` every product that has a version (a page that sets something per
    product, such as the repayment plugin's reminders, also covers products withdrawn from
    sale whose loans are still running). Empty when no plugin keeps a catalogue."""
    from loandesk.plugins import runtime

    found = runtime.hook("loandesk_product_catalogue")(
        session=session, include_inactive=include_inactive
    )
    return sorted((p for products in found for p in products or ()), key=lambda p: p.code)


def payout_blockers(session: Session, loan_id: Any) -> list[str]:
    """Every reason the current tenant's enabled plugins give why the pending loan may not be
    paid out yet (``loandesk_payout_blockers``); empty when none objects."""
    from loandesk.plugins import runtime

    found = runtime.hook("loandesk_payout_blockers")(session=session, loan_id=loan_id)
    return [str(reason) for reasons in found for reason in reasons or ()]


def signature_providers() -> list[SignatureProvider]:
    """The e-signature providers (``loandesk_signature_providers``) of the current tenant's
    enabled plugins, the one to use first (a connector before the built-in click-to-sign)."""
    from loandesk.esign import is_provider
    from loandesk.plugins import runtime

    found = [p for got in runtime.hook("loandesk_signature_providers")() for p in got or ()]
    for provider in found:
        if not is_provider(provider):
            raise TypeError(f"{provider!r} is not a loandesk.esign.SignatureProvider")
    return found


def notify_staff_member(
    session: Session,
    channel: str,
    user_id: uuid.UUID,
    body: str,
    *,
    key: str,
    subject: str = "",
    record: tuple[str, str] | None = None,
) -> Any:
    """Queue a message to one staff member on the tenant's channel ``channel`` (a connector's
    own, such as DingTalk's work notifications) in the caller's transaction, idempotent on
    ``key``, in the tenant's language and time zone. ``ValidationFailed`` on ``channel`` when
    the tenant has no such channel. (The core picks staff's own channels, in-app or e-mail,
    by their preference: this is for a channel a plugin reaches them on besides.)"""
    from loandesk import pii
    from loandesk.notifications import service
    from loandesk.plugins import runtime
    from loandesk.tenancy import current as current_tenant

    tenant = current_tenant()
    return service.notify(
        session,
        channel,
        service.Recipient.staff(user_id),
        body,
        subject=subject,
        key=key,
        channels=runtime.notification_channels(),
        keys=pii.for_current_tenant(),
        record=record,
        locale=tenant.locale or "zh_CN",
        timezone=tenant.timezone,
    )


def notify_borrower(
    session: Session,
    mobile: str,
    body: str,
    *,
    key: str,
    record: tuple[str, str] | None = None,
    urgent: bool = False,
) -> Any:
    """Queue an SMS (the ``sms`` channel) to a borrower's ``mobile`` in the caller's
    transaction, idempotent on ``key`` (a key already used returns its message). Not
    ``urgent`` messages wait out the tenant's quiet hours; a one-time code is urgent.
    ``ValidationFailed`` on ``channel`` when the tenant has no SMS channel."""
    from loandesk import pii
    from loandesk.notifications import service
    from loandesk.plugins import runtime
    from loandesk.tenancy import current as current_tenant

    tenant = current_tenant()
    return service.notify(
        session,
        "sms",
        service.Recipient.borrower(mobile),
        body,
        key=key,
        channels=runtime.notification_channels(),
        keys=pii.for_current_tenant(),
        urgent=urgent,
        record=record,
        locale=tenant.locale or "zh_CN",
        timezone=tenant.timezone,
    )


def render_action_template(ctx: ActionContext, text: str) -> str:
    """``text``, a message template an automation action keeps (checked when the rule is saved
    with ``template_problems(text, form.expression_kinds)``), rendered for the action's record
    as the core's actions render theirs: its fields (an empty one as nothing), its ``title``
    and the tenant's ``today``."""
    from loandesk.automations.actions import extras
    from loandesk.automations.templates import render

    return render(text, {**ctx.values, **extras(ctx, current().timezone)})


def receipt_time(text: Any) -> Any:
    """A Chinese SMS provider's receipt time, ``YYYY-MM-DD HH:MM:SS`` in Beijing time, as an
    aware datetime (None when it is not one)."""
    from loandesk.notifications import receipts

    return receipts.beijing_time(text)


def receipt_token_setting() -> Any:
    """The settings field of a receipt URL's random token (``receive_delivery_receipts``): an
    optional secret of 24 to 100 letters, digits, ``_`` or ``-``, stored encrypted."""
    import marshmallow as ma
    from marshmallow import validate

    return ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9_-]{24,100}$", error=N_("Use 24 to 100 letters, digits, _ or -.")
        ),
        metadata=setting_labels(
            "回执令牌",
            "Receipt token",
            "随机字符串（至少 24 位），放在服务商回执推送地址中；加密保存，保存后不再显示",
            "A random string (24+ characters) in the receipt URL given to the provider; "
            "stored encrypted, never shown again",
            secret=True,
        ),
    )


def record_delivery_receipt(
    session: Session,
    channel_key: str,
    provider_message_id: str,
    delivered: bool,
    at: Any,
    detail: str = "",
) -> Any:
    """Record a provider's delivery receipt (回执) for the message its channel ``channel_key``
    sent and the provider knows as ``provider_message_id`` (what ``send`` returned):
    ``delivered`` to the handset or not, ``at`` (an aware datetime, or None), the provider's
    ``detail`` (status code and words; mobile numbers masked). In the caller's transaction;
    the message, or None when the current tenant has none with that id. Shown in the message
    log."""
    from loandesk.notifications import receipts

    return receipts.record(session, channel_key, provider_message_id, delivered, at, detail)


def receive_delivery_receipts(
    plugin: str, token: str, expected: str | None, record: Callable[[Session, Any], object]
) -> int:
    """The body of a receipt route whose URL carries the tenant's random token (providers
    that do not sign their pushes): 403 when ``token`` is not ``expected`` (compared in
    constant time), 400 when ``record(session, parsed JSON body)`` raises ``ValueError`` (not
    the provider's documented body; a body that is not JSON comes as None), each audited as a
    refused callback (``callback.refused``, a digest of the body, never the body or token);
    else the receipts are committed and 200. The HTTP status to answer with."""
    from flask import request

    from loandesk.extension import session as current_session
    from loandesk.notifications import receipts

    return receipts.receive(
        current_session(), plugin, token, expected, record,
        request.get_data(), request.remote_addr,
    )  # fmt: skip


def send_sms(
    session: Session,
    to: str,
    template_key: str,
    params: Mapping[str, Any],
    *,
    record_type: str | None = None,
    record_id: str | None = None,
    key: str | None = None,
    urgent: bool = False,
) -> Any:
    """Queue an SMS to the borrower's mobile ``to`` with the tenant's SMS template
    ``template_key`` (短信模板, kept at Administration → SMS templates) in the caller's
    transaction. ``params`` gives each ``{param}`` placeholder of the template's text its value
    (text), no more and no fewer: ``ValidationFailed`` names what is wrong, or ``template``
    when no enabled template has that key. The message log keeps the rendered text; the
    ``sms`` channel gets the template's provider code and the params in placeholder order.
    ``key`` makes it idempotent (a key already used returns its message); without one each
    call queues a new message. Not ``urgent`` messages wait out the quiet hours."""
    from loandesk import pii
    from loandesk.notifications import service, sms_templates
    from loandesk.plugins import runtime
    from loandesk.tenancy import current as current_tenant

    tenant = current_tenant()
    prepared = sms_templates.prepare(session, template_key, params)
    record = (record_type, str(record_id)) if record_type and record_id is not None else None
    return service.notify(
        session,
        "sms",
        service.Recipient.borrower(to),
        prepared.body,
        key=key or f"sms:{template_key}:{uuid7()}",
        channels=runtime.notification_channels(),
        keys=pii.for_current_tenant(),
        urgent=urgent,
        record=record,
        locale=tenant.locale or "zh_CN",
        timezone=tenant.timezone,
        template=prepared.use,
    )


def automation_rule(session: Session, rule_id: Any) -> Any | None:
    """The current tenant's automation rule ``rule_id`` (an ``AutomationRule`` row: ``name``,
    ``trigger``, ``condition``, ``actions``, ``enabled``), or None."""
    from loandesk.automations import service

    try:
        return service.get(session, rule_id)
    except NotFound:
        return None


def save_automation_rule(
    session: Session, data: dict[str, Any], *, rule_id: Any = None, user_id: Any = None
) -> Any:
    """Create the automation rule ``data`` describes (the JSON the automations API takes:
    ``name``, ``record_type``, ``trigger``, ``condition``, ``actions``, ``enabled``), or replace
    rule ``rule_id`` with it, in the caller's transaction: checked, versioned and audited by
    the automations service like a rule saved in the designer, where it then shows. Problems
    raise ``ValidationFailed`` keyed by where they are (``trigger``, ``condition``,
    ``actions.0.texts.zh_CN.body``); a name in use, ``Conflict``. The row."""
    from flask import current_app

    from loandesk.automations import service
    from loandesk.plugins import runtime

    form = current_form(runtime.record_type(str(data.get("record_type"))))
    types = current_app.extensions["loandesk.events"].types
    actions = runtime.automation_actions()
    if rule_id is None:
        return service.create(session, data, form, types, actions, user_id=user_id)
    row = service.get(session, rule_id)
    return service.update(session, row, data, form, types, actions, user_id=user_id)


def remove_automation_rule(session: Session, rule_id: Any) -> bool:
    """Remove automation rule ``rule_id`` (audited): deleted when it never ran, else disabled
    so that its run log stays. True when it was deleted."""
    from sqlalchemy import select

    from loandesk.automations import service
    from loandesk.automations.models import RuleFiring

    row = service.get(session, rule_id)
    fired = select(RuleFiring.id).where(RuleFiring.rule_id == row.id).limit(1)
    if session.scalar(fired) is None:
        service.delete(session, row)
        return True
    service.set_enabled(session, row, False)
    return False


def hook_implemented(name: str) -> bool:
    """Whether any plugin enabled for the current tenant implements the hook ``name``: a
    caller whose arguments cost work to build (``loan_positions_moved``'s positions) skips
    building them when nobody listens."""
    from loandesk.plugins import runtime

    return bool(runtime.hook(name).get_hookimpls())


def loan_positions_moved(session: Session, positions: list[LoanPosition]) -> None:
    """Tell the current tenant's enabled plugins (``loandesk_loan_positions``) that these
    loans' arrears moved, in the caller's transaction; called by the plugin that keeps loans
    (close of business, payments, reversals). Nothing is called for an empty list."""
    from loandesk.plugins import runtime

    if positions:
        runtime.hook("loandesk_loan_positions")(session=session, positions=list(positions))


def dossier_sections(session: Session, loan_id: uuid.UUID) -> list[DossierSection]:
    """The litigation dossier's sections the current tenant's enabled plugins contribute for
    ``loan_id`` (``loandesk_dossier_sections``), by ``order`` then key."""
    from loandesk.plugins import runtime

    found = runtime.hook("loandesk_dossier_sections")(session=session, loan_id=loan_id)
    return sorted((s for part in found for s in part or ()), key=lambda s: (s.order, s.key))


def borrower_contacts(session: Session, customer_id: Any) -> BorrowerContacts | None:
    """The current tenant's customer ``customer_id`` as the acting staff member may reach
    them (``loandesk_borrower_contacts``: personal values masked or left out as their field
    permission says), or None when no enabled plugin knows the customer."""
    from loandesk.plugins import runtime

    found: BorrowerContacts | None = runtime.hook("loandesk_borrower_contacts")(
        session=session, customer_id=customer_id
    )
    return found


def create_todo(
    session: Session,
    title: str,
    *,
    source: str,
    source_key: str | None = None,
    assignee_user_id: uuid.UUID | None = None,
    assignee_role: str | None = None,
    due_on: Any = None,
    note: str = "",
    record_type: str | None = None,
    record_id: Any = None,
) -> Any:
    """A to-do (待办) a plugin raises for a user or a role, in the caller's transaction
    (audited, event ``todo.created``): due all day on the local date ``due_on`` when given,
    linked to ``record_type``'s record ``record_id`` when given. ``source`` names the plugin's
    reason (``collections:promise_broken``); with a ``source_key``, a to-do with that key is
    returned unchanged instead of a second one. ``ValidationFailed`` names what is wrong."""
    from loandesk.plugins import runtime
    from loandesk.tenancy import current as current_tenant
    from loandesk.todos import dates, service

    link = None
    if record_type is not None:
        link = service.Link(runtime.record_type(record_type), str(record_id))
    due = dates.due_at(due_on, None, current_tenant().timezone) if due_on is not None else None
    return service.create(
        session,
        title,
        assignee_user_id=assignee_user_id,
        assignee_role=assignee_role,
        due=due,
        note=note,
        link=link,
        source=source,
        source_key=source_key,
    )


def payout_connectors() -> dict[str, PayoutConnector]:
    """The payout connectors (``loandesk_payout_connectors``) of the plugins the current
    tenant has enabled, by key."""
    from loandesk.plugins import runtime

    found = runtime.hook("loandesk_payout_connectors")()
    return {c.key: c for connectors in found for c in connectors or ()}


def rate_cap() -> Decimal:
    """The current tenant's cap on the IRR-based annual rate (``loandesk_rate_cap``), 24%
    unless a plugin's setting says otherwise."""
    from loandesk.plugins import runtime

    found = runtime.hook("loandesk_rate_cap")()
    return DEFAULT_RATE_CAP if found is None else Decimal(found)


def record_type(key: str) -> RecordType:
    """The current tenant's enabled record type ``key`` (its model and fields): how a plugin
    reads another plugin's records without importing it. ``NotFound`` when none is enabled."""
    from loandesk.plugins import runtime

    return runtime.record_type(key)


def keep_attachment(
    session: Session,
    *,
    filename: str,
    data: bytes,
    uploaded_by: Any,
    record_type: str,
    field_key: str,
    images_only: bool = False,
) -> Any:
    """Check ``data`` (type from its bytes, the install's size limit: ``ValidationFailed`` on
    ``file``) and keep it, audited, as the tenant's attachment for ``field_key`` of
    ``record_type``. For files a plugin attaches to its records itself (an application's
    documents): pick a ``field_key`` no field can have (with a ``-``), and serve the file
    through your own checks with ``send_attachment``."""
    from loandesk import extension
    from loandesk.fields import attachments
    from loandesk.storage import storage

    content_type = attachments.check_file(
        data,
        filename,
        max_size=extension.get().settings.attachment_max_size,
        images_only=images_only,
    )
    return attachments.keep(
        session,
        storage(),
        filename=filename,
        data=data,
        content_type=content_type,
        uploaded_by=uploaded_by,
        record_type=record_type,
        field_key=field_key,
    )


def attachment_bytes(attachment_id: Any) -> bytes:
    """The stored content of the current tenant's attachment (a PDF a plugin kept and now
    signs or stamps); ``NotFound`` when there is none."""
    from loandesk import extension
    from loandesk.fields import attachments
    from loandesk.storage import storage

    found = attachments.get(extension.session(), attachment_id)
    if found is None:
        raise NotFound(N_("No such file."))
    return b"".join(storage().stream(found.storage_key))


def send_attachment(attachment_id: Any, *, inline: bool = False) -> Any:
    """The current tenant's attachment as a download response (audited; ``inline`` previews
    an image); ``NotFound`` when there is none. Whether the caller may see it is yours to
    check first."""
    from loandesk import extension
    from loandesk.fields import attachments
    from loandesk.web.attachment_views import send

    found = attachments.get(extension.session(), attachment_id)
    if found is None:
        raise NotFound(N_("No such file."))
    return send(found, inline=inline and attachments.is_image(found))


__all__ = [
    "ANONYMISED_NAME",
    "DEFAULT_RATE_CAP",
    "N_",
    "PDF_FONT_FAMILY",
    "RECORD_APPROVAL_TEMPLATE",
    "RECORD_TODOS_TEMPLATE",
    "XLSX_MIMETYPE",
    "ActionContext",
    "ActionType",
    "ApplicationSummary",
    "AuditEntry",
    "Base",
    "BorrowerContacts",
    "BuiltinReport",
    "BundleContext",
    "BundleFile",
    "CallbackRefused",
    "Channel",
    "Clean",
    "Conflict",
    "Connector",
    "ConnectorTestFailed",
    "ContactPerson",
    "CustomValues",
    "Dataset",
    "DeliveryFailed",
    "Dimension",
    "DomainError",
    "DossierFile",
    "DossierSection",
    "Event",
    "EventHandler",
    "EventType",
    "Expression",
    "ExpressionError",
    "FieldSpec",
    "Forbidden",
    "Form",
    "FormErrors",
    "FunderShare",
    "InstallmentLine",
    "InvalidCallback",
    "JSONValues",
    "JobContext",
    "JobSpec",
    "Keyring",
    "LedgerTotal",
    "ListArgs",
    "ListPage",
    "ListResolved",
    "ListResult",
    "ListState",
    "LoanBook",
    "LoanHistory",
    "LoanPosition",
    "LoanSummary",
    "Measure",
    "Money",
    "NavCount",
    "NavItem",
    "NotFound",
    "OutboundAnswer",
    "OutboundPolicy",
    "OutgoingMessage",
    "PageArgs",
    "PaymentLine",
    "PayoutConnector",
    "PayoutQuery",
    "PayoutRequest",
    "PayoutResult",
    "PdfRefusedFetch",
    "Permission",
    "PersonalData",
    "PluginInfo",
    "ProductTerms",
    "ProfileRow",
    "ProfileSection",
    "ProviderUnavailable",
    "RecordAccess",
    "RecordApproval",
    "RecordList",
    "RecordSchema",
    "RecordType",
    "RecordView",
    "RecordWriteSchema",
    "RetentionSubject",
    "Schedule",
    "Section",
    "SignInProvider",
    "SignInRefused",
    "SignatureOutcome",
    "SignatureProvider",
    "SignatureRequest",
    "Signer",
    "SmsTemplateUse",
    "Source",
    "SourceColumn",
    "StaffAccountKind",
    "TenantOwned",
    "TenantRef",
    "TokenCache",
    "UTCDateTime",
    "Undeliverable",
    "ValidationFailed",
    "ValueContext",
    "WrittenOff",
    "acting_user",
    "acting_user_with",
    "active_staff",
    "admin_required",
    "application_for_loan",
    "approval_tasks",
    "attachment_bytes",
    "audit_changes",
    "audit_record",
    "audit_record_many",
    "audit_refused_callback",
    "automation_rule",
    "borrower_contacts",
    "call_json",
    "can_query",
    "check_public_form",
    "clear_personal",
    "compile_expression",
    "connector_failed",
    "connector_reachable",
    "connector_succeeded",
    "create_todo",
    "credit_connectors",
    "csrf_exempt",
    "current",
    "current_form",
    "current_values",
    "customer_360_sections",
    "customer_exposure",
    "customer_merged",
    "display_names",
    "dossier_sections",
    "each_tenant",
    "emit",
    "emit_many",
    "enable_rls",
    "enqueue",
    "export_workbook",
    "field_defaults",
    "finance",
    "hook_implemented",
    "hookimpl",
    "html_to_pdf",
    "in_locale",
    "keep_attachment",
    "keyring",
    "latest_approval",
    "link_staff_account",
    "list_request",
    "list_state",
    "list_views",
    "loan_book",
    "loan_positions_moved",
    "login_required",
    "mask_request_logs",
    "message",
    "metric_counter",
    "metric_histogram",
    "move_staff_accounts",
    "notify_borrower",
    "notify_staff_member",
    "outbound_post",
    "outbound_url_problem",
    "page_of",
    "payout_blockers",
    "payout_connectors",
    "permission_required",
    "plugin_settings",
    "product_catalogue",
    "product_terms",
    "public_url",
    "rate_cap",
    "read_custom",
    "read_signed",
    "receipt_time",
    "receipt_token_setting",
    "receive_delivery_receipts",
    "record_access",
    "record_approval",
    "record_choices",
    "record_delivery_receipt",
    "record_names",
    "record_sections",
    "record_todos",
    "record_type",
    "remove_automation_rule",
    "render_action_template",
    "require_token",
    "restore_staff_accounts",
    "risk_variable_kinds",
    "risk_variables",
    "save_automation_rule",
    "scrub_personal",
    "send_attachment",
    "send_sms",
    "session",
    "setting_labels",
    "shared_staff_accounts",
    "sign_link",
    "signature_providers",
    "staff_account_routes",
    "staff_accounts",
    "staff_external_id",
    "staff_of_external_id",
    "staff_page_url",
    "store_custom",
    "submit_for_approval",
    "submitted",
    "template_problems",
    "to_minor_units",
    "transaction",
    "typed_values",
    "unit_names",
    "unit_of",
    "utcnow",
    "uuid7",
    "validate_personal",
    "validate_record",
    "value_context",
]
