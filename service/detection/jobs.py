"""The scheduled detection run: once a day at `ZW_DETECTION_DAILY_AT` (Asia/Shanghai), by one replica.

Every replica ticks every few minutes; the tick that finds the day's run due and wins the job lease
runs it. A replica that dies mid-run leaves a lease that expires, and the next tick elsewhere runs
the day's inspection again, so a day is never skipped."""
import asyncio
import logging
from datetime import datetime, time, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service import clock
from service.config import Settings
from service.detection.runner import run_detection
from service.scheduler import JobLease, claim_job, finish_job, release_job

log = logging.getLogger("service.detection")
JOB = "detection.daily"


def latest_scheduled_moment(now: datetime, daily_at: time) -> datetime:
    """The most recent daily run time at or before `now`, in Asia/Shanghai time."""
    local = clock.as_aware(now).astimezone(clock.SHANGHAI)
    today = local.replace(hour=daily_at.hour, minute=daily_at.minute, second=0, microsecond=0)
    return today if today <= local else today - timedelta(days=1)


def run_daily_if_due(*, sessionmaker, settings: Settings, now: datetime | None = None) -> int | None:
    """Run the day's detection when it is due and this replica wins it; the run's id, or None."""
    given = clock.as_aware(now) if now else None
    now = given or clock.now()
    scheduled = latest_scheduled_moment(now, settings.detection_daily_at)

    def due(lease: JobLease) -> bool:
        return lease.last_finished_at is None or lease.last_finished_at < scheduled

    with sessionmaker() as session:
        ttl = timedelta(minutes=settings.detection_lease_minutes)
        if not claim_job(session=session, name=JOB, ttl=ttl, due=due):
            return None
        try:
            run = run_detection(session=session, settings=settings, trigger="schedule")
            session.commit()
        except Exception:
            log.exception("scheduled detection run failed")
            release_job(session=session, name=JOB)
            raise
        # a tick on a given clock (a test's) records its finish on that clock: stamped with the
        # wall clock, it could look later than that clock's next scheduled moment
        finish_job(session=session, name=JOB, finished_at=given)
        return run.id


def schedule(scheduler: AsyncIOScheduler, app) -> None:
    async def tick() -> None:
        state = app.state
        await asyncio.to_thread(run_daily_if_due, sessionmaker=state.sessionmaker, settings=state.settings)

    scheduler.add_job(tick, "interval", minutes=app.state.settings.detection_tick_minutes, id=JOB, next_run_time=clock.now())
