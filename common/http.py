"""Flask plumbing shared by the three HTTP services: JSON errors, request ids and API-key auth.

Every error leaves as ``{"error": {"status", "code", "message", "details"?, "request_id"}}`` so
clients handle one shape; unexpected exceptions become a 500 with the request id and no trace,
and are logged by type and stack only (exception messages can quote review text).
"""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from common.auth import ApiKeyRegistry, Principal, Role
from common.bus import Bus
from common.keys import KeyDirectory
from common.metrics.http import install_metrics
from common.settings import Settings

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class ApiError(Exception):
    """An error the client caused or must know about, with an HTTP status and a stable code."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details:
        body["details"] = details
    body["request_id"] = getattr(g, "request_id", None)
    response = jsonify({"error": body})
    response.status_code = status
    return response


def validation_details(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    """Name each bad field without echoing its value (values may be health information)."""
    details = []
    for err in exc.errors(include_input=False, include_url=False):
        location = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        details.append({"field": location.lstrip(".") or "(body)", "problem": err["msg"], "type": err["type"]})
    return details


def install_common_handlers(app: Flask, service: str) -> None:
    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        log.debug(
            "request",
            extra={
                "request_id": g.get("request_id"),
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
            },
        )
        return response

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        messages = {
            404: "no such endpoint",
            405: f"method {request.method} is not allowed here",
            413: "request body is too large",
        }
        return error_response(status, code, messages.get(status, exc.description or exc.name))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.error(
            "unhandled error",
            extra={
                "request_id": g.get("request_id"),
                "service": service,
                "exc_type": type(exc).__name__,
                "stack": "".join(traceback.format_tb(exc.__traceback__)),
            },
        )
        return error_response(500, "internal_error", "internal error; quote the request id when reporting it")


def create_service_app(service: str, settings: Settings, bus: Bus | None = None) -> Flask:
    """A Flask app with what every Radar service shares: limits, JSON errors, API keys.

    With a ``bus``, keys managed through ``/v1/keys`` are accepted besides ``RADAR_API_KEYS``
    (``common.keys``).  Warns at start-up when neither can yield a key, because such a service
    refuses every request with 401 and the operator should learn why from the log.
    """
    app = Flask(f"radar-{service}")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["radar.settings"] = settings
    registry = ApiKeyRegistry.parse(settings.api_keys)
    if not len(registry) and bus is None:
        log.warning("no API keys configured (RADAR_API_KEYS): every authenticated request will get 401")
    app.extensions["radar.api_keys"] = KeyDirectory(
        registry, bus, settings.topics.api_keys, refresh_s=settings.api_keys_refresh_s
    )
    install_common_handlers(app, service)
    install_metrics(app, service)
    return app


def read_json_body() -> Any:
    """The parsed JSON body, or an ApiError that says exactly what is wrong with it."""
    if not request.mimetype or request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = request.get_data(cache=True)
    if not raw:
        raise ApiError(400, "empty_body", "the request body is empty")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "the body is not valid UTF-8") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc.args[0] if exc.args else exc}") from None


M = TypeVar("M", bound=BaseModel)


def read_model_body(model: type[M]) -> M:
    """The JSON body validated as ``model``: 422 naming each bad field (values never echoed)."""
    raw = read_json_body()
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", "invalid fields", validation_details(exc)) from None


def current_principal() -> Principal:
    principal: Principal | None = g.get("principal")
    if principal is None:  # pragma: no cover - guarded by requires()
        raise ApiError(401, "unauthenticated", "an API key is required")
    return principal


def requires(role: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Authenticate the caller's API key and check its role before the view runs."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            directory: KeyDirectory = current_app.extensions["radar.api_keys"]
            presented = _presented_key()
            principal = directory.authenticate(presented)
            if principal is None:
                message = "missing API key" if not presented else "invalid API key"
                raise ApiError(401, "unauthenticated", f"{message}; send 'Authorization: Bearer <key>'")
            g.principal = principal  # set before the role check, so a refused attempt is audited too
            if not principal.can(role):
                raise ApiError(403, "forbidden", f"this endpoint needs the {role.name} role")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("X-API-Key") or None
