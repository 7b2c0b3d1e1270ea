"""Files the portal hands out: spreadsheet cells that cannot run, and download responses
that no cache keeps. Every CSV and XLSX writer and every download goes through here
(tests/test_exports_safety.py checks that no other module writes one).

Spreadsheet ("CSV") injection: Excel, LibreOffice and Google Sheets run a cell that
starts with `=`, `+`, `-` or `@` as a formula (and strip a leading tab or CR first).
Office and category names, subjects, Employee IDs typed at sign-in all come from
people, so a text cell that starts with one of these gets a leading apostrophe in CSV
(shown as text, the apostrophe hidden) and is written as a string with the "quote
prefix" style in XLSX, never as a formula. Numbers stay numbers.

Not defusedcsv: it leaves a leading tab or CR alone (both are stripped by spreadsheets
before they look for a formula) and does not cover XLSX."""

from __future__ import annotations

import csv
import re
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

# Cache-Control of every download: they carry personal data (names, subjects, IPs, the
# citizen's own files), which no browser, proxy or CDN may keep.
NO_STORE = "no-store"


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_START)


def safe_cell(value):
    """A value for a CSV field: numbers as they are, None as "", text neutralised."""
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if is_formula_like(text) else text


class SafeCsvWriter:
    """`csv.writer` whose every field goes through `safe_cell`."""

    def __init__(self, out, **fmt):
        self._writer = csv.writer(out, **fmt)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_writer(out, **fmt) -> SafeCsvWriter:
    """THE CSV writer of the application (never `csv.writer` directly)."""
    return SafeCsvWriter(out, **fmt)


def xlsx_append(ws, row) -> None:
    """`ws.append(row)` with every text cell a string, never a formula: openpyxl turns
    a string that starts with `=` into a formula cell. A formula-like string also gets
    the quote-prefix style, so editing the cell in Excel keeps it text."""
    values = []
    for v in row:
        if v is None or (isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)):
            values.append(v)
        else:
            values.append(str(v))
    ws.append(values)
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
            if is_formula_like(cell.value):
                cell.quotePrefix = True


def sections_csv(sections) -> bytes:
    """Titled tables [(title, header, rows)] as one CSV, a blank line between them, with
    a BOM so spreadsheets detect UTF-8."""
    import io

    out = io.StringIO()
    wr = csv_writer(out)
    for i, (title, header, rows) in enumerate(sections):
        if i:
            wr.writerow([])
        wr.writerow([title])
        wr.writerow(header)
        wr.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def sections_xlsx(sections) -> bytes:
    """Titled tables [(title, header, rows)] as one workbook, a sheet each."""
    import io

    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sections:
        ws = wb.create_sheet(title=str(title)[:31].replace("/", " "))
        xlsx_append(ws, header)
        for row in rows:
            xlsx_append(ws, row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---- download responses -----------------------------------------------------------

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _disposition(filename: str) -> str:
    name = _UNSAFE_NAME.sub("_", filename).strip("._") or "download"
    return f'attachment; filename="{name}"'


def no_store(resp):
    """Mark a response as one no cache may keep (replacing any Cache-Control, such as
    send_file's `no-cache, max-age=0`, and its Expires)."""
    resp.headers["Cache-Control"] = NO_STORE
    resp.headers["Pragma"] = "no-cache"  # HTTP/1.0 caches
    resp.headers.pop("Expires", None)
    return resp


def download(body, filename: str, mimetype: str):
    """A generated file (bytes, text or a generator of text) as an attachment: one
    Content-Type (a text type gets `charset=utf-8` from Flask, once), a plain ASCII
    file name, `Cache-Control: no-store`."""
    from flask import Response

    if ";" in mimetype:
        raise ValueError("give the bare mimetype; the charset is added once by Flask")
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = _disposition(filename)
    return no_store(resp)


def send_stored_file(source, *, mimetype: str, download_name: str, size: int | None = None):
    """A stored upload (the citizen's or an employee's file) as an attachment, never
    cached: `source` is a path (the disk) or a readable stream (the object store, sent on
    in blocks as it arrives; `size` gives its Content-Length). Flask's send_file handles
    the Unicode file name (RFC 6266 `filename*`)."""
    from flask import send_file

    resp = send_file(source, mimetype=mimetype, as_attachment=True, download_name=download_name)
    if size is not None and resp.content_length is None:
        resp.content_length = size
    return no_store(resp)
