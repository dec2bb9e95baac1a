"""Every test runs on SQLite, and again on PostgreSQL when ZW_TEST_DATABASE_URL is set.

The schema is built by running the migrations once per database; each test then starts
from empty tables (rows are deleted after it), so tests are isolated whatever they commit."""
import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service import schema
from service.config import Settings
from service.db import Base, make_engine, make_sessionmaker

ADMIN_KEY = "test-admin-key-0123456789abcdef"
ENABLE_POSTGRES = (
    "PostgreSQL runs skipped: set ZW_TEST_DATABASE_URL to an empty database to enable them, e.g. "
    "createdb -h 127.0.0.1 -U postgres zw_test && "
    "ZW_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/zw_test make test"
)
IN_CI = os.environ.get("CI") == "true"


def _postgres_url() -> str:
    url = os.environ.get("ZW_TEST_DATABASE_URL")
    if not url:
        if IN_CI:
            pytest.fail("CI must run the suite on PostgreSQL, but ZW_TEST_DATABASE_URL is not set")
        pytest.skip(ENABLE_POSTGRES)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL at ZW_TEST_DATABASE_URL is unreachable: {error.orig}")
        pytest.skip(f"PostgreSQL at ZW_TEST_DATABASE_URL is unreachable ({type(error.orig).__name__}). {ENABLE_POSTGRES}")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/zombiewatch.db"
    else:
        url = _postgres_url()
        schema.downgrade(url, "base")  # a database left by an earlier local run starts clean
    schema.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine):
    """The migrated database, emptied again after the test."""
    yield engine
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            # units refer to units: switch the checks off rather than order the rows
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for table in tables:
                connection.exec_driver_sql(f"DELETE FROM {table}")
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


@pytest.fixture
def session(db):
    with make_sessionmaker(db)() as session:
        yield session


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    # classifier_dir: only the shipped model, never one trained in the working copy
    return Settings(database_url=database_url, admin_key=ADMIN_KEY, scheduler_enabled=False, classifier_dir=str(tmp_path / "classifier"))


@pytest.fixture
def app(db, settings):
    from service.app import create_app

    return create_app(settings)


@pytest.fixture
def client(app):
    """An API client that sends the admin key unless a test passes other headers."""
    with TestClient(app, headers={"X-API-Key": ADMIN_KEY}) as client:
        yield client


@pytest.fixture
def make_key(db):
    """Stores a key with a role and optional region; returns the headers that send it."""
    from service import auth

    def make(role: str, region_code: str | None = None) -> dict[str, str]:
        with make_sessionmaker(db).begin() as session:
            _key, plain = auth.create_key(session=session, name=f"{role} {region_code or ''}", role=auth.Role(role), region_code=region_code)
        return {"X-API-Key": plain}

    return make


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    if any("[postgresql" in report.nodeid for report in skipped):
        terminalreporter.write_line(ENABLE_POSTGRES, yellow=True)
