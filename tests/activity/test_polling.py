"""Polling through the API and the poller: accounts with rss or json sources fill their posts,
their source health shows in `source_status`, and the schedule, backoff and leases hold."""
import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from sqlalchemy import func, select, update

from service import clock
from service.activity import poller
from service.activity.models import Interaction, PollState, Post
from service.detection.models import DetectionRun
from service.registry.models import Account
from tests import factories

FEEDS = Path(__file__).parent / "feeds"
FEED_URL = "https://rsshub.example.gov.cn/weibo/user/2614532121"
JSON_URL = "https://zwfw.example.gov.cn/api/accounts/jsjy/activity"


@pytest.fixture
def unit(client):
    return factories.unit(client, "江苏省教育厅", "320000")


@pytest.fixture
def feed_account(client, unit):
    return factories.account(client, unit["id"], "jiangsu_jiaoyu", platform="weibo", name="江苏教育发布", source={"kind": "rss", "url": FEED_URL})


@pytest.fixture
def remote():
    # the service's own API calls go through TestClient, which respx does not see
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def poll(client, **body):
    response = client.post("/v1/polling/runs", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def status_of(client, account_id):
    return client.get(f"/v1/accounts/{account_id}").json()["source_status"]


def schedule_of(client, account_id):
    response = client.get(f"/v1/polling/accounts/{account_id}")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_due_rss_account_fills_its_posts_and_its_source_is_ok(client, feed_account, remote, session):
    remote.get(FEED_URL).respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes(), headers={"ETag": '"v1"'})
    assert status_of(client, feed_account["id"])["state"] == "pending"
    result = poll(client)
    assert result["accounts_polled"] == 1 and result["new_posts"] == 3 and result["errors"] == 0
    assert session.scalar(select(func.count()).select_from(Post).where(Post.account_id == feed_account["id"])) == 3
    account = client.get(f"/v1/accounts/{feed_account['id']}").json()
    assert account["last_post_at"] == "2020-06-02T10:30:00+08:00"
    assert account["source_status"]["state"] == "ok" and account["source_status"]["last_polled_at"]
    schedule = schedule_of(client, feed_account["id"])
    assert schedule["etag"] == '"v1"' and schedule["polls"] == 1 and schedule["leased_until"] is None
    next_poll = datetime.fromisoformat(schedule["next_poll_at"])
    assert timedelta(minutes=59) < next_poll - clock.now() <= timedelta(minutes=64)


def test_an_account_not_yet_due_is_not_polled_and_force_polls_it_with_its_etag(client, feed_account, remote):
    route = remote.get(FEED_URL)
    route.side_effect = [
        httpx.Response(200, content=(FEEDS / "weibo_rss2.xml").read_bytes(), headers={"ETag": '"v1"'}),
        httpx.Response(304),
    ]
    poll(client)
    assert poll(client) == {**poll_zero(), "accounts_polled": 0}
    forced = poll(client, force=True)
    assert forced["accounts_polled"] == 1 and forced["not_modified"] == 1 and forced["new_posts"] == 0
    assert route.calls[1].request.headers["if-none-match"] == '"v1"'


def poll_zero():
    return {"accounts_polled": 0, "new_posts": 0, "updated_posts": 0, "new_interactions": 0, "updated_interactions": 0,
            "not_modified": 0, "errors": 0, "detection_run_id": None}  # fmt: skip


def test_a_changed_feed_updates_edited_posts_and_runs_detection_for_that_account(client, feed_account, remote, session):
    original = (FEEDS / "weibo_rss2.xml").read_text(encoding="utf-8")
    route = remote.get(FEED_URL)
    route.side_effect = [
        httpx.Response(200, text=original),
        httpx.Response(200, text=original.replace("部署汛期安全工作", "部署汛期和暑期安全工作")),
    ]
    first = poll(client)
    assert first["detection_run_id"] is not None
    second = poll(client, force=True)
    assert second["updated_posts"] == 1 and second["new_posts"] == 0
    run = session.get(DetectionRun, second["detection_run_id"])
    assert run.trigger == "poll" and run.incremental and run.accounts_checked >= 1


def test_a_failing_source_shows_since_when_how_often_and_why_and_backs_off(client, feed_account, remote, session, settings):
    remote.get(FEED_URL).respond(404)
    poll(client)
    first = status_of(client, feed_account["id"])
    assert first["state"] == "failing" and first["consecutive_failures"] == 1
    assert first["last_error"] == "数据源地址不存在（HTTP 404）"
    first_delay = datetime.fromisoformat(schedule_of(client, feed_account["id"])["next_poll_at"]) - clock.now()
    result = poll(client, force=True)
    assert result["errors"] == 1
    second = status_of(client, feed_account["id"])
    assert second["consecutive_failures"] == 2 and second["failing_since"] == first["failing_since"]
    second_delay = datetime.fromisoformat(schedule_of(client, feed_account["id"])["next_poll_at"]) - clock.now()
    assert first_delay < timedelta(minutes=61) and timedelta(minutes=119) < second_delay <= timedelta(minutes=120)

    remote.get(FEED_URL).respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes())
    poll(client, force=True)
    healed = status_of(client, feed_account["id"])
    assert healed == {**healed, "state": "ok", "consecutive_failures": 0, "failing_since": None, "last_error": None}


def test_backoff_doubles_up_to_the_cap_and_honours_retry_after_and_gone(settings):
    hour = timedelta(hours=1)
    delays = [poller.backoff(failures=n, interval=hour, settings=settings) for n in range(1, 8)]
    assert delays[:5] == [hour, 2 * hour, 4 * hour, 8 * hour, 16 * hour]
    assert delays[5] == delays[6] == timedelta(minutes=settings.poll_backoff_max_minutes)
    assert poller.backoff(failures=1, interval=hour, settings=settings, retry_after_seconds=3 * 3600) == 3 * hour
    assert poller.backoff(failures=1, interval=hour, settings=settings, gone=True) == timedelta(minutes=settings.poll_backoff_max_minutes)


def test_one_broken_source_does_not_stop_the_pass_for_the_others(client, unit, remote):
    good = factories.account(client, unit["id"], "good", source={"kind": "rss", "url": "https://a.example.gov.cn/feed"})
    bad = factories.account(client, unit["id"], "bad", source={"kind": "rss", "url": "https://b.example.gov.cn/feed"})
    slow = factories.account(client, unit["id"], "slow", source={"kind": "rss", "url": "https://c.example.gov.cn/feed"})
    remote.get("https://a.example.gov.cn/feed").respond(200, content=(FEEDS / "wechat_atom.xml").read_bytes())
    remote.get("https://b.example.gov.cn/feed").respond(200, content=b"<rss><channel><item>")
    remote.get("https://c.example.gov.cn/feed").mock(side_effect=httpx.ReadTimeout("slow"))
    result = poll(client)
    assert result["accounts_polled"] == 3 and result["errors"] == 2 and result["new_posts"] == 2
    assert status_of(client, good["id"])["state"] == "ok"
    assert "不是有效的 RSS/Atom" in status_of(client, bad["id"])["last_error"]
    assert "超时" in status_of(client, slow["id"])["last_error"]


def test_a_json_source_fills_posts_and_interactions_and_continues_from_next_since(client, unit, remote, session):
    account = factories.account(client, unit["id"], "json_api", source={"kind": "json", "url": JSON_URL})
    route = remote.get(url__startswith=JSON_URL)
    route.side_effect = [
        httpx.Response(200, json={"posts": [{"external_id": "p1", "published_at": "2020-06-01T09:00:00"}],
                                  "interactions": [{"external_id": "m1", "received_at": "2020-06-01T12:00:00", "replied_at": None, "text": "请问？"}],
                                  "next_since": "2020-06-01T12:00:00+08:00"}),  # fmt: skip
        httpx.Response(200, json={"interactions": [{"external_id": "m1", "received_at": "2020-06-01T12:00:00", "replied_at": "2020-06-02T09:00:00", "text": "请问？"}],
                                  "next_since": "2020-06-02T09:00:00+08:00"}),  # fmt: skip
    ]
    first = poll(client)
    assert first["new_posts"] == 1 and first["new_interactions"] == 1
    assert schedule_of(client, account["id"])["since"] == "2020-06-01T12:00:00+08:00"
    second = poll(client, force=True)
    assert second["updated_interactions"] == 1
    assert route.calls[1].request.url.params["since"] == "2020-06-01T12:00:00+08:00"
    message = session.scalars(select(Interaction).where(Interaction.account_id == account["id"])).one()
    assert message.replied_at is not None


def test_push_and_suspended_accounts_are_never_polled(client, unit, remote):
    factories.account(client, unit["id"], "pushed", source={"kind": "push"})
    factories.account(client, unit["id"], "nothing")
    factories.account(client, unit["id"], "paused", status="suspended", source={"kind": "rss", "url": "https://x.example.gov.cn/feed"})
    assert poll(client, force=True)["accounts_polled"] == 0
    assert not remote.calls


def test_a_suspended_accounts_schedule_is_parked_and_it_is_due_at_once_when_active_again(client, feed_account, remote, session):
    remote.get(FEED_URL).respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes())
    assert poll(client)["accounts_polled"] == 1
    client.patch(f"/v1/accounts/{feed_account['id']}", json={"status": "suspended"})
    assert poll(client, force=True)["accounts_polled"] == 0
    # parked: out of the range every claim walks, where a stale time would keep it for ever
    assert session.scalar(select(PollState.next_poll_at).where(PollState.account_id == feed_account["id"])) is None
    assert schedule_of(client, feed_account["id"])["polled"] is False
    client.patch(f"/v1/accounts/{feed_account['id']}", json={"status": "active"})
    assert poll(client)["accounts_polled"] == 1  # not an hour after its last poll: now


def test_a_changed_source_url_drops_the_old_validators(client, feed_account, remote):
    remote.get(FEED_URL).respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes(), headers={"ETag": '"old"'})
    new_url = "https://rsshub.example.gov.cn/weibo/user/9999"
    moved = remote.get(new_url).respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes())
    poll(client)
    client.patch(f"/v1/accounts/{feed_account['id']}", json={"source": {"kind": "rss", "url": new_url}})
    poll(client, force=True)
    assert "if-none-match" not in moved.calls[0].request.headers


def test_a_region_scoped_admin_key_polls_only_its_region(client, make_key, remote):
    jiangsu = factories.unit(client, "江苏省教育厅", "320000")
    fujian = factories.unit(client, "尤溪县公安局", "350426")
    factories.account(client, jiangsu["id"], "js", source={"kind": "rss", "url": "https://js.example.gov.cn/feed"})
    factories.account(client, fujian["id"], "fj", source={"kind": "rss", "url": "https://fj.example.gov.cn/feed"})
    js = remote.get("https://js.example.gov.cn/feed").respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes())
    fj = remote.get("https://fj.example.gov.cn/feed").respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes())
    response = client.post("/v1/polling/runs", json={}, headers=make_key("admin", "350000"))
    assert response.json()["accounts_polled"] == 1
    assert fj.call_count == 1 and js.call_count == 0


def test_only_admins_start_a_poll_run_and_bad_bodies_are_refused(client, make_key, feed_account):
    response = client.post("/v1/polling/runs", json={}, headers=make_key("editor"))
    assert response.status_code == 403 and "admin" in response.json()["detail"]
    response = client.post("/v1/polling/runs", json={"force": "sometimes"})
    assert response.status_code == 422 and response.headers["content-type"].startswith("application/problem+json")
    assert client.post("/v1/polling/runs", json={}, headers={"X-API-Key": ""}).status_code == 401


def test_an_editor_sets_an_accounts_interval_and_can_make_it_due_now(client, make_key, feed_account, remote):
    remote.get(FEED_URL).respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes())
    poll(client)
    editor = make_key("editor")
    response = client.patch(f"/v1/polling/accounts/{feed_account['id']}", json={"interval_minutes": 15}, headers=editor)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["interval_minutes"] == 15 and body["effective_interval_minutes"] == 15
    assert datetime.fromisoformat(body["next_poll_at"]) - clock.now() <= timedelta(minutes=15)
    assert poll(client)["accounts_polled"] == 0
    client.patch(f"/v1/polling/accounts/{feed_account['id']}", json={"poll_now": True}, headers=editor)
    assert poll(client)["accounts_polled"] == 1
    after = schedule_of(client, feed_account["id"])
    assert timedelta(minutes=14) < datetime.fromisoformat(after["next_poll_at"]) - clock.now() <= timedelta(minutes=16)

    too_short = client.patch(f"/v1/polling/accounts/{feed_account['id']}", json={"interval_minutes": 1}, headers=editor)
    assert too_short.status_code == 422 and "interval_minutes" in too_short.text
    reader = client.patch(f"/v1/polling/accounts/{feed_account['id']}", json={"interval_minutes": 30}, headers=make_key("reader"))
    assert reader.status_code == 403


def test_a_push_account_has_no_schedule_to_change(client, unit):
    pushed = factories.account(client, unit["id"], "pushed", source={"kind": "push"})
    response = client.patch(f"/v1/polling/accounts/{pushed['id']}", json={"interval_minutes": 30})
    assert response.status_code == 409 and "rss 或 json" in response.json()["detail"]
    assert schedule_of(client, pushed["id"])["polled"] is False


def test_a_region_scoped_key_cannot_see_another_regions_schedule(client, make_key, feed_account):
    response = client.get(f"/v1/polling/accounts/{feed_account['id']}", headers=make_key("reader", "350000"))
    assert response.status_code in (403, 404)


def test_a_detection_error_never_loses_the_polled_posts(client, feed_account, remote, session, monkeypatch):
    from service.detection import runner

    def broken(**_kwargs):
        raise RuntimeError("detector bug")

    monkeypatch.setattr(runner, "run_detection", broken)
    remote.get(FEED_URL).respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes())
    result = poll(client)
    assert result["new_posts"] == 3 and result["detection_run_id"] is None
    assert session.scalar(select(func.count()).select_from(Post)) == 3


# ---------------------------------------------------------------- leases, on the poller itself


def _accounts_with_feeds(client, unit, n):
    return [factories.account(client, unit["id"], f"acct{i}", source={"kind": "rss", "url": f"https://feeds.example.gov.cn/{i}"})["id"] for i in range(n)]


def test_a_leased_account_is_skipped_by_another_replica_until_the_lease_expires(client, unit, db, settings):
    from service.db import make_sessionmaker

    ids = _accounts_with_feeds(client, unit, 3)
    sessions = make_sessionmaker(db)
    started = clock.now()
    with sessions() as session:
        poller.ensure_schedule(session=session, now=started)
        session.commit()
        taken = poller.claim_batch(session=session, settings=settings, started=started, holder="replica-a")
    assert sorted(c.account_id for c in taken) == ids
    with sessions() as session:
        assert poller.claim_batch(session=session, settings=settings, started=started, holder="replica-b") == []
        # replica-a dies; its leases run out
        session.execute(update(PollState).values(leased_until=clock.now() - timedelta(seconds=1)))
        session.commit()
        taken_over = poller.claim_batch(session=session, settings=settings, started=started, holder="replica-b")
    assert sorted(c.account_id for c in taken_over) == ids
    with sessions() as session:
        holders = set(session.scalars(select(PollState.lease_holder)))
    assert holders == {"replica-b"}


def test_a_replica_whose_pass_began_first_still_finds_the_accounts_another_replica_scheduled(client, unit, db, settings):
    from service.db import make_sessionmaker

    ids = _accounts_with_feeds(client, unit, 3)
    sessions = make_sessionmaker(db)
    began = clock.now()  # replica-b's pass begins...
    with sessions() as session:
        # ...and replica-a, a moment later, gives the new accounts their schedule rows first
        poller.ensure_schedule(session=session, now=began + timedelta(seconds=2))
        session.commit()
        poller.ensure_schedule(session=session, now=began)  # replica-b finds them scheduled: nothing added
        session.commit()
        taken = poller.claim_batch(session=session, settings=settings, started=began, holder="replica-b")
    assert sorted(c.account_id for c in taken) == ids


def test_the_poller_records_nothing_for_an_account_another_replica_took_over(client, unit, db, settings):
    from service.activity.sources import Fetched
    from service.db import make_sessionmaker

    [account_id] = _accounts_with_feeds(client, unit, 1)
    sessions = make_sessionmaker(db)
    started = clock.now()
    with sessions() as session:
        poller.ensure_schedule(session=session, now=started)
        session.commit()
        [claim] = poller.claim_batch(session=session, settings=settings, started=started, holder="replica-a")
        session.execute(update(PollState).values(leased_until=clock.now() - timedelta(seconds=1)))
        session.commit()
        poller.claim_batch(session=session, settings=settings, started=started, holder="replica-b")
        result = poller.record_outcomes(session=session, settings=settings, outcomes=[poller.Outcome(claim, fetched=Fetched())], holder="replica-a")
    assert result.summary.accounts_polled == 0
    with sessions() as session:
        assert session.get(Account, account_id).source_last_polled_at is None


def test_the_scheduler_has_the_poll_tick(app):
    from service.scheduler import build_scheduler

    scheduler = build_scheduler(app)
    job = scheduler.get_job("activity.poll")
    assert job is not None and job.trigger.interval == timedelta(seconds=app.state.settings.poll_tick_seconds)


def test_a_scheduled_tick_polls_due_accounts(app, client, feed_account, remote, session):
    from service.activity import jobs

    remote.get(FEED_URL).respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes())
    asyncio.run(jobs.poll_tick(app))
    assert session.scalar(select(func.count()).select_from(Post)) == 3


def test_a_failing_source_given_a_new_url_is_polled_at_the_next_tick(client, feed_account, remote):
    remote.get(FEED_URL).respond(500)
    fixed = "https://rsshub-mirror.example.gov.cn/weibo/user/2614532121"
    remote.get(fixed).respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes())
    poll(client)
    assert status_of(client, feed_account["id"])["state"] == "failing"
    assert poll(client)["accounts_polled"] == 0  # backing off
    client.patch(f"/v1/accounts/{feed_account['id']}", json={"source": {"kind": "rss", "url": fixed}})
    result = poll(client)
    assert result["accounts_polled"] == 1 and result["new_posts"] == 3
    assert status_of(client, feed_account["id"])["state"] == "ok"


def test_the_pollers_batch_ingest_counts_and_stores_exactly_as_a_push_does(client, unit, session):
    from service.activity import service as activity
    from service.activity.schemas import InteractionIn, PostIn
    from service.activity.sources import rss

    one = factories.account(client, unit["id"], "one")
    two = factories.account(client, unit["id"], "two")
    posts = rss.parse_feed((FEEDS / "weibo_rss2.xml").read_bytes())
    messages = [InteractionIn(external_id="m1", received_at="2020-06-01T12:00:00", text="请问？")]
    edited = [posts[0].model_copy(update={"text": "改过的正文"}), posts[1], PostIn(external_id="new", published_at="2020-06-03T08:00:00")]
    account_one = session.get(Account, one["id"])

    first_push = activity.ingest(session=session, account=account_one, posts=posts, interactions=messages)
    first_batch = activity.ingest_many(session=session, batches=[(two["id"], posts, messages)])[two["id"]]
    second_push = activity.ingest(session=session, account=account_one, posts=edited, interactions=messages)
    second_batch = activity.ingest_many(session=session, batches=[(two["id"], edited, messages)])[two["id"]]
    session.commit()
    for pushed, batched in ((first_push, first_batch), (second_push, second_batch)):
        assert pushed.model_dump(exclude={"account_id"}) == batched.model_dump(exclude={"account_id"})
    assert second_batch.posts.model_dump() == {"inserted": 1, "updated": 1, "unchanged": 1}

    def stored(account_id):
        rows = session.execute(select(Post.external_id, Post.published_at, Post.title, Post.text, Post.url).where(Post.account_id == account_id).order_by(Post.external_id))
        return [tuple(row) for row in rows]

    assert stored(one["id"]) == stored(two["id"]) and len(stored(two["id"])) == 4
    session.expire_all()
    assert session.get(Account, two["id"]).last_post_at == session.get(Account, one["id"]).last_post_at
    assert session.get(Account, two["id"]).activity_changed_at is not None


def test_the_cli_polls_once_with_a_progress_bar(tmp_path, monkeypatch, capsys):
    from service import cli
    from service.config import get_settings
    from service.db import make_engine, make_sessionmaker
    from service.registry.models import Unit

    monkeypatch.setenv("ZW_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 0
        engine = make_engine(get_settings().database_url)
        with make_sessionmaker(engine).begin() as session:
            unit = Unit(name="天津市应急管理局", region_code="120000")
            session.add(unit)
            session.flush()
            session.add(Account(platform="weibo", name="天津应急", handle="tjyj", unit_id=unit.id, source_kind="rss", source_url=FEED_URL))
        engine.dispose()
        with respx.mock:
            respx.get(FEED_URL).respond(200, content=(FEEDS / "weibo_rss2.xml").read_bytes())
            assert cli.main(["poll", "--once"]) == 0
            err = capsys.readouterr().err
            assert "抓取完成：账号 1 个；新增帖子 3" in err
            assert cli.main(["poll", "--once"]) == 0
            assert "账号 0 个" in capsys.readouterr().err
            respx.get(FEED_URL).respond(304)
            assert cli.main(["poll", "--once", "--force"]) == 0
            assert "无新内容 1" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
