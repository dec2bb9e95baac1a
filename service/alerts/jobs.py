"""The scheduled dispatcher: every replica ticks every ZW_WEBHOOK_TICK_SECONDS and sends what is due.

No job lease is needed: deliveries are claimed row by row (dispatcher.claim), so every replica
can drain the outbox at once and none sends a delivery another holds."""
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from service import clock
from service.alerts.dispatcher import Dispatcher

log = logging.getLogger("service.alerts")
JOB = "alerts.dispatch"


def schedule(scheduler: AsyncIOScheduler, app) -> None:
    dispatcher = Dispatcher(sessionmaker=app.state.sessionmaker, settings=app.state.settings)

    async def tick() -> None:
        try:
            sent = await dispatcher.drain()
        except Exception:
            log.exception("webhook dispatch failed")
            return
        if sent:
            log.info("webhooks sent", extra={"fields": {"deliveries": sent}})

    seconds = app.state.settings.webhook_tick_seconds
    scheduler.add_job(tick, "interval", seconds=seconds, id=JOB, next_run_time=clock.now())
