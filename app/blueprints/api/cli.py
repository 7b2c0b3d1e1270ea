"""`flask api-key create|list|revoke`: partner API keys (issued by an admin)."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from app.services.administration import api_keys


@click.group("api-key")
def api_key():
    """Issue, list and revoke partner API keys."""


@api_key.command("create")
@click.option("--office", "office_code", required=True, help="Code of the office whose subtree the key sees.")
@click.option("--name", required=True, help="Who the key is for (shown in the timeline).")
@with_appcontext
def create(office_code: str, name: str):
    """Create a key; it is printed once and stored only as a hash."""
    try:
        key, raw = api_keys.create(office_code, name, now=datetime.utcnow())
    except api_keys.UnknownOffice:
        raise click.ClickException(f"No active office with code {office_code!r}.") from None
    click.echo(f"API key {key.prefix} for {key.name} (office {key.office.code} and below).")
    click.echo("Keep it secret; it is shown only now:")
    click.echo(raw)


@api_key.command("list")
@with_appcontext
def list_keys():
    """Every key: prefix, office, name, last use, revoked or not."""
    for key in api_keys.all_keys():
        used = key.last_used_at.isoformat(timespec="minutes") if key.last_used_at else "never"
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.prefix}  {key.office.code:<15} {state:<18} last used {used}  {key.name}")


@api_key.command("revoke")
@click.argument("prefix")
@with_appcontext
def revoke(prefix: str):
    """Revoke the key with this prefix (it stops working at once)."""
    key = api_keys.revoke(prefix, now=datetime.utcnow())
    if key is None:
        raise click.ClickException(f"No API key with prefix {prefix!r}.")
    click.echo(f"API key {key.prefix} ({key.name}) revoked.")
