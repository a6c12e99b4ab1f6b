"""Webhooks (事件推送): a tenant subscribes URLs to its events; each committed event that a
subscription wants becomes a delivery, POSTed signed like the automations' webhook action
(``automations.signing``), retried with backoff, logged attempt by attempt, and a subscription
whose deliveries keep failing is disabled with a to-do for the tenant's admins."""
