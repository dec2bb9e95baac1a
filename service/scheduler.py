"""APScheduler wiring of the periodic jobs. Each domain declares its jobs next to its code
and they are added here; every replica runs the same schedule, and the work items are
claimed with row leases so that replicas never do one item twice (DESIGN.md)."""
from apscheduler.schedulers.asyncio import AsyncIOScheduler


def build_scheduler() -> AsyncIOScheduler:
    # Polling, detection and webhook dispatch add their jobs here as they land.
    return AsyncIOScheduler(timezone="Asia/Shanghai", job_defaults={"coalesce": True, "max_instances": 1})
