"""``/api/v1/loans/bank-imports``, ``/loans/bank-lines``, ``/loans/bank-formats`` and
``/loans/{id}/repayment-card``: statement imports, the unmatched queue (assign to a loan or
dismiss), saved column mappings and a loan's repayment card. Routes join the plugin's API
blueprint; thin adapters over ``bank_import`` and ``bank_setup``."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import validate
from sqlalchemy import func, select

from loandesk import sdk
from loandesk_repayment import bank_formats, bank_import, bank_setup
from loandesk_repayment.api import _loan, blp
from loandesk_repayment.bank_models import DISMISS_REASONS, LINE_STATUSES, BankImport, BankLine
from loandesk_repayment.schemas import Amount


class ImportSchema(ma.Schema):
    id = ma.fields.UUID()
    filename = ma.fields.String()
    sha256 = ma.fields.String()
    format = ma.fields.String(metadata={"description": "A preset (icbc, ccb, abc, boc, cmb), "
                                        "auto:<preset> when found, or mapping:<name>"})  # fmt: skip
    account = ma.fields.String(allow_none=True)
    state = ma.fields.String(
        metadata={
            "description": "queued, running, done or failed (every attempt of its job "
            "failed: see error; POST .../retry goes on from where it stopped)"
        }
    )
    lines = ma.fields.Integer()
    credits = ma.fields.Integer()
    posted = ma.fields.Integer()
    already_posted = ma.fields.Integer()
    duplicates = ma.fields.Integer(metadata={"description": "Already in the queue or dismissed"})
    unmatched = ma.fields.Integer()
    skipped = ma.fields.Integer(metadata={"description": "Money out"})
    done = ma.fields.Integer(metadata={"description": "Credit lines processed so far"})
    job_id = ma.fields.String(allow_none=True)
    error = ma.fields.String(
        allow_none=True, metadata={"description": "Why a failed import stopped"}
    )
    created_by_id = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)


class LineSchema(ma.Schema):
    id = ma.fields.UUID()
    import_id = ma.fields.UUID()
    row_number = ma.fields.Integer()
    booked_on = ma.fields.Date()
    amount = Amount
    direction = ma.fields.String()
    counterparty_name = ma.fields.String(allow_none=True)
    counterparty_account = ma.fields.Function(
        lambda line: bank_import.payer_account(line), metadata={"description": "Masked"}
    )
    memo = ma.fields.String(allow_none=True)
    serial = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": ", ".join(LINE_STATUSES)})
    reason = ma.fields.String(allow_none=True)
    detail = ma.fields.String(allow_none=True)
    rule = ma.fields.String(allow_none=True, metadata={"description": "reference, card, "
                                                        "amount or manual"})  # fmt: skip
    loan_id = ma.fields.UUID(allow_none=True)
    payment_id = ma.fields.UUID(allow_none=True)
    resolved_at = ma.fields.DateTime(allow_none=True)


class StatementFormSchema(ma.Schema):
    format = ma.fields.String(
        load_default="auto",
        metadata={"description": "auto, a preset key, or a saved mapping's id"},
    )
    account = ma.fields.String(
        load_default=None, metadata={"description": "The firm's receiving account"}
    )


class StatementFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "CSV (UTF-8 or GBK) or .xlsx"})


class LineListArgs(sdk.PageArgs):
    status = ma.fields.String(load_default="unmatched", validate=validate.OneOf(LINE_STATUSES))
    import_id = ma.fields.UUID(load_default=None)
    q = ma.fields.String(load_default=None, metadata={"description": "Payer name or memo"})


class AssignLineSchema(ma.Schema):
    loan_id = ma.fields.UUID(required=True)


class DismissSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.OneOf(DISMISS_REASONS))
    note = ma.fields.String(load_default="")


class MappingSchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    columns = ma.fields.Dict()
    account = ma.fields.String(allow_none=True)


class MappingWriteSchema(ma.Schema):
    name = ma.fields.String(required=True)
    columns = ma.fields.Dict(
        required=True,
        metadata={"description": 'Role -> header(s): {"date": "交易日期", "credit": "收入", '
                  '"memo": ["摘要", "附言"]}; roles: ' + ", ".join(bank_formats.ROLES)},
    )  # fmt: skip
    account = ma.fields.String(load_default=None)


class FormatsSchema(ma.Schema):
    presets = ma.fields.List(ma.fields.Dict())
    mappings = ma.fields.List(ma.fields.Nested(MappingSchema))


class RepaymentCardSchema(ma.Schema):
    card_number = ma.fields.String(metadata={"description": "Masked"})
    bank_name = ma.fields.String(allow_none=True)
    updated_at = ma.fields.DateTime()


class CardWriteSchema(ma.Schema):
    card_number = ma.fields.String(required=True, metadata={"description": "Empty: clear it"})
    bank_name = ma.fields.String(load_default=None)


@blp.route("/bank-imports")
class BankImports(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(sdk.PageArgs, location="query")
    @blp.response(200, sdk.page_of(ImportSchema, "BankImportPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Statement imports, newest first."""
        sdk.acting_user_with("repayment.import")
        session = sdk.session()
        page, per_page = args["page"], args["per_page"]
        total = session.scalar(select(func.count()).select_from(BankImport)) or 0
        items = session.scalars(
            select(BankImport)
            .order_by(BankImport.created_at.desc(), BankImport.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        return {"items": list(items), "page": page, "per_page": per_page, "total": total}

    @sdk.require_token("records:write")
    @blp.arguments(StatementFormSchema, location="form")
    @blp.arguments(StatementFileSchema, location="files")
    @blp.response(201, ImportSchema)
    @blp.alt_response(202, description="A large statement: queued as a job (see job_id)")
    @blp.alt_response(422, description="file: empty, too big, not a statement, a line that "
                      "cannot be read, or no format's columns; format; account")  # fmt: skip
    def post(self, form: dict[str, Any], files: dict[str, Any]) -> Any:
        """Upload a bank statement (``multipart/form-data``): its credit lines are matched
        to loans and posted (source ``import``) with keys derived from the lines, so that
        the same lines imported again post nothing; the rest wait in the unmatched queue.
        Up to 1,000 credit lines are done in the request (201), more in a job (202)."""
        sdk.acting_user_with("repayment.import")
        session = sdk.session()
        sent = files["file"]
        record = bank_import.upload(
            session,
            filename=sent.filename or "",
            data=sent.stream.read(bank_formats.MAX_BYTES + 1),
            chosen=form["format"],
            account=form["account"],
            user_id=sdk.acting_user().id,
        )
        if bank_import.runs_inline(record):
            bank_import.run(session, record)
            session.commit()
            return record
        session.commit()
        bank_import.queue_job(session, record)
        session.commit()
        return record, 202


@blp.route("/bank-imports/<uuid:import_id>")
class BankImportById(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, ImportSchema)
    def get(self, import_id: uuid.UUID) -> Any:
        """One import with its counts and progress (``done`` of ``credits``)."""
        sdk.acting_user_with("repayment.import")
        return bank_import.get_import(sdk.session(), import_id)


@blp.route("/bank-imports/<uuid:import_id>/retry")
class RetryBankImport(MethodView):
    @sdk.require_token("records:write")
    @blp.response(202, ImportSchema)
    @blp.alt_response(409, description="The import did not stop with an error")
    def post(self, import_id: uuid.UUID) -> Any:
        """Queue again the job of an import whose every attempt failed (state ``failed``,
        with ``error``): lines already posted or queued keep their outcome and the waiting
        ones are matched now (audited ``bank_import.retry``)."""
        sdk.acting_user_with("repayment.import")
        session = sdk.session()
        record = bank_import.get_import(session, import_id)
        bank_import.retry(session, record, user_id=sdk.acting_user().id)
        session.commit()
        bank_import.queue_job(session, record)
        session.commit()
        return record


@blp.route("/bank-lines")
class BankLines(MethodView):
    @sdk.require_token("records:read")
    @blp.arguments(LineListArgs, location="query")
    @blp.response(200, sdk.page_of(LineSchema, "BankLinePage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Statement lines by outcome, oldest first; by default the unmatched queue
        (待匹配流水)."""
        sdk.acting_user_with("repayment.view")
        session = sdk.session()
        query = select(BankLine).where(BankLine.status == args["status"])
        if args["import_id"]:
            query = query.where(BankLine.import_id == args["import_id"])
        if args["q"]:
            like = f"%{args['q'].strip()}%"
            query = query.where(BankLine.counterparty_name.like(like) | BankLine.memo.like(like))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page, per_page = args["page"], args["per_page"]
        items = session.scalars(
            query.order_by(BankLine.booked_on, BankLine.row_number, BankLine.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        return {"items": list(items), "page": page, "per_page": per_page, "total": total}


@blp.route("/bank-lines/<uuid:line_id>/assign")
class AssignLine(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(AssignLineSchema)
    @blp.response(200, LineSchema)
    @blp.alt_response(409, description="The line is no longer unmatched, or the loan is not "
                      "active")  # fmt: skip
    def post(self, args: dict[str, Any], line_id: uuid.UUID) -> Any:
        """Post an unmatched line to a loan (audited ``bank_line.assign``)."""
        sdk.acting_user_with("repayment.post")
        session = sdk.session()
        line = bank_import.get_line(session, line_id)
        loan = _loan(args["loan_id"])
        bank_import.assign(session, line, loan, user_id=sdk.acting_user().id)
        session.commit()
        return line


@blp.route("/bank-lines/<uuid:line_id>/dismiss")
class DismissLine(MethodView):
    @sdk.require_token("records:write")
    @blp.arguments(DismissSchema)
    @blp.response(200, LineSchema)
    @blp.alt_response(409, description="The line is no longer unmatched")
    def post(self, args: dict[str, Any], line_id: uuid.UUID) -> Any:
        """Take a line off the queue as no repayment of ours, with a reason (``not_ours``,
        ``refund``, ``duplicate``, ``other`` with a note); audited ``bank_line.dismiss``."""
        sdk.acting_user_with("repayment.post")
        session = sdk.session()
        line = bank_import.get_line(session, line_id)
        bank_import.dismiss(
            session, line, args["reason"], args["note"], user_id=sdk.acting_user().id
        )
        session.commit()
        return line


@blp.route("/bank-formats")
class BankFormats(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, FormatsSchema)
    def get(self) -> dict[str, Any]:
        """The banks' export formats read without set-up, and the firm's saved mappings."""
        sdk.acting_user_with("repayment.import")
        presets = [
            {"key": p.key, "label_zh": p.label_zh, "label_en": p.label_en, "columns": p.columns()}
            for p in bank_formats.PRESETS.values()
        ]
        return {"presets": presets, "mappings": bank_setup.mappings(sdk.session())}

    @sdk.require_token("records:write")
    @blp.arguments(MappingWriteSchema)
    @blp.response(201, MappingSchema)
    def post(self, args: dict[str, Any]) -> Any:
        """Save a named column mapping (the same name replaces it); choose it at upload by
        its id."""
        sdk.acting_user_with("repayment.import")
        session = sdk.session()
        found = bank_setup.save_mapping(
            session,
            args["name"],
            args["columns"],
            account=args["account"],
            user_id=sdk.acting_user().id,
        )
        session.commit()
        return found


@blp.route("/<uuid:loan_id>/repayment-card")
class LoanCard(MethodView):
    @sdk.require_token("records:read")
    @blp.response(200, RepaymentCardSchema)
    def get(self, loan_id: uuid.UUID) -> Any:
        """The loan's repayment card (还款卡), masked; 404 when none is set."""
        sdk.acting_user_with("repayment.view")
        card = bank_setup.card_of(sdk.session(), _loan(loan_id))
        if card is None:
            raise sdk.NotFound(sdk.N_("No repayment card is set for this loan."))
        return bank_setup.present_card(card)

    @sdk.require_token("records:write")
    @blp.arguments(CardWriteSchema)
    @blp.response(200, RepaymentCardSchema)
    @blp.alt_response(204, description="Cleared")
    @blp.alt_response(422, description="card_number is no valid card number")
    def put(self, args: dict[str, Any], loan_id: uuid.UUID) -> Any:
        """Set the card the loan is repaid from (statement lines paid from it match the
        loan); an empty ``card_number`` clears it. Audited with the masked number."""
        sdk.acting_user_with("repayment.loans.book")
        session = sdk.session()
        card = bank_setup.set_card(
            session,
            _loan(loan_id),
            args["card_number"],
            bank_name=args["bank_name"],
            user_id=sdk.acting_user().id,
        )
        shown = bank_setup.present_card(card)
        session.commit()
        return shown if shown is not None else ("", 204)
