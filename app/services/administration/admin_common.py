"""Small helpers shared by the admin services: errors carrying a translatable message,
pagination and CSV reading."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import Select, func, select

from app.extensions import db
from app.inputs import as_id, ascii_digits


class AdminError(Exception):
    """A refused administrative change. `message` is a lazy translatable string."""

    def __init__(self, message, status: int = 422, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.status = status
        self.field = field  # the form field the message belongs next to, if any


class OutOfScope(AdminError):
    """The target lies outside the administrator's jurisdiction (answered with 404)."""

    def __init__(self):
        super().__init__("out of scope", status=404)


@dataclass
class Pagination:
    rows: list
    page: int
    pages: int
    total: int
    per_page: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(q: Select, page: int | str | None, per_page: int = 25, scalars: bool = True) -> Pagination:
    """Offset pagination for admin lists (small, ordered tables)."""
    page = max(as_id(page) or 1, 1)  # "²", -1 or 40 digits: the first page
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(page, pages)
    q = q.limit(per_page).offset((page - 1) * per_page)
    rows = list(db.session.scalars(q) if scalars else db.session.execute(q))
    return Pagination(rows=rows, page=page, pages=pages, total=total, per_page=per_page)


@dataclass
class ImportReport:
    """Outcome of a CSV import: per-row errors (row number, message), rows accepted."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    dry_run: bool = False
    applied: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


MAX_IMPORT_ROWS = 5000


# Columns that hold numbers or codes a person types: their Persian, Arabic-Indic and
# Devanagari digits are normalised on import, as in the admin forms (names keep theirs).
CODE_COLUMNS = frozenset({"code", "parent_code", "login_id", "mobile", "pincode", "division_code",
                          "office_code", "sort_order"})


def read_csv(data: bytes | str, required: tuple[str, ...]) -> tuple[list[dict], list[tuple[int, str]]]:
    """Rows as dicts with lower-case stripped keys; header problems as errors on row 1."""
    from flask_babel import gettext as _

    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], [(1, _("The file is not UTF-8 encoded text."))]
    else:
        text = data
    if "\x00" in text:
        # PostgreSQL cannot store NUL in text; no spreadsheet writes one.
        return [], [(1, _("The file contains a NUL character, which is not allowed."))]
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            return [], [(1, _("Missing columns: %(cols)s", cols=", ".join(missing)))]
        for raw in reader:
            row = {(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else ""
                   for k, v in raw.items()}
            for key in CODE_COLUMNS.intersection(row):  # ۵۶۰۰۹۹ and ५६००९९ are 560099
                row[key] = ascii_digits(row[key])
            rows.append(row)
            if len(rows) > MAX_IMPORT_ROWS:
                return [], [(1, _("Too many rows: at most %(n)s per file.", n=MAX_IMPORT_ROWS))]
    except csv.Error:
        # e.g. a field over the csv module's 128 KiB limit: the file is refused, not a 500
        return [], [(reader.line_num or 1, _("This line cannot be read as CSV (a value is far too long "
                                             "or a quotation mark is not closed)."))]
    if not rows:
        return [], [(1, _("The file has no data rows."))]
    return rows, []


def check_length(value: str | None, limit: int, field: str | None = None) -> None:
    """Raise AdminError when `value` is longer than its column (`limit` characters);
    the forms check this, but CSV rows reach the services directly."""
    from flask_babel import lazy_gettext as _l

    if value and len(value) > limit:
        raise AdminError(_l("Too long: at most %(n)s characters.", n=limit), field=field)


def finish_import(report, *, dry_run: bool, admin, action: str, target: str, detail: str, now):
    """End an all-or-nothing CSV import: roll back on a dry run or any row error,
    otherwise audit and commit the whole file in one transaction."""
    from app.extensions import db
    from app.services.infrastructure import audit

    if report.errors or dry_run:
        db.session.rollback()
        return report
    audit.record(action, actor=admin, target=target, detail=detail, now=now)
    db.session.commit()
    report.applied = True
    return report
