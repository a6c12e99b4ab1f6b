"""LoanDesk: the core. Plugins reach it through ``loandesk.sdk``."""

__version__ = "0.1.0"
