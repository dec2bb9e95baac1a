"""The demo registry: the units and accounts named in the 2020 bulletins (DOMAIN.md), with
plausible platforms, handles, region codes and (invented, check-digit-valid) credit codes.
It goes through the same import as an office's spreadsheet."""
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.registry import importing
from service.registry.models import Unit
from service.registry.schemas import ImportResult

REGISTRY_CSV = Path(__file__).with_name("registry.csv")


def is_empty(*, session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Unit)) == 0


def load(*, session: Session, progress: importing.Progress | None = None) -> ImportResult:
    return importing.import_accounts(session=session, content=REGISTRY_CSV.read_bytes(), scope=None, progress=progress)
