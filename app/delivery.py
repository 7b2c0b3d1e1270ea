"""`flask deliver`: a delivery worker. Any number run in parallel, on any host, each
claiming batches of due messages (`notify.deliver_batch`: SELECT … FOR UPDATE SKIP
LOCKED on PostgreSQL) and recording each batch's results in one commit. With
DELIVERY_WORKERS=0 (the default) the scheduler's outbox job delivers through the same
batch code instead (docs/operations.md#delivery-workers)."""

from __future__ import annotations

import logging
import signal
import time
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger("sevadesk.delivery")


def run_worker(app, *, once: bool = False, batch: int | None = None, idle: float | None = None,
               stop=lambda: False) -> dict:
    """Deliver until `stop()` (or, with `once`, until nothing is due). Between batches
    that found nothing, sleep `idle` seconds (DELIVERY_IDLE_SECONDS). A batch that fails
    as a whole (the database away) is logged and tried again after the pause."""
    from app.extensions import db
    from app.services.engine import notify

    idle = app.config["DELIVERY_IDLE_SECONDS"] if idle is None else idle
    worker = notify.worker_name()
    total = {"sent": 0, "retry": 0, "failed": 0}
    while not stop():
        try:
            with app.app_context():
                counts = notify.deliver_batch(datetime.utcnow(), worker, batch)
        except Exception:  # noqa: BLE001 - keep the worker alive; the lease frees its rows
            log.exception("delivery batch failed")
            with app.app_context():
                db.session.remove()
            if once:
                raise
            time.sleep(idle or 1)
            continue
        for key in total:
            total[key] += counts[key]
        if any(counts[k] for k in ("sent", "retry", "failed")):
            log.info("deliver: %s", counts)
        if not counts["claimed"]:
            if once:
                break
            time.sleep(idle)
    return total


@click.command("deliver")
@click.option("--once", is_flag=True, help="Deliver everything due, then exit.")
@click.option("--batch", type=click.IntRange(1, 10_000), default=None,
              help="Messages claimed at a time (default DELIVERY_BATCH).")
@with_appcontext
def deliver_command(once: bool, batch: int | None):
    """A delivery worker: sends the outbox in batches, in parallel with any other
    workers (set DELIVERY_WORKERS to their number so the scheduler leaves delivery to
    them). SIGTERM or Ctrl+C ends it after the batch in hand."""
    logging.basicConfig(level=logging.INFO)
    app = current_app._get_current_object()
    stopping = []

    def _stop(_signum, _frame):
        stopping.append(True)

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        total = run_worker(app, once=once, batch=batch, stop=lambda: bool(stopping))
    except KeyboardInterrupt:
        total = None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if total is not None:
        click.echo(f"Delivered: {total}")
