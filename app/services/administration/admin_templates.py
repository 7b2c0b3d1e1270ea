"""Notification templates: administrators' wording per template, channel and language,
overriding the defaults in `notify.TEMPLATES`. Placeholders are checked on save."""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import NotificationTemplate, User
from app.services.administration.admin_common import AdminError
from app.services.engine import notify
from app.services.infrastructure import audit

CHANNELS = ("email", "sms")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
SAMPLE = {"ref": "SR-2611-7Q4K9", "kind": "Complaint", "status": "Open", "office": "Bengaluru East Division",
          "url": "https://sevadesk.example/track/SR-2611-7Q4K9", "text": "Sample reply text.",
          "code": "482913", "minutes": "10", "subject": "Network connectivity"}


def names() -> list[str]:
    return list(notify.TEMPLATES)


def allowed_placeholders(name: str) -> set[str]:
    """The placeholders the code fills for `name` (those of its default wording) + text,
    and, for a message about one case, its subject (`notify.case_context`)."""
    found = {"text"}
    for part in notify.TEMPLATES[name]:
        found |= set(PLACEHOLDER.findall(str(part)))
    if "ref" in found:
        found.add("subject")
    return found


def default_text(name: str, channel: str, locale: str) -> tuple[str, str]:
    """(subject, body) of the code default in `locale`."""
    subject, body, sms = notify.TEMPLATES[name]
    with force_locale(locale):
        return (str(subject), str(body)) if channel == "email" else ("", str(sms))


def get(name: str, channel: str, locale: str) -> NotificationTemplate | None:
    return db.session.scalar(select(NotificationTemplate).where(
        NotificationTemplate.name == name, NotificationTemplate.channel == channel,
        NotificationTemplate.locale == locale))


def check_text(name: str, text: str) -> None:
    """Raise AdminError when `text` uses an unknown placeholder or a malformed '%'."""
    allowed = allowed_placeholders(name)
    unknown = sorted(set(PLACEHOLDER.findall(text)) - allowed)
    if unknown:
        raise AdminError(_l("Unknown placeholder: %(names)s. Allowed: %(allowed)s",
                            names=", ".join(unknown),
                            allowed=", ".join(f"%({p})s" for p in sorted(allowed))))
    try:
        text % {k: "x" for k in allowed}
    except (ValueError, TypeError, KeyError):
        raise AdminError(_l("A percent sign must be written as two (%%) and placeholders as %(name)s.")) from None


def _check_target(name: str, channel: str, locale: str) -> None:
    from flask import current_app

    if name not in notify.TEMPLATES or channel not in CHANNELS or \
            locale not in current_app.config["LANGUAGES"]:
        raise AdminError(_l("Unknown template, channel or language."), status=404)


def save(admin: User, *, name: str, channel: str, locale: str, subject: str, body: str,
         now: datetime) -> NotificationTemplate:
    from app.services.engine.access import is_national_admin

    if not is_national_admin(admin):
        raise AdminError(_l("Only a national administrator may change this."), status=403)
    _check_target(name, channel, locale)
    subject = (subject or "").strip() if channel == "email" else ""
    body = (body or "").strip()
    if not body or (channel == "email" and not subject):
        raise AdminError(_l("Write both a subject and a text.") if channel == "email"
                         else _l("Write the text."))
    if channel == "sms" and len(body) > 320:
        raise AdminError(_l("An SMS text can have at most 320 characters."))
    check_text(name, subject)
    check_text(name, body)
    row = get(name, channel, locale)
    if row is None:
        row = NotificationTemplate(name=name, channel=channel, locale=locale)
        db.session.add(row)
    row.subject, row.body = subject, body
    row.updated_at, row.updated_by_id = now, admin.id
    audit.record("admin.template.save", actor=admin, target=f"template:{name}:{channel}:{locale}", now=now)
    db.session.commit()
    return row


def reset(admin: User, *, name: str, channel: str, locale: str, now: datetime) -> None:
    """Drop the override: the code default applies again."""
    from app.services.engine.access import is_national_admin

    if not is_national_admin(admin):
        raise AdminError(_l("Only a national administrator may change this."), status=403)
    row = get(name, channel, locale)
    if row is not None:
        db.session.delete(row)
        audit.record("admin.template.reset", actor=admin, target=f"template:{name}:{channel}:{locale}",
                     now=now)
        db.session.commit()


def sms_length(text: str) -> dict:
    """How long an SMS text is on the air: its encoding (GSM-7 for Latin text, UCS-2 for
    Hindi and Persian), its length in that encoding's units and its number of segments
    (`notify.sms_segments`), for the template editor's preview."""
    encoding, units, parts = notify.sms_segments(text or "")
    return {"encoding": encoding, "units": units, "parts": parts,
            "per_part": (160 if parts == 1 else 153) if encoding == "GSM-7" else (70 if parts == 1 else 67)}


def preview(name: str, channel: str, subject: str, body: str) -> tuple[str, str]:
    """The text filled with sample values (after `check_text`)."""
    ctx = {k: SAMPLE.get(k, k) for k in allowed_placeholders(name)}
    return (subject % ctx if subject else ""), body % ctx
