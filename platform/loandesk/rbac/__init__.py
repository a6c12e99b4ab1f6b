"""Roles and permissions (角色与权限): which staff may do what in a tenant."""
