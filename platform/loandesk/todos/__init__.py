"""To-dos (待办事项): small tasks assigned to a staff member or to everyone holding a role, with
a due date and an optional link to a business record. People create them by hand; automation
rules create them through ``service.create`` with an idempotency ``source_key``."""
