"""The automation engine (自动化规则, DESIGN §4): per tenant, rules of a trigger (a domain
event), a condition in the one expression language and actions (the core's and plugins'),
checked when saved (``rules``), fired at most once per rule, record and occurrence and run
with retries and a run log (``engine``)."""
