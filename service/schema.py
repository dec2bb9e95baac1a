"""The database schema is whatever the Alembic migrations build: this runs them."""
from pathlib import Path

from alembic import command
from alembic.config import Config

import service


def import_models() -> None:
    """Every model module, so that Base.metadata knows every table."""
    import service.activity.models  # noqa: F401
    import service.alerts.models  # noqa: F401
    import service.auth  # noqa: F401
    import service.detection.classifier.models  # noqa: F401
    import service.detection.models  # noqa: F401
    import service.findings.models  # noqa: F401
    import service.registry.models  # noqa: F401
    import service.reports.models  # noqa: F401
    import service.scheduler  # noqa: F401


def migrations_dir() -> Path:
    package = Path(service.__file__).parent
    # inside the wheel they ship as service/migrations; in a checkout they sit at the root
    for candidate in (package / "migrations", package.parent / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("migrations directory not found")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser would read % in a password as interpolation
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
