"""The ceiling: a bare Flask + Jinja page rendering a 50-row table, served the same way
(gunicorn, 2 sync workers) as the portal. Page throughput is reported as a ratio to it.

`/` is the ceiling: the template is loaded through Flask's loader and compiled once, as
`render_template` does for every template of a real Flask application (the portal's
included). `/compiled-per-request` is the ceiling the first two rounds measured:
`render_template_string` parses and compiles its source on every call, which took two
thirds of that page's time, so ratios to it are about 2.5 times kinder. It is kept so
that earlier results can be compared.
"""

from flask import Flask, render_template, render_template_string
from jinja2 import DictLoader

app = Flask(__name__)
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
