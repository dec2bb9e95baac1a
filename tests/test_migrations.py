"""The schema is what the migrations build, on SQLite and PostgreSQL alike."""
import uuid
from contextlib import contextmanager

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from service import schema
from service.db import Base, make_engine


def model_tables() -> set[str]:
    schema.import_models()
    return set(Base.metadata.tables) | {"alembic_version"}



@contextmanager
def fresh_database(database_url: str, tmp_path):
    """An empty database of the same kind as the suite's, dropped afterwards."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/migrations.db"
        return
    name = f"zw_migrations_{uuid.uuid4().hex[:8]}"
    server = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def tables_of(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_upgrade_downgrade_and_upgrade_again(database_url, tmp_path):
    with fresh_database(database_url, tmp_path) as url:
        schema.upgrade(url)
        assert tables_of(url) == model_tables()
        schema.downgrade(url, "base")
        assert tables_of(url) <= {"alembic_version"}
        schema.upgrade(url)
        assert tables_of(url) == model_tables()


def test_the_migrated_schema_matches_the_models(engine):
    schema.import_models()
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == [], "a model changed without a migration: run alembic revision --autogenerate"


def test_the_migrations_form_one_line():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(schema.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, "two migrations revise the same parent: chain them"
