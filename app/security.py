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
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Permissions-Policy", PERMISSIONS)
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("HSTS_SECONDS"):
            h.setdefault("Strict-Transport-Security",
                         f"max-age={app.config['HSTS_SECONDS']}; includeSubDomains")
        if resp.mimetype == "text/html":
            # Pages carry personal data: never keep them in shared caches.
            h.setdefault("Cache-Control", "no-store")
        return resp
