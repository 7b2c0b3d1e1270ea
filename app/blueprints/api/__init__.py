"""The JSON API at /api/v1/ for the mobile app and partner systems (see docs/api.md)."""


def register(app) -> None:
    from app.blueprints.api import partner, public  # noqa: F401 - routes on `bp`
    from app.blueprints.api.cli import api_key
    from app.blueprints.api.common import bp
    from app.extensions import csrf

    csrf.exempt(bp)  # no cookies are honoured here, so there is no session to ride
    app.register_blueprint(bp, url_prefix="/api/v1")
    app.cli.add_command(api_key)
