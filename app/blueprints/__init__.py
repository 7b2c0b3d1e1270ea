"""Blueprint registration."""


def register_blueprints(app) -> None:
    from app.blueprints.auth.routes import bp as auth_bp
    from app.blueprints.cases.routes import bp as cases_bp
    from app.blueprints.main.routes import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(cases_bp, url_prefix="/cases")
    from app.blueprints.monitoring.routes import bp as monitoring_bp; app.register_blueprint(monitoring_bp, url_prefix="/dashboard")  # noqa: E702, I001
