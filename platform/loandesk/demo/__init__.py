"""The demo tenant (``loandesk demo``): the staff of a mid-sized consumer-finance firm, its
configuration as the bundle ``tenants/demo/`` and a generated history of 18 months
(``history``), deterministic from a seed. See docs/demo.md."""
