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

import pluggy

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
    ApplicationIntake,
    ApplicationSummary,
    BorrowerContacts,
    ContactPerson,
    CustomerRegistry,
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
from loandesk.notifications.plugin_api import (
    notify_borrower,
    notify_staff_member,
    receipt_time,
    receipt_token_setting,
    receive_delivery_receipts,
    record_delivery_receipt,
    send_sms,
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
from loandesk.plugins.calls import (
    DEFAULT_RATE_CAP,
    application_for_loan,
    application_intake,
    attachment_bytes,
    automation_rule,
    borrower_contacts,
    create_todo,
    credit_connectors,
    customer_360_sections,
    customer_exposure,
    customer_merged,
    customer_registry,
    dossier_sections,
    hook_implemented,
    keep_attachment,
    loan_book,
    loan_positions_moved,
    payout_blockers,
    payout_connectors,
    plugin_settings,
    product_catalogue,
    product_terms,
    rate_cap,
    record_sections,
    record_type,
    remove_automation_rule,
    render_action_template,
    risk_variable_kinds,
    risk_variables,
    save_automation_rule,
    send_attachment,
    signature_providers,
    transaction,
)
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
from loandesk.web.paging import page_asked
from loandesk.web.todo_views import RECORD_TODOS_TEMPLATE, record_todos

hookimpl = pluggy.HookimplMarker("loandesk")


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
    "ApplicationIntake",
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
    "CustomerRegistry",
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
    "application_intake",
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
    "customer_registry",
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
    "page_asked",
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
