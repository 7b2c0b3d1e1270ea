"""Translated error pages inside the normal layout."""

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from app.extensions import db


def register_error_handlers(app) -> None:
    def page(code: int, title, message):
        from app.blueprints.api.common import error_response, is_api_request
        from app.htmx import is_htmx

        if is_api_request():  # JSON under /api/, even where no API route matched
            return error_response(code)

        headers = {}
        if is_htmx():
            # An error page replaces the whole page, not the fragment htmx asked for.
            headers = {"HX-Retarget": "body", "HX-Reswap": "innerHTML"}
        return (render_template("errors/error.html", code=code, title=title, message=message), code,
                headers)

    @app.errorhandler(400)
    def bad_request(e):
        if getattr(e, "description", None) == "nul":
            return page(400, _l("Character not allowed"),
                        _l("What you sent contains a NUL character (code 0), which cannot be saved. "
                           "Go back, remove it (retype the text rather than pasting it) and send "
                           "again."))
        return page(400, _l("Bad request"), _l("The request could not be understood."))

    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        return page(400, _l("Form expired"),
                    _l("This form has expired or was sent from elsewhere. Go back, reload the "
                       "page and submit it again."))

    @app.errorhandler(403)
    def forbidden(_e):
        return page(403, _l("Not allowed"), _l("You do not have permission to see this page."))

    @app.errorhandler(404)
    def not_found(_e):
        return page(404, _l("Page not found"),
                    _l("There is nothing here, or you do not have access to it."))

    @app.errorhandler(413)
    def too_large(_e):
        return page(413, _l("Upload too large"), _l("The file you sent is too large."))

    @app.errorhandler(429)
    def too_many(_e):
        return page(429, _l("Too many attempts"),
                    _l("You have made too many requests. Please wait a few minutes and try again."))

    @app.errorhandler(405)
    def method_not_allowed(e):
        from app.blueprints.api.common import error_response, is_api_request

        if is_api_request():
            return error_response(405, headers={"Allow": ", ".join(e.valid_methods or [])})
        return e

    @app.errorhandler(500)
    def server_error(_e):
        db.session.rollback()
        return page(500, _l("Something went wrong"),
                    _l("An unexpected error occurred. Nothing you submitted was half-saved; "
                       "please try again."))
