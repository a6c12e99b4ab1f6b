from __future__ import annotations

from flask import Flask


def test_healthz_and_readyz(client, settings) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.get_json()["checks"]
    assert checks["database"] == "ok"
    assert ("redis" in checks) == bool(settings.redis_url)


def test_readyz_reports_a_dead_database(settings, tmp_path) -> None:
    from loandesk.app import create_app

    app = create_app(
        settings.replace(
            database_url="postgresql://nobody@127.0.0.1:1/none", redis_url="redis://127.0.0.1:1/0"
        )
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "unavailable", "redis": "unavailable"}


def test_openapi_describes_the_api_and_docs_need_no_cdn(app: Flask, client) -> None:
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        spec = client.get("/api/openapi.json").get_json()
    # two schemas of one name become "Loan" and "Loan1": a client generator's guesswork
    clashes = [str(w.message) for w in seen if "Multiple schemas resolved" in str(w.message)]
    assert clashes == []
    assert {
        "/api/v1/signup",
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/api-clients",
    } <= set(spec["paths"])
    assert spec["paths"]["/api/v1/signup"]["post"]["responses"]["201"]
    docs = client.get("/api/docs").get_data(as_text=True)
    assert "/static/vendor/redoc/redoc.standalone.js" in docs
    assert "cdn" not in docs.lower() and "unpkg" not in docs
    assert client.get("/static/vendor/redoc/redoc.standalone.js").status_code == 200
    assert client.get("/static/vendor/htmx/htmx.min.js").status_code == 200
