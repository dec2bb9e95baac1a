"""A registry and its activity, written straight to the database: bulletins' numbers need
hundreds of accounts, more than the API is worth calling one by one in a test."""
from datetime import datetime, timedelta
from itertools import count

from sqlalchemy.orm import Session

from service.activity.models import Post
from service.clock import SHANGHAI
from service.config import Settings
from service.detection.runner import run_detection
from service.registry.models import Account, Unit

END_2019Q4 = datetime(2019, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)
END_2020Q1 = datetime(2020, 3, 31, 23, 59, 59, tzinfo=SHANGHAI)
END_2020Q2 = datetime(2020, 6, 30, 23, 59, 59, tzinfo=SHANGHAI)
END_2020Q3 = datetime(2020, 9, 30, 23, 59, 59, tzinfo=SHANGHAI)
PLATFORMS = ["wechat", "weibo", "douyin", "toutiao"]
_serial = count(1)


def registry(session: Session, *, region_code: str, accounts: int, mains: int = 0, name: str = "单位", region_name: str | None = None) -> list[int]:
    """`accounts` accounts, each run by its own unit (so no unit runs two on one platform);
    the first `mains` are main accounts (区级主号、市级部门主号)."""
    units = [Unit(name=f"{name}{next(_serial)}", region_code=region_code, region_name=region_name) for _ in range(accounts)]
    session.add_all(units)
    session.flush()
    rows = [
        Account(platform=PLATFORMS[i % len(PLATFORMS)], name=f"{unit.name}发布", handle=f"h{unit.id}", unit_id=unit.id,
                level="main" if i < mains else "sub", filed=True, status="active")
        for i, unit in enumerate(units)
    ]  # fmt: skip
    session.add_all(rows)
    session.flush()
    return [a.id for a in rows]


def posted(session: Session, account_ids: list[int], at: datetime) -> None:
    """Each account publishes one post at `at`."""
    accounts = {a.id: a for a in session.query(Account).filter(Account.id.in_(account_ids))}
    session.add_all(Post(account_id=a, external_id=f"p{next(_serial)}", published_at=at, title="通知", text="关于做好防汛工作的通知") for a in account_ids)
    for account in accounts.values():
        if account.last_post_at is None or account.last_post_at < at:
            account.last_post_at = at
    session.flush()


def active_before(session: Session, account_ids: list[int], time_point: datetime) -> None:
    posted(session, account_ids, time_point - timedelta(days=1))


def silent_before(session: Session, account_ids: list[int], time_point: datetime) -> None:
    """Their last post 20 days before the time point: dormant.no_update_14d there."""
    posted(session, account_ids, time_point - timedelta(days=20))


def detect(session: Session, settings: Settings, at: datetime) -> int:
    run = run_detection(session=session, settings=settings, as_of=at, trigger="test")
    session.commit()
    return run.id
