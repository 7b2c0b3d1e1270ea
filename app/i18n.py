"""Locale selection, localized formatting (Persian digits and Solar Hijri dates) and
the translated labels of workflow codes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import jdatetime
from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import get_datetime_format, get_time_format, parse_pattern
from babel.lists import format_list as babel_format_list
from babel.numbers import format_decimal
from flask import current_app, request, session
from flask_babel import force_locale, get_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape

from app.domain import kinds

LOCALE_COOKIE = "lang"
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
DEVANAGARI_OK = True  # Hindi keeps Latin digits (the official usage in India)
FA_MONTHS = [
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
]
FA_WEEKDAYS = ["دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه"]  # Monday first
TIME_PATTERNS = {"hi": "B h:mm"}  # times of day where Babel's "medium" does not suit
END_OF_DAY = (23, 59, 59)  # a due time "n business days on" (app.domain.sla.add_business_days)


def select_locale() -> str:
    """User preference → cookie/session → Accept-Language → default."""
    supported = list(current_app.config["LANGUAGES"])
    from app.blueprints.api.common import is_api_request

    if is_api_request():  # the API ignores cookies and sessions
        return request.accept_languages.best_match(supported) or "en"
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale:
        if current_user.locale in supported:
            return current_user.locale
    chosen = request.cookies.get(LOCALE_COOKIE) or session.get(LOCALE_COOKIE)
    if chosen in supported:
        return chosen
    return request.accept_languages.best_match(supported) or "en"


def _code(loc) -> str:
    # str(Locale) builds the identifier anew each time, and a Locale is a costly dict key
    # (its __eq__); our languages are plain language codes.
    if loc.territory or loc.script or loc.variant:
        return str(loc)
    return loc.language


def current_locale() -> str:
    """The request's language code ("en", "hi", "fa"); asked for several times a row."""
    try:
        loc = get_locale()
    except (RuntimeError, AttributeError):
        return "en"
    return _code(loc) if loc is not None else "en"


def text_direction() -> str:
    loc = get_locale()
    return loc.text_direction if loc else "ltr"


def localize_digits(text: str, locale: str | None = None) -> str:
    locale = locale or current_locale()
    return text.translate(PERSIAN_DIGITS) if locale == "fa" else text


def format_number(value, locale: str | None = None) -> str:
    locale = locale or current_locale()
    if value is None:
        return ""
    if type(value) is int:  # counts: the same few numbers again and again on a page
        return _format_int(value, locale)
    return localize_digits(_decimal(value, locale), locale)


@lru_cache(maxsize=4096)
def _format_int(value: int, locale: str) -> str:
    return localize_digits(_decimal(value, locale), locale)


def _decimal(value, locale: str) -> str:
    # The locale's own numbering system's symbols: Persian writes ۳٫۶ and ۱٬۲۳۴ (the
    # Arabic decimal and group separators), not a Latin point or comma beside its digits.
    return format_decimal(value, locale=_babel_locale(locale), numbering_system="default")


def format_list(items, locale: str | None = None) -> str:
    """Words joined as the language joins them: "a, b and c", "a, b और c", «a، b و c»."""
    items = [str(i) for i in items]
    if not items:
        return ""
    return babel_format_list(items, locale=_babel_locale(locale or current_locale()))


def separator(locale: str | None = None) -> str:
    """What stands between two facts on one line ("date · office"). The middle dot reads
    as a Persian zero (۰) beside Persian digits, so Persian uses its comma."""
    return "، " if (locale or current_locale()) == "fa" else " · "


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=8)
def _babel_locale(code: str) -> Locale:
    return Locale.parse(code)


def portal_zone() -> ZoneInfo:
    """The portal's time zone (`BABEL_DEFAULT_TIMEZONE`)."""
    return _zone(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Kolkata"))


def _local(dt: datetime, tz: ZoneInfo | None = None) -> datetime:
    tz = tz or portal_zone()
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(tz)


def format_date(value: date | datetime | None, locale: str | None = None,
                tz: ZoneInfo | None = None) -> str:
    """A date in the locale's words; Solar Hijri for Persian."""
    if value is None:
        return ""
    locale = locale or current_locale()
    if isinstance(value, datetime):
        value = _local(value, tz).date()
    return _format_day(value, locale)


@lru_cache(maxsize=4096)
def _format_day(value: date, locale: str) -> str:
    """One day in one language (a queue page shows the same few days again and again)."""
    if locale == "fa":
        j = jdatetime.date.fromgregorian(date=value)
        return localize_digits(f"{j.day} {FA_MONTHS[j.month - 1]} {j.year}", locale)
    return babel_format_date(value, "medium", locale=_babel_locale(locale))


def format_datetime(value: datetime | None, locale: str | None = None) -> str:
    """Date and time, in local time; Solar Hijri for Persian."""
    if value is None:
        return ""
    locale = locale or current_locale()
    local = _local(value)
    if locale == "fa":
        return f"{format_date(local.date(), 'fa')}، {localize_digits(local.strftime('%H:%M'), 'fa')}"
    # What babel.dates.format_datetime(local, "medium") gives, from the locale's patterns
    # parsed once and the day's words remembered (a third of the time per date shown).
    joined, time_pattern = _datetime_patterns(locale)
    return (joined.replace("{0}", time_pattern.apply(local, _babel_locale(locale)))
            .replace("{1}", _format_day(local.date(), locale)))


def format_due(value: datetime | None, locale: str | None = None, tz: ZoneInfo | None = None) -> str:
    """A due time. One at the end of a business day (23:59:59 local, as the SLA's due
    times are) reads as that day — "end of Tue 8 Dec", Solar Hijri with Persian digits
    in Persian — instead of "11:59:59 PM"; any other as `format_datetime`."""
    if value is None:
        return ""
    locale = locale or current_locale()
    local = _local(value, tz)
    if (local.hour, local.minute, local.second) != END_OF_DAY:
        return format_datetime(value, locale)
    return _format_end_of_day(local.date(), locale)


@lru_cache(maxsize=1024)
def _format_end_of_day(day: date, locale: str) -> str:
    if locale == "fa":
        j = jdatetime.date.fromgregorian(date=day)
        words = localize_digits(f"{FA_WEEKDAYS[day.weekday()]} {j.day} {FA_MONTHS[j.month - 1]}", "fa")
    else:
        words = babel_format_date(day, "EEE d MMM", locale=_babel_locale(locale))
    with force_locale(locale):
        return str(_l("end of %(day)s", day=words))


@lru_cache(maxsize=8)
def _datetime_patterns(locale: str):
    loc = _babel_locale(locale)
    # Hindi: hours and minutes with the Hindi part of the day ("दोपहर 3:15"), not Babel's
    # medium "3:15:15 pm" with seconds and a Latin "pm".
    time_pattern = TIME_PATTERNS.get(locale) or get_time_format("medium", locale=loc).pattern
    return (get_datetime_format("medium", locale=loc).replace("'", ""), parse_pattern(time_pattern))


def ltr(value) -> Markup:
    """Isolate a reference, phone number or pincode inside right-to-left text."""
    # escape() first, then plain concatenation: Markup's `%` costs several times as much,
    # and a queue shows fifty of these.
    return Markup(f'<bdi dir="ltr">{escape(value if value is not None else "")}</bdi>')  # noqa: S704


def ref(value) -> Markup:
    """A reference number: isolated like `ltr`, and kept on one line (class "ref": CSS
    `white-space: nowrap`, as the CSP allows no inline style) — a narrow table cell
    would otherwise break it at its hyphen. The hyphens stay ordinary ones, so a
    copied reference pastes as typed."""
    return Markup(f'<bdi dir="ltr" class="ref">{escape(value if value is not None else "")}</bdi>')  # noqa: S704


_REFERENCE_IN_TEXT = re.compile(r"\b[A-Z]{2}-\d{4}-[0-9A-Z]{7,8}\b")


def isolate_refs(text) -> Markup:
    """Text (a flash message, a hint, a heading) with every reference number in it set
    apart as the `ref` filter does: "SR-2611-..." stays whole and left-to-right inside
    Persian text instead of being split and reordered around it."""
    return Markup(_REFERENCE_IN_TEXT.sub(lambda m: str(ref(m.group(0))), str(escape(text))))  # noqa: S704


# ---- labels for codes stored in the database ------------------------------------

STATUS_LABELS = {
    "open": _l("Open"),
    "in_progress": _l("In progress"),
    "awaiting_info": _l("Awaiting information"),
    "pending_external": _l("Pending at external authority"),
    "awaiting_confirmation": _l("Awaiting confirmation"),
    "closed": _l("Closed"),
}

class _KindNames(Mapping):
    """{kind code: name}, read from the registry of kinds (app/domain/kinds.py) each time,
    so a kind registered later has its name everywhere a label table is read."""

    def __getitem__(self, code):
        return kinds.get(code).name

    def __iter__(self):
        return iter(kinds.codes())

    def __len__(self):
        return len(kinds.codes())

    @property
    def generation(self) -> int:  # caches of translated tables are kept per registry state
        return kinds.generation()


KIND_LABELS = _KindNames()

ACTION_LABELS = {
    "created": _l("Created"),
    "start": _l("Take up"),
    "reply": _l("Reply"),
    "note": _l("Internal note"),
    "assign": _l("Assign to"),
    "transfer": _l("Transfer to another office"),
    "escalate": _l("Escalate to the next level"),
    "refer_external": _l("Transfer to external authority"),
    "external_update": _l("Record update from external authority"),
    "recall_external": _l("Bring back from external authority"),
    "request_info": _l("Request information"),
    "provide_info": _l("Provide information"),
    "info_timeout_close": _l("Closed: no information received"),
    "info_timeout_escalate": _l("Escalated: no information received"),
    "propose_resolution": _l("Propose resolution and seek confirmation"),
    "accept": _l("Accept resolution"),
    "reject": _l("Reject resolution"),
    "clarify": _l("Ask for clarification"),
    "confirmation_timeout": _l("Closed automatically: no answer to confirmation"),
    "requester_reply": _l("Answer back"),
    "close": _l("Close"),
    "complete": _l("Mark completed"),
    "not_served": _l("Could not be served"),
    "sla_escalate": _l("Escalated: response time exceeded"),
    "sla_breach": _l("Response time exceeded"),
    "rate": _l("Rated"),
    "classify": _l("Classified by the helpdesk"),
}

RESOLUTION_LABELS = {
    "completed": _l("Completed"),
    "not_served": _l("Could not be served"),
    "accepted": _l("Resolution accepted"),
    "confirmed": _l("Confirmed solved by the raising office"),
    "resolved": _l("Resolved"),
    "auto_closed": _l("Closed automatically"),
    "no_response": _l("Closed: no response from requester"),
    "closed_by_supervisor": _l("Closed by supervisor"),
    "first_contact": _l("Resolved at first contact"),
}

OFFICE_KIND_LABELS = {
    "cept": _l("CEPT"),
    "circle": _l("Circle"),
    "region": _l("Region"),
    "division": _l("Division"),
    "head_office": _l("Head Office"),
    "sub_office": _l("Sub Office"),
    "department": _l("Department"),
    "team": _l("Team"),
    "external": _l("External authority"),
}

ROLE_LABELS = {
    "operator": _l("Operator"),
    "supervisor": _l("Supervisor"),
    "helpdesk": _l("Helpdesk operator"),
    "admin": _l("Administrator"),
    "monitor": _l("Monitor"),
}

CHANNEL_LABELS = {  # how a case reached us (Case.channel)
    "web": _l("Website"),
    "counter": _l("Post office counter"),
    "phone": _l("By phone"),
    "email": _l("E-mail"),
    "walk_in": _l("Walk-in visit"),
    "api": _l("Partner system"),
    "review": _l("Closure review"),
}

PRIORITY_LABELS = {
    "P1": _l("P1 Critical"),
    "P2": _l("P2 High"),
    "P3": _l("P3 Moderate"),
    "P4": _l("P4 Low"),
}

ERROR_MESSAGES = {
    "invalid_transition": _l("This action is not possible for this case in its current state."),
    "not_allowed": _l("You are not allowed to take this action on this case."),
    "not_at_this_level": _l("This action is not taken at the level that now holds this case."),
    "changed_meanwhile": _l(
        "This case was changed by someone else meanwhile. Your text is kept below; "
        "review the latest state and submit again."
    ),
    "missing_input": _l("Please fill in the required details for this action."),
    "not_yet": _l("This is possible only once the case has been answered."),
    "workflow_error": _l("The action could not be carried out."),
}


_LABELS: dict[tuple[str, int, str | None], str] = {}


def _label(table: dict, code: str | None, locale: str | None = None) -> str:
    """A translated label; translations never change while the process runs, so each
    (locale, code) is looked up once (list pages show hundreds of labels)."""
    locale = locale or current_locale()
    key = (locale, id(table), code)
    label = _LABELS.get(key)
    if label is None:
        if locale == current_locale():
            label = str(table.get(code, code or ""))
        else:
            with force_locale(locale):
                label = str(table.get(code, code or ""))
        _LABELS[key] = label
    return label


_CHOICES: dict[tuple, list[tuple[str, str]]] = {}


def label_choices(table: dict, *first: tuple[str, object]) -> list[tuple[str, str]]:
    """[(code, translated label)] of a label table, for a select's choices, after the
    `first` (code, lazy label) pairs ("All statuses"), which must be module-level
    constants: built once per language (a queue's filter form has twenty of them on
    every request)."""
    key = (current_locale(), id(table), getattr(table, "generation", 0), *map(id, first))
    found = _CHOICES.get(key)
    if found is None:
        found = _CHOICES[key] = [(code, str(label)) for code, label in first] + \
            list(_labels(table, key[0]).items())
    return found


class _Labels(dict):
    """Translated labels of one table in one language; a code without a label reads as
    itself, as `_label` has it."""

    def __missing__(self, code):
        return code or ""


_LABEL_TABLES: dict[tuple[str, int, int], _Labels] = {}


def _labels(table: dict, locale: str) -> _Labels:
    key = (locale, id(table), getattr(table, "generation", 0))
    found = _LABEL_TABLES.get(key)
    if found is None:
        found = _LABEL_TABLES[key] = _Labels({code: _label(table, code, locale) for code in table})
    return found


@pass_context
def _kind_labels(ctx) -> _Labels:
    """{kind code: label} in the page's language, for a template to read once per page."""
    return _labels(KIND_LABELS, _page_locale(ctx))


@pass_context
def _status_labels(ctx) -> _Labels:
    """{status code: label} in the page's language, for a template to read once per page."""
    return _labels(STATUS_LABELS, _page_locale(ctx))


def status_label(code):
    return _label(STATUS_LABELS, code)


def kind_label(code):
    return _label(KIND_LABELS, code)


def action_label(code):
    return _label(ACTION_LABELS, code)


def case_action_label(code, case=None, *, kind=None, qualifiers=None):
    """The action's label on `case` (or on a case of `kind`): its kind's own name for the
    action when it has one (`CaseKind.action_labels`), else the common one. A kind may
    name an action per qualifier: a fact the row requires (a helpdesk ticket still with
    the desk) or the kind of the holding office (where an office ticket escalates to);
    "*" names the rest. `qualifiers` default to the case's facts and holding office —
    what the button shows; the timeline passes the event's own (`queues.timeline`).
    One source for the button, the flash message after it and the timeline row."""
    entry = kinds.find(kind if kind is not None else getattr(case, "kind", None))
    label = entry.action_labels.get(code) if entry is not None else None
    if isinstance(label, Mapping):
        if qualifiers is None:
            from app.domain.workflow import facts_of

            office = getattr(case, "current_office", None)
            qualifiers = (*sorted(facts_of(case)), getattr(office, "kind", None))
        label = next((label[q] for q in qualifiers if q in label), label.get("*"))
    if label is not None:
        return str(label)
    return action_label(code)


def resolution_label(code):
    return _label(RESOLUTION_LABELS, code)


def office_kind_label(code):
    return _label(OFFICE_KIND_LABELS, code)


def role_label(code):
    return _label(ROLE_LABELS, code)


def channel_label(code):
    return _label(CHANNEL_LABELS, code)


def priority_label(code):
    return _label(PRIORITY_LABELS, code)


def error_message(err) -> str:
    return str(ERROR_MESSAGES.get(getattr(err, "code", ""), ERROR_MESSAGES["workflow_error"]))


_TEMPLATE_TEXT: dict[tuple, str] = {}


def _template_gettext(text: str) -> str:
    """`_()` in templates: each (language, text) translated once per process — a page
    has some fifty of them, and the catalogues do not change while the process runs."""
    loc = get_locale()
    key = (_code(loc) if loc is not None else None, text)
    found = _TEMPLATE_TEXT.get(key)
    if found is None:
        found = _TEMPLATE_TEXT[key] = get_translations().ugettext(text)
    return found


@pass_context
def _template_underscore(ctx, text: str, **variables):
    """`_()` in templates, as Jinja's new-style gettext does it (marked safe under
    autoescape, then `%`-formatted with escaped variables), minus three layers of calls
    and a Flask-Babel locale lookup per text: the page's language is in its context."""
    lang = ctx.get("html_lang")
    found = _TEMPLATE_TEXT.get((lang, text)) if lang else None
    if found is None:
        found = _template_gettext(text)
    if ctx.eval_ctx.autoescape:
        found = Markup(found)  # noqa: S704 - our own catalogue text, as Jinja marks it
    # Formatting with an empty mapping only turns "%%" into "%": skip it when there is none.
    return found % variables if variables or "%" in found else found


def _page_locale(ctx) -> str:
    # Templates are rendered in the request's language, which the layout's context
    # already holds: rows need not ask Flask-Babel for it three times each.
    return ctx.get("html_lang") or current_locale()


@pass_context
def _date_filter(ctx, value):
    return format_date(value, _page_locale(ctx), ctx.get("page_zone"))


@pass_context
def _datetime_filter(ctx, value):
    return format_datetime(value, _page_locale(ctx))


@pass_context
def _due_filter(ctx, value):
    return format_due(value, _page_locale(ctx), ctx.get("page_zone"))


@pass_context
def _number_filter(ctx, value):
    return format_number(value, _page_locale(ctx))


@pass_context
def _list_filter(ctx, items):
    return format_list(items, _page_locale(ctx))


@pass_context
def _row_label_filter(ctx, row):
    """A catalogue row's or an office's name in the reader's language (`row.label()`).
    When it falls back to English on a Hindi or Persian page, the name is marked
    `lang="en" dir="ltr"` so that it is read and laid out as English inside RTL text."""
    if row is None:
        return ""
    if not hasattr(row, "label"):  # a plain row (id, name) read for a page: its name as read
        return getattr(row, "name", row)
    locale = _page_locale(ctx)
    text = row.label(locale)
    if locale != "en" and not getattr(row, f"name_{locale}", None):
        return Markup(f'<span lang="en" dir="ltr">{escape(text)}</span>')  # noqa: S704
    return text


@pass_context
def _subject_filter(ctx, case):
    """What a case is about (a `Case`, a queue row, a case page's header): its subject
    as someone typed it, else its catalogue row's name in the page's language, as the
    `label` filter shows it (a case refers to the row and keeps no copy of its name)."""
    typed = getattr(case, "subject", None)
    if typed:
        return typed
    return _row_label_filter(ctx, getattr(case, "category", None))


@pass_context
def _holiday_filter(ctx, holiday):
    """A holiday's name in the page's language. The calendar stores the `holidays`
    package's English name (`sla.load_national_holidays`); where the package names the
    day in the reader's language too (Hindi, for India) that name is shown, else the
    stored one, marked `lang="en" dir="ltr"` on a Hindi or Persian page when it is the
    package's English (an administrator's own name is shown as typed)."""
    locale, name = _page_locale(ctx), holiday.name
    if locale == "en" or not name:
        return name
    country = current_app.config.get("HOLIDAY_COUNTRY", "IN")
    package = _package_holidays(country, holiday.day.year, None)
    if package.get(holiday.day) != name:
        return name  # typed by an administrator: as typed
    local = _package_holidays(country, holiday.day.year, locale).get(holiday.day)
    if local and local != name:
        return local
    ours = holiday_name(name)
    if ours is not None and ours != name:
        return ours
    return Markup(f'<span lang="en" dir="ltr">{escape(name)}</span>')  # noqa: S704


# India's national days as the `holidays` package names them in English, in our catalogue:
# the package has no Persian names (and Hindi ones only where it has them), so the
# calendar's days are named from here in a language it lacks. A name the package joins
# ("Dussehra; Gandhi Jayanti") or marks "(estimated)" is composed from the parts.
HOLIDAY_NAMES = {
    "Ashura": _l("Ashura"), "Buddha Purnima": _l("Buddha Purnima"), "Christmas": _l("Christmas"),
    "Diwali": _l("Diwali"), "Dussehra": _l("Dussehra"), "Eid al-Adha": _l("Eid al-Adha"),
    "Eid al-Fitr": _l("Eid al-Fitr"), "Gandhi Jayanti": _l("Gandhi Jayanti"), "Good Friday": _l("Good Friday"),
    "Guru Nanak Jayanti": _l("Guru Nanak Jayanti"), "Independence Day": _l("Independence Day"),
    "Janmashtami": _l("Janmashtami"), "Maha Shivaratri": _l("Maha Shivaratri"),
    "Mahavir Jayanti": _l("Mahavir Jayanti"), "Prophet's Birthday": _l("Prophet's Birthday"),
    "Republic Day": _l("Republic Day"),
}
_ESTIMATED = " (estimated)"
_ESTIMATED_NAME = _l("%(holiday)s (estimated)")
_TWO_NAMES = _l("%(first)s; %(second)s")  # two days on one date


def holiday_name(name: str) -> str | None:
    """The package's English `name` of a national day in the current language, from our
    catalogue; None when a part of it is not in the catalogue."""
    parts = []
    for part in name.split("; "):
        estimated = part.endswith(_ESTIMATED)
        label = HOLIDAY_NAMES.get(part[:-len(_ESTIMATED)] if estimated else part)
        if label is None:
            return None
        parts.append(str(_ESTIMATED_NAME) % {"holiday": label} if estimated else str(label))
    joined = parts[0]
    for part in parts[1:]:
        joined = str(_TWO_NAMES) % {"first": joined, "second": part}
    return joined


@lru_cache(maxsize=64)
def _package_holidays(country: str, year: int, locale: str | None) -> dict:
    """{day: name} of the `holidays` package for `country` and `year`, in `locale` (None:
    the package's default, the language the calendar was loaded in); {} for a language
    the package does not offer for the country."""
    import holidays as hol

    try:
        if locale is None:
            return dict(hol.country_holidays(country, years=year))
        offered = getattr(hol.country_holidays(country, years=year), "supported_languages", ())
        if locale not in offered:
            return {}
        return dict(hol.country_holidays(country, years=year, language=locale))
    except (NotImplementedError, KeyError, ValueError):
        return {}


@pass_context
def _label_text_filter(ctx, row):
    """`label` as plain text (inside a translated sentence or an `<option>`)."""
    if row is None:
        return ""
    if not hasattr(row, "label"):
        return getattr(row, "name", row)
    return row.label(_page_locale(ctx))


@pass_context
def _language_filter(ctx, code):
    """A language's name in the reader's language ("انگلیسی", not "English")."""
    return _language_name(code, _page_locale(ctx))


@lru_cache(maxsize=64)
def _language_name(code: str, locale: str) -> str:
    try:
        return Locale.parse(code).get_display_name(_babel_locale(locale)) or code
    except (ValueError, TypeError):
        return code


@pass_context
def _actor_filter(ctx, label):
    """An audit row's actor: a login id as it is, the system's own work in words."""
    if label in (None, "", "system"):
        label = "system"
    if label in ACTOR_KINDS:
        with force_locale(_page_locale(ctx)):
            return str(ACTOR_KINDS[label])
    return ltr(label)


# Who acted, when the actor is not an employee (`CaseEvent.actor_kind`).
ACTOR_KINDS = {"system": _l("System"), "requester": _l("Requester"),
               "partner": _l("Partner system")}


@pass_context
def _status_filter(ctx, code):
    return _label(STATUS_LABELS, code, _page_locale(ctx))


@pass_context
def _kind_filter(ctx, code):
    return _label(KIND_LABELS, code, _page_locale(ctx))


def init_app(app) -> None:
    """Register template filters and globals."""
    app.jinja_env.install_gettext_callables(
        gettext=_template_gettext,
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals["_"] = _template_underscore
    app.jinja_env.globals.update(kind_labels=_kind_labels, status_labels=_status_labels)
    # The registry's entry of a kind (its case-page panel, ...): `case_kind(case.kind)`.
    app.jinja_env.globals["case_kind"] = kinds.find
    app.jinja_env.filters.update(
        number=_number_filter,
        date=_date_filter,
        datetime=_datetime_filter,
        due=_due_filter,
        ltr=ltr,
        ref=ref,
        status=_status_filter,
        kind=_kind_filter,
        action=action_label,
        case_action=case_action_label,
        resolution=resolution_label,
        office_kind=office_kind_label,
        role=role_label,
        priority=priority_label,
        channel=channel_label,
        digits=localize_digits,
        words=_list_filter,
        isolate_refs=isolate_refs,
        language=_language_filter,
        label=_row_label_filter,
        label_text=_label_text_filter,
        subject=_subject_filter,
        holiday=_holiday_filter,
        actor=_actor_filter,
    )

    @app.context_processor
    def inject_locale():
        return {
            "html_lang": current_locale(),
            "html_dir": text_direction(),
            "page_zone": portal_zone(),  # read once per page, not once per date
            "languages": app.config["LANGUAGES"],
            "sep": separator(),  # between two facts on one line: " · ", Persian "، "
            "comma": "، " if current_locale() == "fa" else ", ",  # between list items
        }
