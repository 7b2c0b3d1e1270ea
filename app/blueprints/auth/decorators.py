"""View guards."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def role_required(*roles):
    """Signed in and holding at least one of `roles` (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                from app.extensions import db
                from app.services.infrastructure import audit

                audit.record("denied", actor=current_user, target=view.__name__)
                db.session.commit()
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
