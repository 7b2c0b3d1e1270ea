"""The ceiling: a bare Flask + Jinja page rendering a 50-row table, served the same way
(gunicorn, 2 sync workers) as the portal. Page throughput is reported as a ratio to it.

`/` is the ceiling: the template is loaded through Flask's loader and compiled once, as
`render_template` does for every template of a real Flask application (the portal's
included). `/compiled-per-request` is the ceiling the first two rounds measured:
`render_template_string` parses and compiles its source on every call, which took two
thirds of that page's time, so ratios to it are about 2.5 times kinder. It is kept so
that earlier results can be compared.

`/floor` is the least any signed-in page of a database-backed application does: it reads
the signed session cookie, reads the user's row (refused when inactive or when its session
token is not the cookie's, as the portal does) and 50 case rows (SQLAlchemy Core, plain
rows, one pooled connection, not pinged at checkout) from `DATABASE_URL`, and renders the
same table. No ORM, sign-in library, CSRF token, translation or layout. Its
ratio to `/` shows how much of the ceiling a page can keep once it must ask the database
at all. `/floor/cookie` signs the first user in: it sets the cookie that wrk then sends.
"""

import os
import secrets

from flask import Flask, abort, render_template, render_template_string, session
from jinja2 import DictLoader
from sqlalchemy import bindparam, create_engine, text

app = Flask(__name__)
# The runner gives its workers one key (a cookie signed by one must pass in the other);
# alone, a random one. Nothing of the portal's is signed with it.
app.secret_key = os.environ.get("CEILING_SECRET_KEY") or secrets.token_hex(32)
ROWS = [{"ref": f"SR-2611-{i:06d}X", "subject": f"Row {i}", "status": "open", "office": "Division"}
        for i in range(50)]
PAGE = """<!doctype html><html><head><title>ceiling</title></head><body><table>
{% for r in rows %}<tr><td><a href="/c/{{ r.ref }}">{{ r.ref }}</a></td><td>{{ r.subject }}</td>
<td>{{ r.status }}</td><td>{{ r.office }}</td></tr>{% endfor %}</table></body></html>"""
app.jinja_loader = DictLoader({"page.html": PAGE})


@app.route("/")
def index():
    return render_template("page.html", rows=ROWS)


@app.route("/compiled-per-request")
def compiled_per_request():
    return render_template_string(PAGE, rows=ROWS)


_ENGINE = []
_USER = text('SELECT id, name, office_id, active, session_token FROM "user" WHERE id = :uid')
_ROWS = text('SELECT reference, subject, status, current_office_id FROM "case" '
             "WHERE id <= :top ORDER BY id DESC LIMIT 50").bindparams(bindparam("top"))


def _engine():
    if not _ENGINE:  # per worker, after gunicorn forks
        _ENGINE.append(create_engine(os.environ["DATABASE_URL"]))
    return _ENGINE[0]


@app.route("/floor/cookie")
def floor_cookie():
    with _engine().connect() as conn:
        uid, token = conn.execute(text('SELECT id, session_token FROM "user" ORDER BY id LIMIT 1')).first()
    session["uid"] = f"{uid}:{token}"  # as the portal's sign-in keeps it: the id and the session token
    return "ok"


@app.route("/floor")
def floor():
    uid, _, token = str(session.get("uid") or "").partition(":")
    if not uid.isdigit():
        abort(403)
    with _engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        user = conn.execute(_USER, {"uid": int(uid)}).first()
        if user is None or not user.active or user.session_token != token:  # signed out elsewhere
            abort(403)
        rows = [{"ref": r.reference, "subject": r.subject, "status": r.status, "office": r.current_office_id}
                for r in conn.execute(_ROWS, {"top": 2**62})]
    return render_template("page.html", rows=rows)
