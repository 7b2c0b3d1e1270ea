"""Blueprint registration: the shared pages and one package per front door."""


def register_blueprints(app) -> None:
    from app.blueprints.admin.routes import bp as admin_bp
    from app.blueprints.api import register as register_api
    from app.blueprints.auth.routes import bp as auth_bp
    from app.blueprints.cases import (
        inbox,  # noqa: F401 - the inbox routes, on the same blueprint
        raising,  # noqa: F401 - the raise page of kinds without a door of their own
    )
    from app.blueprints.cases.routes import bp as cases_bp
    from app.blueprints.citizen.routes import bp as citizen_bp
    from app.blueprints.complaints import register as register_complaints
    from app.blueprints.helpdesk.routes import bp as helpdesk_bp
    from app.blueprints.interactions.routes import bp as interactions_bp
    from app.blueprints.main.routes import bp as main_bp
    from app.blueprints.monitoring.routes import bp as monitoring_bp
    from app.blueprints.tickets.routes import bp as tickets_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(cases_bp, url_prefix="/cases")
    app.register_blueprint(citizen_bp)  # /request, /track…, /doorstep/…
    app.register_blueprint(tickets_bp, url_prefix="/tickets")
    app.register_blueprint(interactions_bp, url_prefix="/interactions")
    app.register_blueprint(helpdesk_bp, url_prefix="/helpdesk")
    register_complaints(app)  # staff processing, public registration, /respond/<token>
    app.register_blueprint(monitoring_bp, url_prefix="/dashboard")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    register_api(app)  # JSON API at /api/v1/ (keys, no cookies)
