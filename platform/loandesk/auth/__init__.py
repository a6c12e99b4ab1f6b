"""Users, passwords, web sign-in and API clients with OAuth2 tokens."""
