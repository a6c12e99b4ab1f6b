"""What vouchers are made of: the loan ledger's events grouped into voucher kinds (one voucher
per business day and kind), and the ledger's accounts, with the labels admins see when they
map them to the chart of accounts (科目映射)."""

from __future__ import annotations

from loandesk.sdk import N_

# the ledger's event -> the voucher kind it is posted under
KIND_OF_EVENT = {
    "activation": "disbursement",
    "payment": "repayment",
    "reversal": "repayment",  # a reversal nets against the day's payments (冲正)
    "penalty": "penalty",
    "credit": "credit",
    "write_off": "write_off",
    "reschedule": "reschedule",
    "restore": "reschedule",
}
OTHER = "other"  # an event this version does not know: still posted, under its own mapping

# kind -> (Chinese, English); the Chinese one goes into summaries (摘要)
KINDS: dict[str, tuple[str, str]] = {
    "disbursement": ("放款", N_("Disbursement")),
    "repayment": ("还款", N_("Repayment")),
    "penalty": ("罚息计提", N_("Penalty interest charged")),
    "credit": ("溢缴款冲抵", N_("Credit balance applied")),
    "write_off": ("核销", N_("Write-off")),
    "reschedule": ("提前还款重排", N_("Early repayment reschedule")),
    OTHER: ("其他", N_("Other")),
}
ALL_KINDS = "*"  # a mapping for every kind that has none of its own

# the ledger's accounts (loandesk_repayment's ledger) -> (Chinese, English)
ACCOUNTS: dict[str, tuple[str, str]] = {
    "receivable_principal": ("应收本金", N_("Principal receivable")),
    "receivable_interest": ("应收利息", N_("Interest receivable")),
    "receivable_fees": ("应收费用", N_("Fees receivable")),
    "receivable_penalty": ("应收罚息", N_("Penalty receivable")),
    "cash": ("收款", N_("Cash received")),
    "funds_disbursed": ("放款资金", N_("Funds disbursed")),
    "interest_income": ("利息收入", N_("Interest income")),
    "fee_income": ("手续费收入", N_("Fee income")),
    "penalty_income": ("罚息收入", N_("Penalty income")),
    "credit_balance": ("溢缴款", N_("Credit balance")),
    "written_off": ("已核销贷款", N_("Written-off loans")),
    "recovery_income": ("核销后收回", N_("Recoveries after write-off")),
}

AUX_KINDS: dict[str, str] = {
    "none": N_("None"),
    "customer": N_("Customer"),
    "product": N_("Product"),
}


def kind_of(event: str) -> str:
    return KIND_OF_EVENT.get(event, OTHER)


def kind_zh(kind: str) -> str:
    return KINDS.get(kind, KINDS[OTHER])[0]


def account_zh(account: str) -> str:
    return ACCOUNTS.get(account, (account, account))[0]
