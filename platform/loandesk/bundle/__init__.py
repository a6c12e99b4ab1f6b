"""Tenant bundles (租户配置包): a tenant's configuration as YAML files, exported with
``loandesk tenant export`` and applied with ``loandesk tenant apply`` (see tenants/README.md)."""
