"""The ceiling: a bare Flask + Jinja page rendering a 50-row table, served the same way
(gunicorn, 2 sync workers) as the portal. Page throughput is reported as a ratio to it."""

from flask import Flask, render_template_string

app = Flask(__name__)
ROWS = [{"ref": f"SR-2611-{i:06d}X", "subject": f"Row {i}", "status": "open", "office": "Division"}
        for i in range(50)]
PAGE = """<!doctype html><html><head><title>ceiling</title></head><body><table>
{% for r in rows %}<tr><td><a href="/c/{{ r.ref }}">{{ r.ref }}</a></td><td>{{ r.subject }}</td>
<td>{{ r.status }}</td><td>{{ r.office }}</td></tr>{% endfor %}</table></body></html>"""


@app.route("/")
def index():
    return render_template_string(PAGE, rows=ROWS)
