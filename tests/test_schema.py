"""The migrations build the schema the models declare, on SQLite and on PostgreSQL: a model
change without its migration (or a migration the models do not know) fails here, not on
the first `flask db upgrade` of a live database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.extensions import db
from app.models.migration_owned import include_object


def test_the_migrated_database_has_the_schema_the_models_declare(app):
    context = MigrationContext.configure(db.session.connection(), opts={"include_object": include_object})
    differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_the_sweeps_indexes_are_partial(app):
    """Alembic does not compare index predicates: read them off the database. A closed
    case must leave the timer sweep's indexes (issue 11)."""
    indexes = {ix["name"]: ix for ix in inspect(db.session.connection()).get_indexes("case")}
    where = {name: " ".join(str(ix.get("dialect_options", {}).get(f"{db.engine.dialect.name}_where", "")).split())
             for name, ix in indexes.items() if name.startswith("ix_case_status_")}
    if db.engine.dialect.name == "sqlite":  # SQLAlchemy reads no predicate back from SQLite
        sql = dict(db.session.execute(db.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_case_status_%'")).all())
        where = {name: " ".join(text.split(" WHERE ", 1)[1].split()) for name, text in sql.items()}
    assert set(where) == {"ix_case_status_confirmation_due", "ix_case_status_info_due",
                          "ix_case_status_response_due", "ix_case_status_resolution_due"}
    assert "confirmation_due IS NOT NULL" in where["ix_case_status_confirmation_due"]
    assert "info_due IS NOT NULL" in where["ix_case_status_info_due"]
    for name in ("ix_case_status_response_due", "ix_case_status_resolution_due"):
        assert "closed" in where[name] and ("<>" in where[name] or "!=" in where[name]), where[name]
