"""What a plugin asks of the core, and of the other enabled plugins through the host: its
settings and transactions, the results of other plugins' hooks (customer sections, exposure,
product terms, the loan book, payout blockers, ...), automation rules, to-dos and attachments.
Plugins reach these through ``loandesk.sdk``; each imports what it calls when it is called, so
importing the sdk stays cheap and free of cycles."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from loandesk.automations.engine import ActionContext
from loandesk.errors import NotFound
from loandesk.esign import (
    SignatureProvider,
)
from loandesk.fields import RecordType
from loandesk.fields.current import current_form
from loandesk.finance import ProductTerms
from loandesk.i18n import N_
from loandesk.lending import (
    ApplicationIntake,
    ApplicationSummary,
    BorrowerContacts,
    CustomerRegistry,
    DossierSection,
    LoanBook,
    LoanPosition,
)
from loandesk.payouts import (
    PayoutConnector,
)
from loandesk.plugins.info import (
    ProfileSection,
)
from loandesk.tenancy import current


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


DEFAULT_RATE_CAP = Decimal("0.24")  # 24 % a year: the cap when no plugin sets one


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
    found: LoanBook = _offered("loandesk_loan_book", N_("Loans are not enabled for this firm."))
    return found


def customer_registry() -> CustomerRegistry:
    """The current tenant's customers (``loandesk_customer_registry``): find and add customers
    through the plugin that keeps them; ``NotFound`` when none is enabled."""
    found: CustomerRegistry = _offered(
        "loandesk_customer_registry", N_("Customers are not enabled for this firm.")
    )
    return found


def application_intake() -> ApplicationIntake:
    """The current tenant's application intake (``loandesk_application_intake``): start
    draft applications through the plugin that keeps them; ``NotFound`` when none is
    enabled."""
    found: ApplicationIntake = _offered(
        "loandesk_application_intake", N_("Applications are not enabled for this firm.")
    )
    return found


def _offered(hook: str, missing: str) -> Any:
    """What the one enabled plugin answering the firstresult ``hook`` offers; ``NotFound``
    saying ``missing`` when no enabled plugin answers."""
    from loandesk.plugins import runtime

    found = runtime.hook(hook)()
    if found is None:
        raise NotFound(missing)
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


def render_action_template(ctx: ActionContext, text: str) -> str:
    """``text``, a message template an automation action keeps (checked when the rule is saved
    with ``template_problems(text, form.expression_kinds)``), rendered for the action's record
    as the core's actions render theirs: its fields (an empty one as nothing), its ``title``
    and the tenant's ``today``."""
    from loandesk.automations.actions import extras
    from loandesk.automations.templates import render

    return render(text, {**ctx.values, **extras(ctx, current().timezone)})


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
