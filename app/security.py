"""Response headers that hold on every page (CSP without unsafe-inline/eval)."""

from __future__ import annotations

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
])

PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", PERMISSIONS),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def has_nul(request) -> bool:
    """True when the path, the query, a form field or an upload's name holds a NUL
    byte. PostgreSQL refuses NUL in text, and no person types one."""
    if "\x00" in request.path:
        return True
    for source in (request.args, request.form):
        for key, values in source.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return True
    return any("\x00" in (f.filename or "") for f in request.files.values())


def init_app(app) -> None:
    @app.before_request
    def refuse_nul_bytes():
        from flask import abort, request

        if has_nul(request):
            abort(400, description="nul")

    @app.after_request
    def security_headers(resp):
        h = resp.headers
        # One pass over the response's headers rather than a lookup per header (a missing
        # header costs Werkzeug an exception each): a view may have set its own.
        present = {key.lower() for key, _value in h.items()}
        wanted = list(HEADERS)
        if app.config.get("HSTS_SECONDS"):
            wanted.append(("Strict-Transport-Security",
                           f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains"))
        if resp.mimetype == "text/html":
            # Pages carry personal data: never keep them in shared caches.
            wanted.append(("Cache-Control", "no-store"))
        for key, value in wanted:
            if key.lower() not in present:
                h.add(key, value)
        return resp
