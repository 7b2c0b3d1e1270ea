"""What every API route shares: the blueprint, JSON error bodies, reading a JSON
object, partner authentication by key, and rate-limit keys.

The API never looks at cookies or the browser session: callers authenticate with
`Authorization: Bearer <key>` or `X-API-Key: <key>` only, so a signed-in browser
cannot be made to call it on its user's behalf (and CSRF does not apply)."""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.inputs import as_id, ascii_digits
from app.services.administration import api_keys
from app.services.front_doors import citizen

bp = Blueprint("api", __name__)

ERROR_CODES = {
    400: ("bad_request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("A valid API key is required.")),
    403: ("forbidden", _l("This API key may not do this.")),
    404: ("not_found", _l("There is nothing here, or you do not have access to it.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    409: ("conflict", _l("This conflicts with the current state of the case.")),
    413: ("payload_too_large", _l("The request is too large.")),
    415: ("unsupported_media_type", _l("Send a JSON object with Content-Type: application/json.")),
    422: ("validation_failed", _l("Some fields are not valid.")),
    429: ("too_many_requests",
          _l("You have made too many requests. Please wait a few minutes and try again.")),
    500: ("server_error", _l("An unexpected error occurred. Please try again.")),
}


class ApiError(HTTPException):
    """An error answered as JSON: `raise ApiError(422, fields={...})`."""

    def __init__(self, status: int, message: str | None = None, fields: dict | None = None,
                 headers: dict | None = None):
        super().__init__(description=message)
        self.code = status
        self.message = message
        self.fields = fields or {}
        self.extra_headers = headers or {}


def workflow_error(exc) -> ApiError:
    """A workflow error answered as JSON with the one mapping of `app.failures` (the
    same status and words as the case page): the message, or `fields` when it names one."""
    from app.failures import failure

    f = failure(exc)
    if f.field is not None:
        return ApiError(f.status, fields={f.field: [f.message]})
    return ApiError(f.status, f.message)


def error_response(status: int, message=None, fields: dict | None = None, headers=None):
    code, default = ERROR_CODES.get(status, ERROR_CODES[500] if status >= 500 else ERROR_CODES[400])
    body = {"error": {"status": status, "code": code, "message": str(message or default)}}
    if fields:
        body["error"]["fields"] = {k: [str(m) for m in v] for k, v in fields.items()}
    resp = jsonify(body)
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


@bp.errorhandler(ApiError)
def _api_error(e: ApiError):
    return error_response(e.code, e.message, e.fields, e.extra_headers)


@bp.errorhandler(HTTPException)
def _http_error(e: HTTPException):
    headers = {}
    if e.code == 405 and getattr(e, "valid_methods", None):
        headers["Allow"] = ", ".join(e.valid_methods)
    return error_response(e.code or 500, None, None, headers)


@bp.errorhandler(Exception)
def _server_error(e: Exception):  # pragma: no cover - a bug; logged, answered as JSON
    db.session.rollback()
    current_app.logger.exception("API error on %s", request.path)
    return error_response(500)


@bp.after_request
def _no_cookies_no_cache(resp):
    resp.headers["Cache-Control"] = "no-store"
    resp.headers.pop("Set-Cookie", None)
    return resp


def now() -> datetime:
    return datetime.utcnow()


# ---- request bodies -------------------------------------------------------------------

def json_object() -> dict:
    """The request body as a JSON object (400 when it is not one)."""
    if not request.is_json:
        raise ApiError(415)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, _("The body must be a JSON object."))
    return data


def form_data(data: dict, fields: tuple[str, ...]) -> MultiDict:
    """JSON values → form data for a WTForms form. Text and numbers are accepted;
    anything else is a field error, in the same words as the web forms."""
    out, errors = MultiDict(), {}
    for name in fields:
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or \
                "\x00" in str(value):  # PostgreSQL text cannot hold NUL
            errors[name] = [_("This field must be text.")]
            continue
        out[name] = str(value)
    if errors:
        raise ApiError(422, fields=errors)
    return out


def small_int(text: str | None) -> int | None:
    """An ASCII number that fits a database integer, else None ("²".isdigit() is True):
    `app.inputs.as_id`, the one parser of ids, cursors and versions. A number a person
    types (`limit`) goes through `app.inputs.typed_number` instead."""
    return as_id(text)


def clean_reference(text: str | None) -> str | None:
    """A path's reference when it could be one (no NUL, not overly long)."""
    if not text or "\x00" in text or len(text) > 40:
        return None
    return ascii_digits(text)


def field_errors(form) -> dict:
    return {name: list(msgs) for name, msgs in form.errors.items() if msgs}


def masked_mobile_key() -> str:
    """Rate-limit key: the mobile number in the JSON body (the IP when absent)."""
    data = request.get_json(silent=True) if request.is_json else None
    raw = data.get("mobile") if isinstance(data, dict) else None
    mobile = citizen.normalize_mobile(raw) if isinstance(raw, str) else None
    return f"mobile:{mobile}" if mobile else f"ip:{request.remote_addr}"


def config_limit(name: str, default: str):
    return lambda: current_app.config.get(name, default)


# ---- partner authentication -------------------------------------------------------------

def presented_key() -> str | None:
    """The key from `Authorization: Bearer …` or `X-API-Key` (never a cookie)."""
    auth = request.headers.get("Authorization", "")
    scheme, _sep, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key", "").strip() or None


def key_rate_key() -> str:
    """Rate-limit key per API key (its public prefix), else per IP."""
    prefix = api_keys.parse_prefix(presented_key())
    return f"key:{prefix}" if prefix else f"ip:{request.remote_addr}"


def partner_required(view):
    """The view runs with `g.api_key` set to an active key; 401 without a valid key
    (with a WWW-Authenticate challenge), 403 for a revoked one."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        raw = presented_key()
        challenge = {"WWW-Authenticate": 'Bearer realm="seva-desk-api"'}
        if not raw:
            raise ApiError(401, headers=challenge)
        try:
            key = api_keys.authenticate(raw, now=now())
        except api_keys.Revoked:
            raise ApiError(403, _("This API key has been revoked.")) from None
        if key is None:
            raise ApiError(401, _("This API key is not valid."), headers=challenge)
        g.api_key = key
        return view(*args, **kwargs)

    return wrapped
