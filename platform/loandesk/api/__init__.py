"""The REST API object (flask-smorest): ``/api/v1/...``, OpenAPI at ``/api/openapi.json``,
docs at ``/api/docs``. Errors are JSON ``{"code", "message", "errors"}`` (see ``errors.py``)."""

from __future__ import annotations

import threading
from typing import Any

import marshmallow as ma
from flask import Flask, request
from flask_smorest import Api

from loandesk.api.errors import ErrorSchema
from loandesk.errors import DomainError
from loandesk.i18n import N_
from loandesk.plugins.host import PluginHost

API_PREFIX = "/api/v1"


class LoanDeskApi(Api):
    """flask-smorest's Api, with the OpenAPI description of each blueprint written when the
    description is first read (``/api/openapi.json``, ``/api/docs``) rather than at start-up.

    Describing ~200 operations turns every marshmallow schema into JSON Schema; that is most
    of an app's start-up time, and a worker process or a CLI command never reads it."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        self._undocumented: list[tuple[Any, str, Any]] = []
        self._spec: Any = None
        self._describing = threading.RLock()
        self._described = True
        super().__init__(app, **kwargs)

    @property
    def spec(self) -> Any:
        """The APISpec, with every blueprint registered so far described in it."""
        if self._spec is None or self._described:
            return self._spec
        with self._describing:  # a second first reader waits for the whole description
            while self._undocumented:
                blueprint, name, parameters = self._undocumented.pop(0)
                blueprint.register_views_in_doc(
                    self, self._app, self._spec, name=name, parameters=parameters
                )
                self._spec.tag({"name": name, "description": blueprint.description})
            _error_bodies(self._spec.to_dict())
            self._described = True
        return self._spec

    @spec.setter
    def spec(self, value: Any) -> None:
        self._spec = value

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))
        self._described = False

    def _register_error_handlers(self) -> None:
        """The app has one error handler for API and web alike (``loandesk.web.errors``)."""


def _error_bodies(spec: dict[str, Any]) -> None:
    """Every error an operation documents without a body (``alt_response(409, ...)``) has the
    one error body there is, ``Error`` (``errors.json_error``)."""
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if status[:1] in ("4", "5") and "$ref" not in response:
                    response.setdefault("content", body)


_NO_NUL = N_("Text may not contain the NUL character.")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def refuse_nul() -> None:
    """A NUL character (``\\u0000``, ``%00``) in a request's query, form or JSON is refused with
    a 400 naming the field, on the API and on the pages alike: PostgreSQL text cannot hold it,
    and the write answered 500. The raw body of a form is kept (``cache``) for the callbacks
    that check a provider's signature over it; an upload's is not read twice."""
    if request.mimetype != "multipart/form-data":
        request.get_data(cache=True)
    body = request.get_json(silent=True) if request.is_json else None
    where = {
        **{k: v for k, v in request.args.lists()},
        **{k: v for k, v in request.form.lists()},
        **(body if isinstance(body, dict) else {"": body}),
    }
    fields = sorted(k or "json" for k, v in where.items() if _has_nul(k) or _has_nul(v))
    if fields:
        raise DomainError(_NO_NUL, errors={field: [_NO_NUL] for field in fields})


def decimal_strings(self: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """A ``Decimal(as_string=True)`` field (amounts, rates) as what it sends: a string of
    digits, not the JSON number apispec describes."""
    if isinstance(field, ma.fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
    return {}


def init_app(app: Flask, plugin_host: PluginHost) -> LoanDeskApi:
    app.config.update(
        API_TITLE="LoanDesk API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_REDOC_PATH="/docs",
        OPENAPI_REDOC_URL="/static/vendor/redoc/redoc.standalone.js",
    )
    spec_kwargs: dict[str, Any] = {
        "info": {
            "description": (
                "LoanDesk's REST API. Authenticate with an OAuth2 bearer token from "
                "`POST /oauth/token` (client-credentials grant); the token decides the tenant. "
                "Errors are JSON `{code, message, errors}`; lists are paginated with `page` and "
                "`per_page`."
            )
        },
        "components": {
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
                }
            }
        },
    }
    api = LoanDeskApi(app, spec_kwargs=spec_kwargs)
    app.before_request(refuse_nul)
    api.ma_plugin.converter.add_attribute_function(decimal_strings)
    from loandesk.api import (
        approvals,
        attachments,
        automations,
        clients,
        connectors,
        dashboards,
        data_requests,
        fields,
        flows,
        imports,
        notifications,
        org_units,
        plugins,
        reports,
        retention,
        roles,
        security,
        signup,
        sms_templates,
        sso,
        todos,
        users,
        views,
        webhooks,
    )

    blueprints = [
        signup.blp,
        users.blp,
        clients.blp,
        plugins.blp,
        roles.blp,
        org_units.blp,
        fields.blp,
        attachments.blp,
        flows.blp,
        approvals.blp,
        automations.blp,
        reports.blp,
        dashboards.blp,
        todos.blp,
        notifications.blp,
        sms_templates.blp,
        imports.blp,
        security.blp,
        sso.blp,
        retention.blp,
        data_requests.blp,
        views.blp,
        webhooks.blp,
        connectors.blp,
    ]
    for contribution in plugin_host.contributions.values():
        blueprints.extend(contribution.api_blueprints)
    for blueprint in blueprints:
        api.register_blueprint(blueprint, url_prefix=f"{API_PREFIX}{blueprint.url_prefix or ''}")
    return api
