"""Notifications (通知): one service for every message LoanDesk sends. Channels (SMS, e-mail,
DingTalk, WeCom) come from connector plugins through ``loandesk_notification_channels``; the
core brings the in-app channel. Messages go through an outbox written in the caller's
transaction and sent by the ``core.send_messages`` job (docs/architecture.md)."""
