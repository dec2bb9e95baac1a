"""The scheduled poll tick: every `ZW_POLL_TICK_SECONDS` each replica polls the accounts due.

Replicas tick independently; the row leases in the poller keep them from polling one account
twice, so no job lease is needed here."""
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service.activity import poller

log = logging.getLogger("service.activity.poller")
JOB = "activity.poll"


async def poll_tick(app) -> None:
    state = app.state
    try:
        summary = await poller.run_pass(sessionmaker=state.sessionmaker, settings=state.settings)
    except Exception:  # the scheduler must keep ticking; the next tick tries again
        log.exception("poll tick failed")
        return
    if summary.accounts_polled:
        log.info("poll tick: %s", summary.model_dump())


def schedule(scheduler: AsyncIOScheduler, app) -> None:
    scheduler.add_job(poll_tick, "interval", args=[app], seconds=app.state.settings.poll_tick_seconds, id=JOB)
