"""The few htmx helpers the views use; htmx-flask stays behind this file."""

from __future__ import annotations

from flask import make_response, render_template, request


def is_htmx() -> bool:
    """True for a request made by htmx (and not a history restore, which wants a page)."""
    hx = getattr(request, "htmx", None)
    if hx is None:
        return request.headers.get("HX-Request") == "true"
    return bool(hx) and request.headers.get("HX-History-Restore-Request") != "true"


def render_page_or_partial(page: str, partial: str, /, status: int = 200, **ctx):
    """The full page for a normal request, only `partial` for htmx. The page includes
    the same partial, so both paths render the same markup."""
    template = partial if is_htmx() else page
    resp = make_response(render_template(template, **ctx), status)
    resp.vary.add("HX-Request")
    return resp


def hx_redirect(url: str):
    """Tell htmx to load `url` as a full page (a plain 303 for a normal request).
    HX-Redirect, not HX-Location: the latter fetches the URL as an htmx request, which
    would answer with a bare partial."""
    if is_htmx():
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        return resp
    from flask import redirect

    return redirect(url, code=303)


def with_trigger(resp, event: str):
    """Ask the page to fire `event` (e.g. to refresh a badge) after the swap."""
    resp.headers["HX-Trigger"] = event
    return resp


def reswap(resp, how: str):
    # Set directly: htmx-flask 0.1.0 rejects some valid swap values (missing comma).
    resp.headers["HX-Reswap"] = how
    return resp
