"""Which findings held at a monitoring time point. Every detection run records the
unresolved findings it left (rule and severity as they were then); a report reads the run
made at its time point, so it never changes because detection ran again later."""
from datetime import datetime

from sqlalchemy import insert, literal, or_, select
from sqlalchemy.orm import Session

from service.detection.models import DetectionRun
from service.findings.models import Finding, FindingStatus
from service.registry.codes import region_prefix
from service.reports.models import RunFinding


def record_run_findings(*, session: Session, run_id: int) -> None:
    """Called by the detection runner once it has reconciled: every finding the run saw
    carries its id, and those it resolved are no longer unresolved."""
    session.flush()
    seen = select(literal(run_id), Finding.id, Finding.rule, Finding.severity, Finding.title).where(
        Finding.last_run_id == run_id, Finding.status != FindingStatus.resolved
    )
    session.execute(insert(RunFinding).from_select(["run_id", "finding_id", "rule", "severity", "title"], seen))


def run_at(*, session: Session, time_point: datetime, period_start: datetime, region_code: str | None) -> DetectionRun | None:
    """The completed run over the whole registry (or a region covering `region_code`) made
    at the latest monitoring time point in [period_start, time_point]. Of several runs at that
    same point the first is the record: a later replay does not rewrite history."""
    query = select(DetectionRun).where(
        DetectionRun.status == "completed",
        DetectionRun.incremental.is_(False),
        DetectionRun.unit_id.is_(None),
        DetectionRun.as_of <= time_point,
        DetectionRun.as_of >= period_start,
    )
    if region_code is None:
        query = query.where(DetectionRun.region_code.is_(None))
    else:
        # a run over a wider region covers this one: 350000 covers 350426
        covering = {region_code, region_code[:4] + "00", region_code[:2] + "0000"}
        query = query.where(or_(DetectionRun.region_code.is_(None), DetectionRun.region_code.in_(sorted(covering))))
    return session.scalars(query.order_by(DetectionRun.as_of.desc(), DetectionRun.id).limit(1)).first()


def covers(run: DetectionRun, region_code: str | None) -> bool:
    return run.region_code is None or (region_code is not None and region_code.startswith(region_prefix(run.region_code)))
