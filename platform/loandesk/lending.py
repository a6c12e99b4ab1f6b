"""The loan book as other plugins see it (贷款台账): a contract in the core, implemented by the
plugin that keeps loans (``loandesk_repayment``) and reached through ``sdk.loan_book()``, so
that contracts, disbursement and collections work with loans without importing that plugin
(DESIGN §3: contracts in the core, implementations in plugins). Likewise an application as
the loan booked from it sees it (``ApplicationSummary``, ``sdk.application_for_loan()``),
answered by the plugin that keeps applications (``loandesk_intake``). A lead converted into an
application (``loandesk_channels``) goes through ``CustomerRegistry`` and ``ApplicationIntake``,
answered by the plugins that keep customers and applications."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from loandesk.finance import ProductTerms, Terms

if TYPE_CHECKING:
    from loandesk.fields.values import Context as ValueContext
    from loandesk.pii import Keyring
    from loandesk.rbac.access import RecordAccess


@dataclass(frozen=True)
class FunderShare:
    """A funder's (资金方) share of one loan, chosen at booking (联合贷 70/30: two of them).
    ``share`` is a fraction (``Decimal("0.7")``); a loan's shares add up to exactly 1."""

    funder_id: uuid.UUID
    code: str
    name: str
    share: Decimal


@dataclass(frozen=True)
class LoanSummary:
    """One loan as plain values: what a contract states, a payout activates, a collector sees.
    ``terms`` are the booked terms until the loan is paid out, then those it runs on."""

    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    application_id: uuid.UUID | None
    status: str  # pending (待放款) / active / settled (结清) / written_off (已核销)
    principal: Decimal
    periods: int
    product_terms: ProductTerms
    terms: Terms
    annual_rate_irr: Decimal | None
    disbursed_on: dt.date | None
    owner_id: uuid.UUID
    org_unit_id: uuid.UUID
    # who provides the money and in what share, largest first (a disbursement shows the split)
    funders: tuple[FunderShare, ...] = ()
    # arrears as the last close of business (or a payment since) left them (see LoanPosition)
    cob_date: dt.date | None = None
    days_past_due: int = 0
    bucket: str = "M0"
    overdue_amount: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class LoanPosition:
    """Where one active loan stands on arrears (逾期状况) as of ``business_date``: what close of
    business leaves after each chunk, and what a payment or a reversal leaves on a loan close
    of business has seen. Handed to ``loandesk_loan_positions`` so that collections opens,
    re-assigns and closes cases and the assets plugin classifies loans, set-based over many
    loans at once. ``previous_bucket`` is the bucket before this change (equal to ``bucket``
    when it did not move). Amounts are what is owed on installments due before
    ``business_date`` (``overdue_*``) and the principal not yet repaid (``principal_outstanding``).
    """

    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    product_code: str
    owner_id: uuid.UUID
    org_unit_id: uuid.UUID
    status: str  # active / settled
    business_date: dt.date
    days_past_due: int
    bucket: str
    previous_bucket: str
    overdue_principal: Decimal
    overdue_amount: Decimal
    principal_outstanding: Decimal
    cause: str  # cob / payment / reversal


@dataclass(frozen=True)
class ApplicationSummary:
    """One loan application (借款申请) as plain values: what booking a loan from it checks
    (approved, the same customer, a principal within the approved ``amount``) and pre-fills
    (``term_months``, the intake product's ``product_code``, matched to the catalogue's
    product of the same code where there is one)."""

    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    amount: Decimal
    term_months: int
    product_code: str | None
    status: str  # draft / submitted / in_review / returned / approved / rejected / ...
    owner_id: uuid.UUID


@dataclass(frozen=True)
class InstallmentLine:
    """One installment (期供) as a borrower's page or a collector's screen shows it."""

    number: int  # 0 = upfront fees due at payout
    due_date: dt.date
    principal_due: Decimal
    interest_due: Decimal
    fees_due: Decimal
    penalty_due: Decimal
    paid: Decimal
    outstanding: Decimal
    status: str  # pending / paid (and, once close of business runs, due / overdue)


@dataclass(frozen=True)
class PaymentLine:
    """One payment (还款) received on a loan."""

    id: uuid.UUID
    received_on: dt.date
    amount: Decimal
    status: str  # posted / reversed
    reference: str | None


@dataclass(frozen=True)
class LoanHistory:
    """One loan with its schedule in force and every payment (reversed ones included), as
    ``LoanBook.histories`` reads them many loans at a time: what early warning (逾期预警)
    rebuilds a loan's arrears from as of any past date."""

    loan: LoanSummary
    installments: tuple[InstallmentLine, ...]
    payments: tuple[PaymentLine, ...]


@dataclass(frozen=True)
class LedgerTotal:
    """What one loan's ledger (分户账) booked on one day for one event and account: the sums of
    its debit and credit lines (all funders' shares together). ``event`` is the ledger's own
    (``activation``, ``payment``, ``reversal``, ``penalty``, ``credit``, ``write_off``,
    ``reschedule``, ``restore``), ``account`` its account (``receivable_principal``, ``cash``,
    ``funds_disbursed``, ``fee_income``, ...): what vouchers (记账凭证) are made of."""

    booked_on: dt.date
    event: str
    account: str
    loan_id: uuid.UUID
    loan_number: str
    customer_id: uuid.UUID
    product_code: str
    debit: Decimal
    credit: Decimal


class LoanBook(Protocol):
    """What the loan-keeping plugin offers the others, in the caller's transaction."""

    def get(self, session: Session, loan_id: Any) -> LoanSummary | None:
        """The loan ``loan_id`` of the current tenant, or None."""

    def installments(self, session: Session, loan_id: Any) -> list[InstallmentLine]:
        """The loan's installments by number (empty until it is paid out)."""

    def payments(self, session: Session, loan_id: Any) -> list[PaymentLine]:
        """The loan's payments in the order they were posted, reversed ones included."""

    def histories(
        self,
        session: Session,
        *,
        statuses: Sequence[str] = ("active",),
        after: uuid.UUID | None = None,
        limit: int = 500,
        loan_ids: Sequence[uuid.UUID] | None = None,
        customer_ids: Sequence[uuid.UUID] | None = None,
    ) -> list[LoanHistory]:
        """Up to ``limit`` loans of the current tenant in one of ``statuses``, by id after
        ``after`` (page on with the last id returned), narrowed to ``loan_ids`` or
        ``customer_ids`` when given, each with its installments and payments: a bulk read
        in a few queries, for jobs that go through thousands of loans."""

    def positions(
        self, session: Session, *, after: uuid.UUID | None = None, limit: int = 500
    ) -> list[LoanPosition]:
        """Up to ``limit`` active loans of the current tenant by id after ``after`` (page on
        with the last id returned), each's arrears as they stand now (``LoanPosition`` with
        cause ``snapshot`` and the tenant's business date): for a plugin enabled after loans
        were paid out to take them all in once (the assets plugin classifies them)."""

    def book(
        self,
        session: Session,
        *,
        customer_id: Any,
        product_id: Any,
        principal: Any,
        periods: Any,
        product_version: int | None = None,
        application_id: uuid.UUID | None = None,
        funders: Sequence[Mapping[str, Any]] | None = None,
        expected_on: dt.date | None = None,
        maturity_date: dt.date | None = None,
        owner_id: uuid.UUID | None = None,
        booked_by: uuid.UUID | None = None,
        idempotency_key: str | None = None,
    ) -> LoanSummary:
        """Book a pending loan of the product's terms (checked against its ranges and the
        tenant's rate cap: ``ValidationFailed`` naming the field)."""

    def activate(self, session: Session, loan_id: Any, disbursed_on: dt.date) -> LoanSummary:
        """Pay out the pending loan on ``disbursed_on``: its schedule starts that day.
        ``Conflict`` when it is not pending."""

    def write_off(
        self,
        session: Session,
        loan_id: Any,
        written_off_on: dt.date,
        *,
        reason: str,
        approved_by: uuid.UUID | None = None,
    ) -> WrittenOff:
        """Write the active loan off (核销) on ``written_off_on``: status ``written_off``, its
        outstanding receivables moved to write-off in the ledger, audited, event
        ``loan.written_off``. Close of business leaves it; the borrower still owes, and later
        payments post as recoveries (``recoveries``). ``Conflict`` when it is not active."""

    def recoveries(
        self, session: Session, loan_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Decimal]:
        """What was recovered (payments posted after the write-off, less their reversals) on
        each written-off loan of ``loan_ids`` (absent: nothing), in one query."""

    def ledger_totals(self, session: Session, booked_on: dt.date) -> list[LedgerTotal]:
        """Every line the current tenant's loan ledger booked on ``booked_on``, summed by event,
        account and loan (``LedgerTotal``), in one query: the source of truth for vouchers.
        Each event's lines balance, so the totals of a day do too."""


@dataclass(frozen=True)
class WrittenOff:
    """What a write-off (核销) took off the books: the outstanding of each part
    (principal, interest, fees, penalty) on ``written_off_on``, and their ``total``."""

    loan_id: uuid.UUID
    written_off_on: dt.date
    principal: Decimal
    interest: Decimal
    fees: Decimal
    penalty: Decimal
    total: Decimal


@dataclass(frozen=True)
class DossierFile:
    """A file that goes into a loan's litigation dossier as it is (the signed contract PDF)."""

    name: str  # file name in the dossier, e.g. "借款合同-DK2026000001.pdf"
    content_type: str
    data: bytes


@dataclass(frozen=True)
class DossierSection:
    """One part of a loan's litigation dossier (诉讼材料包) that a plugin contributes through
    ``loandesk_dossier_sections``: a titled table (collection records, the contract's
    signing history) and the files that go with it. ``columns`` are (Chinese, English)
    labels; ``rows`` plain text, one value per column, in the order a lawyer reads them
    (oldest first). ``order`` places the section among the others (lower first)."""

    key: str
    title_zh: str
    title_en: str
    columns: tuple[tuple[str, str], ...]
    rows: tuple[tuple[str, ...], ...]
    files: tuple[DossierFile, ...] = ()
    order: int = 100


@dataclass(frozen=True)
class ContactPerson:
    """An emergency contact (紧急联系人) as a collector may see them: ``phone`` is masked or
    None as the viewer's field permission says."""

    name: str
    relation: str  # spouse / parent / sibling / child / colleague / friend / other
    phone: str | None


@dataclass(frozen=True)
class BorrowerContacts:
    """How to reach a borrower (借款人联系方式), shown as the acting staff member's field
    permissions on the customer allow: each personal value is in full, masked, or None when
    hidden from them (``masked`` names those shown masked). Answered by the plugin that keeps
    customers through ``loandesk_borrower_contacts``; collections shows it on a case."""

    customer_id: uuid.UUID
    name: str
    phones: tuple[str, ...]
    address: str | None
    contacts: tuple[ContactPerson, ...] = ()
    masked: tuple[str, ...] = ()


class CustomerRegistry(Protocol):
    """What the plugin that keeps customers offers the others, in the caller's transaction and
    under the acting staff member's ``access`` to customers (their data scope and field
    permissions, exactly as on the customers' own pages)."""

    def find_by_id_number(
        self, session: Session, access: RecordAccess, keys: Keyring, id_number: str
    ) -> uuid.UUID | None:
        """The customer with this ID number (证件号码) that ``access`` reaches, or None."""

    def create(
        self,
        session: Session,
        access: RecordAccess,
        keys: Keyring,
        values: Mapping[str, Any],
        *,
        owner_id: uuid.UUID,
    ) -> uuid.UUID:
        """A new customer owned by ``owner_id`` (audited, ``customer.created`` emitted); only
        fields ``access`` may edit may be given."""


class ApplicationIntake(Protocol):
    """What the plugin that keeps applications offers the others, in the caller's
    transaction and under the acting staff member's ``access`` to applications."""

    def create_draft(
        self,
        session: Session,
        access: RecordAccess,
        keys: Keyring,
        values: Mapping[str, Any],
        *,
        owner_id: uuid.UUID,
        context: ValueContext,
    ) -> uuid.UUID:
        """A new draft application owned by ``owner_id`` (``customer_id``, ``amount``,
        ``term_months``), checked by the tenant's application form and the product's limits
        exactly as one typed in; ``ValidationFailed`` names the fields that are wrong."""
