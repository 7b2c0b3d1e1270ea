"""The weekly monitoring summary (issue 27) and the daily backlog snapshot, run by the
scheduler (`app.jobs.run_once`).

Each Circle and Region head — an active user at a Circle or Region office with the
supervisor or monitor role, an e-mail address and the summary not turned off in their
preferences — gets once a week, in their language, the league table of the offices
below them for the last full week (Monday to Sunday, local time) as text, with the
league and heat tables attached as XLSX. A `WeeklySummary` row per (head, week), written
in the same transaction as the message, makes it once: a second run, or a second
scheduler, finds it and sends nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exists, func, insert, select
from sqlalchemy.exc import IntegrityError

from app.domain import workflow as wf
from app.extensions import db
from app.models import BacklogSnapshot, CaseTally, Notification, OrgUnit, User, UserRole, WeeklySummary
from app.services.read_models import league
from app.services.read_models.dashboards import local_today

HEAD_OFFICE_KINDS = ("circle", "region")
HEAD_ROLES = ("supervisor", "monitor")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def week_start(now: datetime) -> date:
    """The Monday (local) of the week `now` falls in."""
    today = local_today(now)
    return today - timedelta(days=today.weekday())


def is_head(user: User) -> bool:
    """Whether the user heads a Circle or Region (gets the summary unless turned off)."""
    return bool(user.office and user.office.kind in HEAD_OFFICE_KINDS and user.has_role(*HEAD_ROLES))


def heads():
    """SELECT of the users who get the weekly summary."""
    return (select(User).join(OrgUnit, OrgUnit.id == User.office_id)
            .where(User.active.is_(True), User.weekly_summary.is_(True), User.email.is_not(None),
                   User.email != "", OrgUnit.kind.in_(HEAD_OFFICE_KINDS),
                   exists().where(UserRole.user_id == User.id, UserRole.role.in_(HEAD_ROLES)))
            .order_by(User.id))


def send_weekly(now: datetime) -> int:
    """Queue this week's summary for every head who has not had it yet (about the
    previous Monday-to-Sunday week). Returns how many were queued."""
    week = week_start(now)
    pending = db.session.scalars(heads().where(~exists().where(
        WeeklySummary.user_id == User.id, WeeklySummary.week == week))).all()
    sent = 0
    for user in pending:
        try:
            if _queue(user, week, now):
                sent += 1
            db.session.commit()
        except IntegrityError:  # another scheduler queued it first
            db.session.rollback()
    return sent


def _queue(user: User, week: date, now: datetime) -> bool:
    locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    last = week - timedelta(days=1)  # the Sunday that ended the reported week
    base = current_app.config.get("PUBLIC_BASE_URL", "") or "http://localhost"
    with current_app.test_request_context("/", base_url=base), force_locale(locale):
        table, heat = league.league_and_heat(user.office, "week", now, last=last)
        attachment = league.to_xlsx(league.export_sections(table, heat))
        subject = _("Weekly monitoring summary: %(office)s, %(first)s – %(last)s", office=user.office.label(locale),
                    first=table.window.first.isoformat(), last=table.window.last.isoformat())
        body = _body(user, table, url_for("monitoring.league_table", _external=True))
    db.session.add(WeeklySummary(user_id=user.id, week=week, created_at=now))
    db.session.flush()  # the (head, week) key first: a second sender stops here
    n = Notification(channel="email", recipient=user.email, template="weekly_summary", locale=locale,
                     subject=subject[:200], body=body, status="pending", next_attempt_at=now, created_at=now,
                     attachment_name=f"league-{user.office.code}-{table.window.first.isoformat()}.xlsx",
                     attachment=attachment)
    db.session.add(n)
    db.session.flush()
    db.session.execute(WeeklySummary.__table__.update()
                       .where(WeeklySummary.user_id == user.id, WeeklySummary.week == week)
                       .values(notification_id=n.id))
    return True


def _fmt(v, pct: bool = False) -> str:
    from app.i18n import format_number

    if v is None:
        return "—"
    return format_number(v) + (" %" if pct else "")


def _chg(row: league.Row, key: str) -> str:
    from app.i18n import format_number

    c = row.change(key)
    if c is None:
        return ""
    return f" ({'+' if c >= 0 else '−'}{format_number(abs(c))})"


def _body(user: User, table: league.League, link: str) -> str:
    """The e-mail's text: the league table, worst first, and where to see more."""
    labels = league.column_labels()
    w = table.window
    lines = [
        _("Dear %(name)s,", name=user.name),
        "",
        _("The league table of the offices below %(office)s for the week %(first)s – %(last)s, worst first "
          "(changes against the week before in brackets):", office=table.scope.name, first=w.first.isoformat(),
          last=w.last.isoformat()),
        "",
    ]
    keys = ("index", "compliance", "median", "pending", "repeats", "rating")
    for i, r in enumerate(table.rows + [table.total], start=1):
        name = r.name if r is not table.total else _("All of %(office)s", office=r.name)
        head = f"{i}. {name}" if r is not table.total else name
        lines.append(head)
        for k in keys:
            lines.append(f"   {labels[k]}: {_fmt(r.now.value(k), k == 'compliance')}{_chg(r, k)}")
    if not table.rows:
        lines.append(_("There are no offices below this one."))
    lines += ["", _("The league and heat tables are attached (XLSX). See them, sorted as you like, at %(url)s",
                    url=link),
              "", _("You get this summary because you head %(office)s. You can turn it off in your preferences.",
                    office=table.scope.name)]
    return "\n".join(lines)


# ---- backlog snapshots -------------------------------------------------------------------

def snapshot(now: datetime) -> int:
    """Record, once per local day, the cases not closed and those pending beyond SLA of
    every office, at the start of the day (from the counters). Returns rows written."""
    today = local_today(now)
    if db.session.scalar(select(BacklogSnapshot.day).where(BacklogSnapshot.day == today).limit(1)) is not None:
        return 0
    t = CaseTally
    rows = db.session.execute(
        select(t.office_id, func.sum(t.n), func.sum(t.n).filter(t.breached.is_(True)))
        .where(t.status != wf.CLOSED).group_by(t.office_id).having(func.sum(t.n) > 0)).all()
    values = [{"office_id": o, "day": today, "active": int(a or 0), "breached": int(b or 0)} for o, a, b in rows]
    try:
        if values:
            db.session.execute(insert(BacklogSnapshot), values)
        db.session.commit()
    except IntegrityError:  # another scheduler took it
        db.session.rollback()
        return 0
    return len(values)
