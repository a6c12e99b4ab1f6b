"""Operations: structured logs (``logs``) and Prometheus metrics (``metrics``); see
docs/deployment.md, "Logs and metrics"."""
