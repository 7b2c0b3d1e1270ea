"""Dates a person types, in their own calendar (issue 25 item 4): a Persian reader types
a Solar Hijri date («۱۴۰۵/۹/۱۶», Persian or Latin digits), a Hindi or English reader
day/month/year (16/12/2026); ISO `2026-12-07` is read in every language (links and
bookmarks carry it). Parsed on the server: a plain text input, so it works without
JavaScript and never shows the browser's "mm/dd/yyyy"."""

from __future__ import annotations

import re
from datetime import date

import jdatetime
from flask_babel import gettext as _
from wtforms import StringField

from app.i18n import current_locale, localize_digits
from app.inputs import ascii_digits

_PARTS = re.compile(r"^\s*(\d{1,4})\s*[-/.\u066b\u060c ]\s*(\d{1,2})\s*[-/.\u066b\u060c ]\s*(\d{1,4})\s*$")
JALALI_YEARS = range(1200, 1600)  # a four-digit year here is a Solar Hijri one


def _jalali(y: int, m: int, d: int) -> date | None:
    try:
        return jdatetime.date(y, m, d).togregorian()
    except ValueError:
        return None


def _gregorian(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def parse_local_date(text, locale: str | None = None) -> date | None:
    """The Gregorian date `text` names in `locale`'s way of writing dates, else None.
    Year first (`yyyy-mm-dd`, `yyyy/mm/dd`): Solar Hijri when the year is one (1200–1599),
    Gregorian otherwise. Year last: day/month/year, Solar Hijri by the same rule."""
    if not isinstance(text, str):
        return None
    m = _PARTS.match(ascii_digits(text))
    if not m:
        return None
    a, b, c = (int(x) for x in m.groups())
    if len(m.group(1)) == 4:
        y, mo, d = a, b, c
    elif len(m.group(3)) == 4:
        y, mo, d = c, b, a
    else:
        return None
    if y in JALALI_YEARS:
        return _jalali(y, mo, d)
    return _gregorian(y, mo, d) if 1900 <= y <= 2200 else None


def format_input_date(value: date | None, locale: str | None = None) -> str:
    """`value` as the reader types it: «۱۴۰۵/۰۹/۱۶» in Persian, 16/12/2026 otherwise."""
    if value is None:
        return ""
    locale = locale or current_locale()
    if locale == "fa":
        j = jdatetime.date.fromgregorian(date=value)
        return localize_digits(f"{j.year:04d}/{j.month:02d}/{j.day:02d}", "fa")
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


class LocalDateField(StringField):
    """A date filter typed in the reader's calendar (see the module's text). `data` is a
    Gregorian `date` or None; a value that is not a date is a field error."""

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {"autocomplete": "off", "dir": "ltr", **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return format_input_date(self.data) if isinstance(self.data, date) else ""

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        self.data = parse_local_date(valuelist[0])
        if self.data is None:
            raise ValueError(_("Enter a date like %(example)s.", example=format_input_date(date.today())))

    def __call__(self, **kwargs):
        kwargs.setdefault("placeholder", format_input_date(date.today()))  # the format, by example
        return super().__call__(**kwargs)
