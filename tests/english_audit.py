"""Finds English that a Hindi or Persian reader meets on a page (issue 25, item 5).

A page's visible text is read as a screen reader would (no <script>, <style>, hidden
inputs or attribute values, but `title`, `aria-label`, `placeholder` and `alt`, which are
read aloud), leaving out what is English on purpose:

* anything inside an element marked `lang="en"` (a name with no translation yet, shown
  in English and marked so), `translate="no"`, <code>, <kbd> or <samp>, or isolated
  left-to-right by the `|ltr` filter (codes, numbers and ids people type as they are);
* user data: every word stored in the database's text columns (names, subjects,
  addresses, what people wrote);
* references, e-mail addresses, URLs, file names and the allow-list below (abbreviations
  used as such in Hindi and Persian offices: SLA, OTP, CSV...).

What is left is an English word the interface itself shows: a missing translation.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from sqlalchemy import select

from app.i18n import LOCALE_COOKIE  # noqa: F401 - the tests set it

# Words a Hindi or Persian page may show in Latin letters: codes and abbreviations used
# as such, and the product's name.
ALLOWED = frozenset("""
SLA OTP CSV XLSX PDF JPEG JPG PNG ID IDs API URL IMAP SMTP HTTP HTTPS SMS UTC IST DLT
CEPT PGR CPGRAMS KB MB GB Seva Desk JSON SVG htmx UTF IP
CBS CSI Finacle McCamish SAP PLI RPLI IPPB DARPAN
""".split())
ALLOWED_LOWER = frozenset(w.lower() for w in ALLOWED)

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
SKIP_PATTERNS = (
    re.compile(r"\b[A-Z]{2}-[0-9A-Z-]+\b"),  # references
    re.compile(r"\S+@\S+"),  # e-mail addresses
    re.compile(r"https?://\S+|/[\w./?=&%-]+"),  # URLs and paths
    re.compile(r"\b\w+\.(?:pdf|png|jpe?g|csv|xlsx|txt)\b", re.I),  # file names
    re.compile(r"\b[A-Z]{2}\d{6,}\b"),  # facility ids
    re.compile(r"%\(\w+\)s"),  # a message template's placeholders
    re.compile(r"X{3,}"),  # the masked part of a mobile number
)
READ_ATTRS = ("title", "aria-label", "placeholder", "alt")
SILENT_TAGS = {"script", "style", "code", "kbd", "samp", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is its text left out?
        self.chunks: list[str] = []

    def _silent(self) -> bool:
        return bool(self.stack) and self.stack[-1]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        silent = (self._silent() or tag in SILENT_TAGS or a.get("lang", "").startswith("en")
                  or a.get("translate") == "no" or "hidden" in a
                  or (tag == "bdi" and a.get("dir") == "ltr")  # `|ltr`: codes, numbers, ids
                  or a.get("aria-hidden") == "true")
        if not silent and not (tag == "input" and a.get("type") == "hidden"):
            self.chunks.extend(a[name] for name in READ_ATTRS if a.get(name))
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.chunks.append(a["value"])
        if tag not in VOID:
            self.stack.append(silent)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not self._silent():
            self.chunks.append(data)


def visible_text(html: str) -> str:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return " ".join(reader.chunks)


# The columns that hold what people wrote or named (user data). Codes (kinds, statuses,
# priorities, actions) are not: their words must be translated where shown. Nor are the
# English names of offices and categories, which have Hindi and Persian ones.
DATA_COLUMNS = {
    "holiday": ("name",), "org_unit": ("name_hi", "name_fa"),
    "category": ("name_hi", "name_fa"), "pincode": ("office_name", "district", "state"),
    "api_key": ("name",), "user": ("name", "email"),
    "audit_log": ("actor_label", "target", "detail"),
    "case": ("subject", "description", "requester_name", "requester_email", "requester_address",
             "resolution", "data"),
    "case_event": ("text", "data"), "complaint_review": ("remark",), "feedback": ("comment",),
    "notification_template": ("subject", "body"),
    "notification": ("recipient", "subject", "body", "last_error"),
    "mail_intake": ("sender", "subject", "reason", "detail"), "attachment": ("original_name",),
}


def data_words(session) -> set[str]:
    """Every Latin word stored in the database's user data (`DATA_COLUMNS`), lower case."""
    from app.extensions import db

    words: set[str] = set()
    for name, columns in DATA_COLUMNS.items():
        table = db.metadata.tables[name]
        for row in session.execute(select(*(table.c[c] for c in columns))):
            for value in row:
                if value:
                    words.update(w.lower() for w in LATIN_WORD.findall(str(value)))
    return words


def english_words(html: str, user_data: set[str]) -> list[str]:
    """The English words of the interface on this page (sorted, unique)."""
    text = visible_text(html)
    for pattern in SKIP_PATTERNS:
        text = pattern.sub(" ", text)
    found = {w for w in LATIN_WORD.findall(text)
             if w.lower() not in ALLOWED_LOWER and w.lower() not in user_data}
    return sorted(found)
