"""APScheduler wiring of the periodic jobs, and the job leases that let several replicas share them.

Every replica runs the same schedule (DESIGN.md). Work made of many items (accounts due for
polling, webhook deliveries) is claimed item by item with row leases; a job that is one piece of
work, such as the daily detection run, is claimed whole with a row of `job_leases`: a conditional
UPDATE that only one replica can win, with an expiry so a replica killed mid-run leaves a lease
that another takes over."""
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import String, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from service import clock
from service.db import Base, UTCDateTime

log = logging.getLogger("service.scheduler")

# Names this replica in lease rows, so an operator can see who holds what.
REPLICA = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobLease(Base):
    """Who runs a whole job now (`holder` until `leased_until`), and when it last finished."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def claim_job(*, session: Session, name: str, ttl: timedelta, due: Callable[[JobLease], bool], holder: str = REPLICA) -> bool:
    """Take the lease of job `name` when `due(lease)` says it should run and no live lease is held.

    Commits, so the claim is visible to the other replicas before the work starts."""
    now = clock.now()
    try:
        with session.begin_nested():
            session.execute(insert(JobLease).values(name=name))
    except IntegrityError:
        pass  # another replica made the row first: fine
    lease = session.scalars(select(JobLease).where(JobLease.name == name)).one()
    if not due(lease):
        session.rollback()
        return False
    # Only one replica's UPDATE matches: the others find the lease taken, or find that the run
    # they judged due has finished meanwhile (last_finished_at moved).
    unchanged = (
        JobLease.last_finished_at.is_(None) if lease.last_finished_at is None else JobLease.last_finished_at == lease.last_finished_at
    )
    claimed = session.execute(
        update(JobLease)
        .where(JobLease.name == name, unchanged)
        .where(JobLease.leased_until.is_(None) | (JobLease.leased_until < now))
        .values(holder=holder, leased_until=now + ttl, last_started_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return claimed == 1


def finish_job(*, session: Session, name: str, holder: str = REPLICA, finished_at: datetime | None = None) -> None:
    """Release the lease and record the finish; a replica that lost its lease records nothing.
    `finished_at`: the clock the job judged itself due by, when that is not the wall clock."""
    session.execute(
        update(JobLease)
        .where(JobLease.name == name, JobLease.holder == holder)
        .values(holder=None, leased_until=None, last_finished_at=finished_at or clock.now())
        .execution_options(synchronize_session=False)
    )
    session.commit()


def release_job(*, session: Session, name: str, holder: str = REPLICA) -> None:
    """Give the lease back after a failure, so the next tick tries again."""
    session.rollback()
    session.execute(
        update(JobLease)
        .where(JobLease.name == name, JobLease.holder == holder)
        .values(holder=None, leased_until=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def build_scheduler(app) -> AsyncIOScheduler:
    """The periodic jobs of every domain, each declared next to its code."""
    from service.activity import jobs as activity_jobs
    from service.alerts import jobs as alerts_jobs
    from service.detection import jobs as detection_jobs

    scheduler = AsyncIOScheduler(timezone="Asia/Shanghai", job_defaults={"coalesce": True, "max_instances": 1})
    detection_jobs.schedule(scheduler, app)
    alerts_jobs.schedule(scheduler, app)
    activity_jobs.schedule(scheduler, app)
    return scheduler
