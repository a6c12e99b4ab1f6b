"""The plugin host: hookspecs, discovery through entry points, per-tenant enablement (DESIGN §3)."""
