"""The browser session (a signed cookie), which the JSON API neither reads nor writes."""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


def _is_api() -> bool:
    from app.blueprints.api.common import is_api_request  # the one rule for "under /api/"

    return is_api_request()


class BrowserSessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, except under /api/: a partner's call is authenticated by its
    key, so a browser cookie sent along neither signs it in nor gets changed (Flask-Login's
    session protection would otherwise rewrite it) or re-sent."""

    def open_session(self, app, request_):
        if _is_api():
            return self.session_class()
        return super().open_session(app, request_)

    def save_session(self, app, session, response):
        if _is_api():
            return None
        return super().save_session(app, session, response)
