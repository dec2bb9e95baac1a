"""Alembic environment: the database URL comes from `zombiewatch migrate` (or ZW_DATABASE_URL)."""
from alembic import context

from service.config import get_settings
from service.db import Base, make_engine
from service.schema import import_models

import_models()
target_metadata = Base.metadata
config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url") or get_settings().database_url,
                      target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url, application_name="zombiewatch-migrate")
    with engine.connect() as connection:
        # batch mode lets ALTER work on SQLite, which rebuilds tables to alter them
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
