"""The scheduled daily detection run: due once a day, run by one replica, taken over when the
replica running it dies."""
from datetime import datetime, time, timedelta

from sqlalchemy import func, select, update

from service.clock import SHANGHAI
from service.db import make_sessionmaker
from service.detection.jobs import JOB, latest_scheduled_moment, run_daily_if_due
from service.detection.models import DetectionRun
from service.scheduler import JobLease, claim_job, finish_job

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)


def test_the_daily_run_is_due_at_its_time_in_beijing():
    assert latest_scheduled_moment(NOON, time(2, 0)) == datetime(2026, 11, 23, 2, 0, tzinfo=SHANGHAI)
    assert latest_scheduled_moment(NOON, time(13, 0)) == datetime(2026, 11, 22, 13, 0, tzinfo=SHANGHAI)
    from datetime import timezone

    # 2026-11-22 18:30 UTC is 02:30 on the 23rd in Beijing: the 23rd's run is due.
    assert latest_scheduled_moment(datetime(2026, 11, 22, 18, 30, tzinfo=timezone.utc), time(2, 0)).day == 23


def runs(db) -> int:
    with make_sessionmaker(db)() as session:
        return session.scalar(select(func.count()).select_from(DetectionRun))


def test_each_day_is_run_once_however_many_replicas_tick(db, settings):
    sessions = make_sessionmaker(db)
    first = run_daily_if_due(sessionmaker=sessions, settings=settings, now=NOON)
    assert first is not None
    # The other replicas tick the same day: nothing to do.
    assert run_daily_if_due(sessionmaker=sessions, settings=settings, now=NOON + timedelta(minutes=10)) is None
    assert run_daily_if_due(sessionmaker=sessions, settings=settings, now=NOON + timedelta(hours=11)) is None
    assert runs(db) == 1
    # The next day at 02:00 the next run is due.
    assert run_daily_if_due(sessionmaker=sessions, settings=settings, now=NOON + timedelta(hours=14, minutes=5)) is not None
    with sessions() as session:
        stored = session.get(DetectionRun, first)
        assert stored.trigger == "schedule" and stored.status == "completed"


def test_a_lease_held_by_a_live_replica_is_respected_and_taken_over_once_it_expires(db):
    sessions = make_sessionmaker(db)

    def always(_lease):
        return True

    with sessions() as session:
        assert claim_job(session=session, name=JOB, ttl=timedelta(minutes=30), due=always, holder="replica-a")
    with sessions() as session:
        assert not claim_job(session=session, name=JOB, ttl=timedelta(minutes=30), due=always, holder="replica-b")
        # replica-a dies: its lease runs out.
        session.execute(update(JobLease).values(leased_until=datetime(2000, 1, 1, tzinfo=SHANGHAI)))
        session.commit()
    with sessions() as session:
        assert claim_job(session=session, name=JOB, ttl=timedelta(minutes=30), due=always, holder="replica-b")
        # replica-a, back from the dead, cannot finish what it no longer holds.
        finish_job(session=session, name=JOB, holder="replica-a")
        session.expire_all()  # sessions here keep objects after commit
        lease = session.get(JobLease, JOB)
        assert lease.holder == "replica-b" and lease.last_finished_at is None
        finish_job(session=session, name=JOB, holder="replica-b")
        session.refresh(lease)
        assert lease.holder is None and lease.last_finished_at is not None


def test_a_failed_run_gives_the_lease_back_so_the_next_tick_retries(db, settings, monkeypatch):
    from service.detection import jobs

    def broken(**_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(jobs, "run_detection", broken)
    sessions = make_sessionmaker(db)
    try:
        run_daily_if_due(sessionmaker=sessions, settings=settings, now=NOON)
    except RuntimeError:
        pass
    with sessions() as session:
        lease = session.get(JobLease, JOB)
        assert lease.holder is None and lease.leased_until is None and lease.last_finished_at is None
    monkeypatch.undo()
    assert run_daily_if_due(sessionmaker=sessions, settings=settings, now=NOON + timedelta(minutes=10)) is not None


def test_the_service_schedules_the_daily_run_when_its_scheduler_is_on(db, settings):
    from fastapi.testclient import TestClient

    from service.app import create_app

    app = create_app(settings.model_copy(update={"scheduler_enabled": True, "detection_daily_at": time(3, 30)}))
    with TestClient(app):
        job = app.state.scheduler.get_job(JOB)
        assert job is not None and job.trigger.interval == timedelta(minutes=settings.detection_tick_minutes)
