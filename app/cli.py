"""`flask` commands: demo-data, create-user, run-jobs, scheduler, uploads-sweep, translate."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from app.extensions import db


def register_cli(app) -> None:
    from app.delivery import deliver_command  # the delivery worker (docs/operations.md)

    app.cli.add_command(deliver_command)
    app.cli.add_command(demo_data)
    app.cli.add_command(create_user)
    app.cli.add_command(run_jobs)
    app.cli.add_command(scheduler)
    app.cli.add_command(translate)
    app.cli.add_command(print_logins)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
    app.cli.add_command(anonymise)
    app.cli.add_command(retention_command)
    app.cli.add_command(partitions_command)
    app.cli.add_command(bench_data)
    app.cli.add_command(tallies_command)
    app.cli.add_command(mail_fetch)
    app.cli.add_command(mail_in)
    app.cli.add_command(uploads_sweep)


@click.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has offices.")
@click.option("--cases", default=300, show_default=True, help="How many demo cases to create.")
@click.option("--print-logins", is_flag=True, help="Then print the demo sign-ins (what `make run` does).")
@with_appcontext
def demo_data(if_empty: bool, cases: int, print_logins: bool = False):
    """Load the demo hierarchy, users, reference data and cases."""
    from app.models import OrgUnit
    from app.services.administration import demo

    if if_empty and db.session.scalar(select(func.count(OrgUnit.id))):
        click.echo("Database already has data: demo data not loaded.")
    else:
        demo.load(case_count=cases)
        click.echo(f"Demo data loaded ({cases} cases). `flask demo-logins` lists the sign-ins.")
    if print_logins:
        _echo_logins()


@click.command("demo-logins")
@with_appcontext
def print_logins():
    """Print the demo sign-ins (one per role and level)."""
    _echo_logins()


def _echo_logins():
    from app.services.administration import demo

    click.echo("")
    click.echo(f"Demo sign-ins (password for all: {demo.DEMO_PASSWORD}):")
    for login_id, what in demo.demo_logins():
        click.echo(f"  {login_id:<15} {what}")


@click.command("create-user")
@click.option("--login-id", required=True, help="8-digit Employee ID or Facility ID.")
@click.option("--name", required=True)
@click.option("--office", "office_code", required=True, help="Office code.")
@click.option("--role", "roles", multiple=True, default=["operator"], show_default=True)
@click.option("--email", default=None)
@click.password_option()
@with_appcontext
def create_user(login_id, name, office_code, roles, email, password):
    """Create an employee account."""
    from app.models import OrgUnit, Role, User
    from app.services.administration.users import valid_login_id

    if not valid_login_id(login_id):
        raise click.BadParameter("must be an 8-digit Employee ID or a Facility ID", param_hint="login-id")
    office = db.session.scalar(select(OrgUnit).where(OrgUnit.code == office_code))
    if office is None:
        raise click.BadParameter(f"no office with code {office_code}", param_hint="office")
    known = {r.value for r in Role}
    bad = [r for r in roles if r not in known]
    if bad:
        raise click.BadParameter(f"unknown role(s) {bad}; known: {sorted(known)}", param_hint="role")
    if db.session.scalar(select(User).where(User.login_id == login_id.upper())):
        raise click.BadParameter("that login id exists", param_hint="login-id")
    user = User(login_id=login_id.upper(), name=name, email=email, office_id=office.id)
    user.set_password(password)
    user.set_roles(roles)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {user.login_id} in {office.name} with roles {sorted(roles)}.")


@click.command("run-jobs")
@with_appcontext
def run_jobs():
    """Run the scheduled sweeps once (timers, outbox) and print what they did."""
    from app.jobs import run_once

    result = run_once(current_app._get_current_object(), datetime.utcnow())
    click.echo(result)


@click.command("mail-fetch")
@with_appcontext
def mail_fetch():
    """Fetch the helpdesk mailbox (MAIL_IMAP_URL) once: each unseen message becomes a
    ticket, a reply, or a dropped/failed intake (the scheduler runs this too)."""
    from app.services.front_doors import mail_intake

    if not current_app.config.get("MAIL_IMAP_URL"):
        click.echo("MAIL_IMAP_URL is not set: nothing to fetch.")
        return
    click.echo(mail_intake.fetch())


@click.command("mail-in")
@with_appcontext
def mail_in():
    """Take one message on standard input (a mail server's delivery pipe:
    `flask mail-in < message.eml`). Exits 0 once the message is stored, whatever
    became of it (ticket, reply, dropped, failed with its reason)."""
    from app.services.front_doors import mail_intake

    raw = sys.stdin.buffer.read()  # whole: an oversize message is kept as a failed intake
    intake = mail_intake.receive(raw, source="pipe")
    click.echo(f"{intake.status}{' (' + intake.reason + ')' if intake.reason else ''}"
               f"{' ' + intake.case.reference if intake.case_id else ''}")


@click.command("uploads-sweep")
@click.option("--grace-hours", type=click.IntRange(min=0), default=None,
              help="Only files older than this (default UPLOADS_ORPHAN_GRACE_HOURS).")
@with_appcontext
def uploads_sweep(grace_hours):
    """Delete stored upload files (disk or object store) that no attachment names and
    that are older than the grace period (the scheduler runs this too)."""
    from datetime import timedelta

    from app.services.infrastructure import uploads

    grace = timedelta(hours=grace_hours) if grace_hours is not None else None
    try:
        result = uploads.sweep_orphans(grace=grace)
    except uploads.StoreFailed as exc:
        raise click.ClickException(f"the upload store cannot be reached: {exc}") from exc
    click.echo(result)


@click.command("scheduler")
@with_appcontext
def scheduler():
    """Run the scheduler in this process. One per installation runs the jobs; a second one
    (on another host) stands by and takes over when the first dies."""
    import logging
    import threading

    from app.jobs import LockNeedsDirectConnection, SchedulerLock, build_scheduler, watch_lock

    logging.basicConfig(level=logging.INFO)
    log = logging.getLogger("sevadesk.jobs")
    app = current_app._get_current_object()
    lock = SchedulerLock(app)
    waited = []

    def standing_by():
        waited.append(True)
        log.info("Another scheduler holds the lock; standing by (trying every %g s).", lock.poll_seconds)
        click.echo("Another scheduler is running; this one stands by and takes over if it stops.")

    try:
        while True:
            waited.clear()
            lock.wait(on_standby=standing_by)
            if waited:
                log.info("Took over the scheduler lock: this scheduler runs the jobs now.")
            click.echo("Scheduler running (timers and outbox). Ctrl+C stops it.")
            sched = build_scheduler(app)
            stop = threading.Event()
            watch_lock(lock, sched, stop)
            try:
                sched.start()
            finally:
                stop.set()
            if not lock.lost:
                break
            lock.release()  # lost with its connection; stand by for it again
    except LockNeedsDirectConnection as exc:
        raise click.ClickException(str(exc)) from None
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        lock.release()


@click.command("backup")
@click.option("--dir", "dest", default=None, help="Folder for the backup (default instance/backups).")
@with_appcontext
def backup(dest):
    """Back up the SQLite database online to a timestamped file (PostgreSQL: use pg_dump)."""
    from pathlib import Path

    from app.services.infrastructure.maintenance import backup_sqlite

    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite:///"):
        raise click.ClickException(
            "This database is not SQLite. Use: pg_dump --format=custom --file=portal.dump \"$DATABASE_URL\"")
    target = Path(dest) if dest else Path(current_app.instance_path) / "backups"
    click.echo(f"Backup written to {backup_sqlite(uri, target, datetime.now())}")


@click.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore(backup_file, yes):
    """Restore the SQLite database from a backup file (PostgreSQL: use pg_restore)."""
    from pathlib import Path

    from app.services.infrastructure.maintenance import restore_sqlite

    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if not uri.startswith("sqlite:///"):
        raise click.ClickException("This database is not SQLite. Use: pg_restore --clean -d \"$DATABASE_URL\" portal.dump")
    if not yes:
        click.confirm("This replaces all current data. Continue?", abort=True)
    restore_sqlite(uri, Path(backup_file))
    click.echo(f"Restored from {backup_file}")


@click.command("anonymise")
@click.option("--older-than-days", default=365, show_default=True,
              help="Cases closed longer ago than this lose the requester's personal data.")
@with_appcontext
def anonymise(older_than_days):
    """Retention: remove requester personal data of long-closed cases (statistics stay)."""
    from app.services.infrastructure.maintenance import anonymise_closed

    n = anonymise_closed(older_than_days, datetime.utcnow())
    click.echo(f"Anonymised {n} cases closed more than {older_than_days} days ago.")


@click.command("retention")
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
@with_appcontext
def retention_command(dry_run):
    """Remove delivered notifications, used or expired one-time codes, stale sign-in
    throttle rows and audit rows older than their RETENTION_* periods, in short batches
    (the scheduler does the same, a bounded amount per run). Cases and timelines stay."""
    from app.services.infrastructure import retention

    counts = retention.pending() if dry_run else retention.purge()
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb}: " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items()))


@click.command("partitions")
@click.option("--maintain", is_flag=True, help="Open this month's partitions and keep headroom now (the job's work).")
@with_appcontext
def partitions_command(maintain):
    """PostgreSQL's monthly partitions of case and case_event: list them (name, ids, rows
    estimated by the statistics); with --maintain, first do what the scheduler's job does."""
    from app.services.infrastructure import partitions

    if db.engine.dialect.name != "postgresql":
        raise click.ClickException("partitions are PostgreSQL's (SQLite keeps one table)")
    if maintain:
        made = partitions.maintain(datetime.utcnow())
        click.echo("Created: " + (", ".join(n for names in made.values() for n in names) or "nothing (none due)"))
    with db.engine.connect() as conn:
        for table in partitions.TABLES:
            parts = partitions.layout(conn, table)
            if not parts:
                click.echo(f"{table}: not partitioned (run `flask db upgrade`)")
                continue
            estimates = dict(conn.execute(db.text(
                "SELECT relname, GREATEST(reltuples, 0)::bigint FROM pg_class WHERE relname = ANY(:names)"),
                {"names": [p.name for p in parts]}).all())
            click.echo(f"{table}: {len(parts)} partitions, next id {partitions.next_id(conn, table):,}")
            for p in parts:
                low = "MINVALUE" if p.low is None else f"{p.low:,}"
                click.echo(f"  {p.name:<28} ids {low} to {p.high:,}  ~{estimates.get(p.name, 0):,} rows")


@click.command("bench-data")
@click.option("--cases", "n_cases", default=1_000_000, show_default=True)
@click.option("--due", default=10_000, show_default=True,
              help="How many cases to leave with a passed confirmation deadline.")
@with_appcontext
def bench_data(n_cases, due):
    """Fill the database quickly for benchmarks (bench/datagen.py): the demo office tree
    when the database is empty, then N cases with about five events each."""
    from app.models import OrgUnit
    from app.services.administration import demo

    try:
        from bench.datagen import analyze, generate
    except ImportError as exc:  # the bench/ folder is not shipped with every install
        raise click.ClickException("bench/ is not importable: run from the repository root") from exc
    if not db.session.scalar(select(func.count(OrgUnit.id))):
        demo.load(case_count=0)
    from app.services.read_models import tallies

    result = generate(n_cases, due_confirmations=min(due, n_cases), echo=click.echo)
    # The generator writes with bulk INSERTs, which the counters' hook does not see.
    result["tally_rows"] = tallies.rebuild()
    analyze()
    click.echo(f"bench-data: {result}")


@click.command("tallies")
@click.option("--check", "do_check", is_flag=True, help="Recount from the cases and report differences.")
@click.option("--rebuild", is_flag=True, help="Recompute every counter from the cases.")
@with_appcontext
def tallies_command(do_check, rebuild):
    """The dashboards' maintained counters: check them against the cases, or rebuild them
    (after restoring data written outside the portal)."""
    from app.services.read_models import tallies

    if rebuild:
        click.echo(f"Counters rebuilt: {tallies.rebuild()} rows.")
    if do_check or not rebuild:
        diff = tallies.check()
        if not diff:
            click.echo("All counters agree with the cases.")
            return
        for key, kept, fresh in diff[:50]:
            click.echo(f"  {key}: kept {kept}, recounted {fresh}")
        click.echo(f"{len(diff)} counters differ from the cases (flask tallies --rebuild repairs them).")
        raise SystemExit(1)


@click.group()
def translate():
    """Translation catalogues (pybabel extract / update / compile)."""


def _pybabel(*args):
    exe = os.path.join(os.path.dirname(sys.executable), "pybabel")
    subprocess.run([exe, *args], check=True)


@translate.command()
def update():
    """Extract marked strings and update every catalogue."""
    _pybabel("extract", "-F", "babel.cfg", "-k", "_l", "-o", "messages.pot", ".")
    _pybabel("update", "-i", "messages.pot", "-d", "translations", "--no-fuzzy-matching")
    os.remove("messages.pot")


@translate.command()
def compile():  # noqa: A001 - the pybabel verb
    """Compile the catalogues (.po → .mo)."""
    _pybabel("compile", "-d", "translations")
