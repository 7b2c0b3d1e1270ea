"""Customer complaints: staff pages, the public registration page and the
requesters' signed-link answers (kind-agnostic `respond` blueprint)."""


def register(app) -> None:
    from app.blueprints.complaints.routes import bp, public_bp
    from app.blueprints.respond.routes import bp as respond_bp

    app.register_blueprint(bp, url_prefix="/complaints")
    app.register_blueprint(public_bp, url_prefix="/complaint")
    app.register_blueprint(respond_bp, url_prefix="/respond")
