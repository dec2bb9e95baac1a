"""The demo: the units and accounts named in the 2020 bulletins (DOMAIN.md), with plausible
platforms, handles, region codes and (invented, check-digit-valid) credit codes, their
activity up to a monitoring time point, and a detection run at that point. The registry
goes through the same import as an office's spreadsheet."""
import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import clock
from service.config import Settings
from service.registry import importing
from service.registry.models import Unit
from service.registry.schemas import ImportResult

REGISTRY_CSV = Path(__file__).with_name("registry.csv")


@dataclass
class DemoLoad:
    registry: ImportResult
    posts_written: int
    monitoring_time: datetime
    detection_run_id: int


def handles() -> set[str]:
    with REGISTRY_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["账号ID"] for row in csv.DictReader(handle)}


def is_empty(*, session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Unit)) == 0


def load(
    *, session: Session, settings: Settings, monitoring_time: datetime | None = None, progress: importing.Progress | None = None
) -> DemoLoad:
    from service.demo.activity import load_activity
    from service.detection.runner import run_detection

    monitoring_time = monitoring_time or clock.now()
    registry = importing.import_accounts(session=session, content=REGISTRY_CSV.read_bytes(), scope=None, progress=progress)
    posts = load_activity(session=session, monitoring_time=monitoring_time)
    run = run_detection(session=session, settings=settings, as_of=monitoring_time, trigger="demo", requested_by="demo")
    return DemoLoad(registry=registry, posts_written=posts, monitoring_time=monitoring_time, detection_run_id=run.id)


