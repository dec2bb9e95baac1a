"""Finding events reach a real receiver signed, through failures, restarts and two dispatchers."""
import asyncio
import json
import threading
import zlib
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import respx
from sqlalchemy import func, select
from standardwebhooks import Webhook

from service import clock
from service.alerts import dispatcher as dispatching
from service.alerts.dispatcher import Dispatcher
from service.retry_after import retry_after_seconds
from service.alerts.models import Delivery, Subscription
from service.db import make_sessionmaker
from tests.alerts.conftest import Reply
from tests.factories import account, credit_code, unit

TIME_POINT = "2020-06-30T23:59:59+08:00"


def push_post(client, account_id: int, published_at: str, external_id: str = "p1") -> None:
    post = {"external_id": external_id, "published_at": published_at, "title": None, "text": "县政府召开常务会议，研究部署防汛工作。", "url": None}
    response = client.post(f"/v1/accounts/{account_id}/activity", json={"posts": [post], "interactions": []})
    assert response.status_code == 200, response.text


def detect(client, as_of: str = TIME_POINT) -> dict:
    response = client.post("/v1/detection/runs", json={"as_of": as_of})
    assert response.status_code == 201, response.text
    return response.json()


def dormant_accounts(client, count: int = 1, region_code: str = "120000", prefix: str = "sannong") -> list[dict]:
    """Accounts, each of its own unit (one unit's two accounts on a platform would be a duplicate
    finding too), whose last post is on 1 June 2020: dormant at the 30 June time point."""
    made = []
    for n in range(count):
        serial = zlib.crc32(prefix.encode()) % 10**5 * 1000 + n
        body = unit(client, f"天津市{prefix}委员会{n}", region_code, credit_code=credit_code(region_code, serial))
        acc = account(client, body["id"], f"{prefix}_{n}", name=f"天津{prefix}{n}")
        push_post(client, acc["id"], "2020-06-01T09:00:00+08:00")
        made.append(acc)
    return made


def subscribe(client, url: str, **body) -> dict:
    body = {"url": url, "event_types": ["finding.opened", "finding.escalated", "finding.resolved"], **body}
    response = client.post("/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(client, subscription_id: int, **params) -> list[dict]:
    response = client.get(f"/v1/webhooks/{subscription_id}/deliveries", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def verified(secret: str, received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def signed_by(secret: str, received) -> dict:
    """For tests that move the service's clock (the library's verify compares with the wall clock):
    the library's own signer must produce one of the header's signatures."""
    headers = received.headers
    moment = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=timezone.utc)
    expected = Webhook(secret).sign(headers["webhook-id"], moment, received.body.decode())
    assert expected in headers["webhook-signature"].split(" ")
    return json.loads(received.body)


def test_a_finding_opened_is_delivered_signed_and_verifies_with_the_standardwebhooks_library(client, receiver, dispatch):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client)
    detect(client)
    assert dispatch() == 1
    (got,) = receiver.received
    event = verified(sub["secret"], got)
    assert event["type"] == "finding.opened"
    assert event["data"]["action"] == "opened"
    finding = event["data"]["finding"]
    assert finding["rule"] == "dormant.no_update_14d" and finding["status"] == "open"
    assert event["data"]["links"]["finding"].endswith(f"/v1/findings/{finding['id']}")
    assert client.get(f"/v1/findings/{finding['id']}").json()["title"] == finding["title"]
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["content-type"] == "application/json"
    assert "x-api-key" not in got.headers and "test-admin-key" not in got.body.decode()
    (delivery,) = deliveries(client, sub["id"])
    assert delivery["status"] == "succeeded" and delivery["webhook_id"] == got.headers["webhook-id"]
    (attempt,) = delivery["attempts"]
    assert attempt["status_code"] == 200 and attempt["response_body"] == "ok" and attempt["latency_ms"] >= 0
    assert client.get(f"/v1/webhooks/{sub['id']}").json()["last_success_at"]


def test_escalation_and_resolution_are_events_too_and_acknowledging_is_not(client, receiver, dispatch):
    sub = subscribe(client, receiver.url)
    (acc,) = dormant_accounts(client)
    detect(client)
    finding_id = client.get("/v1/findings").json()["items"][0]["id"]
    assert client.post(f"/v1/findings/{finding_id}/acknowledge").status_code == 200
    detect(client, as_of="2020-10-01T12:00:00+08:00")  # four months silent: a zombie
    push_post(client, acc["id"], "2020-10-05T09:00:00+08:00", external_id="p2")
    detect(client, as_of="2020-10-06T12:00:00+08:00")
    dispatch()
    # sent concurrently, so they may arrive in any order: the payload's timestamp orders them
    events = sorted((verified(sub["secret"], r) for r in receiver.received), key=lambda e: e["timestamp"])
    assert [e["type"] for e in events] == ["finding.opened", "finding.escalated", "finding.resolved"]
    assert events[1]["data"]["finding"]["rule"] == "dormant.zombie_90d"
    assert events[2]["data"]["finding"]["status"] == "resolved"
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 3


def test_a_reopened_finding_is_a_finding_opened_that_says_reopened(client, receiver, dispatch):
    sub = subscribe(client, receiver.url, event_types=["finding.opened"])
    dormant_accounts(client)
    detect(client)
    finding_id = client.get("/v1/findings").json()["items"][0]["id"]
    client.post(f"/v1/findings/{finding_id}/resolve", json={"note": "已整改"})
    detect(client)
    dispatch()
    events = sorted((verified(sub["secret"], r) for r in receiver.received), key=lambda e: e["timestamp"])
    actions = [e["data"]["action"] for e in events]
    assert actions == ["opened", "reopened"]


def test_filters_choose_the_events(client, receiver, dispatch):
    dormant_accounts(client)
    mine = subscribe(client, receiver.url, filters={"rules": ["dormant.zombie_90d"]})
    elsewhere = subscribe(client, receiver.url, filters={"region_code": "350000"})
    detect(client)
    assert dispatch() == 0
    detect(client, as_of="2020-10-01T12:00:00+08:00")
    assert dispatch() == 1
    assert verified(mine["secret"], receiver.received[0])["type"] == "finding.escalated"
    assert deliveries(client, elsewhere["id"]) == []


def test_a_500_is_retried_on_schedule_under_the_same_webhook_id(client, receiver, dispatch, later):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client)
    receiver.replies = [Reply(500, b"upstream broke")]
    before = clock.now()
    detect(client)
    assert dispatch() == 1
    (delivery,) = deliveries(client, sub["id"])
    assert delivery["status"] == "pending" and delivery["last_status_code"] == 500
    wait = (datetime.fromisoformat(delivery["next_attempt_at"]) - before).total_seconds()
    assert 4 <= wait <= 6 + 1  # the second step of the schedule, 5 s ± 20 %
    assert dispatch() == 0  # not due yet
    later(7)
    assert dispatch() == 1
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    signed_by(sub["secret"], second)
    (delivery,) = deliveries(client, sub["id"])
    assert delivery["status"] == "succeeded"
    assert [(a["number"], a["status_code"], a["response_body"]) for a in delivery["attempts"]] == [
        (1, 500, "upstream broke"), (2, 200, "ok")]  # fmt: skip
    assert client.get(f"/v1/webhooks/{sub['id']}").json()["status"] == "active"


def test_410_gone_disables_the_subscription(client, receiver, dispatch):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client, count=2)
    receiver.replies = [Reply(410), Reply(410)]
    detect(client)
    dispatch()
    read = client.get(f"/v1/webhooks/{sub['id']}").json()
    assert read["status"] == "disabled" and read["disabled_reason"] == "gone"
    assert {d["status"] for d in deliveries(client, sub["id"])} == {"failed"}
    dormant_accounts(client, region_code="120100", prefix="binhai")
    detect(client)
    assert dispatch() == 0  # a disabled subscription gets nothing new


def test_429_honours_retry_after(client, receiver, dispatch):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client)
    receiver.replies = [Reply(429, headers={"Retry-After": "120"})]
    detect(client)
    dispatch()
    (delivery,) = deliveries(client, sub["id"])
    wait = (datetime.fromisoformat(delivery["next_attempt_at"]) - datetime.fromisoformat(delivery["attempts"][0]["at"])).total_seconds()
    assert 119 <= wait <= 121
    assert client.get(f"/v1/webhooks/{sub['id']}").json()["status"] == "failing"


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt_retried_later(client, receiver, dispatch):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client)
    receiver.replies = [Reply(200, delay=2.0)]  # the tests' timeout is 1 s
    detect(client)
    dispatch()
    (delivery,) = deliveries(client, sub["id"])
    assert delivery["status"] == "pending" and "超时" in delivery["last_error"]
    assert delivery["attempts"][0]["status_code"] is None


def test_after_the_last_attempt_the_delivery_fails(client, receiver, dispatch):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client)
    receiver.replies = [Reply(503)] * 3
    detect(client)
    for _ in range(3):
        dispatch(webhook_retry_seconds=[0, 0, 0])
    (delivery,) = deliveries(client, sub["id"])
    assert delivery["status"] == "failed" and delivery["attempt_count"] == 3
    assert len(receiver.received) == 3


def test_a_subscription_failing_for_five_days_is_disabled(client, receiver, dispatch, later):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client)
    receiver.replies = [Reply(500)] * 10
    detect(client)
    dispatch()
    assert client.get(f"/v1/webhooks/{sub['id']}").json()["status"] == "failing"
    later(5 * 86400 + 60)
    dispatch(webhook_retry_seconds=[0, 0, 0, 0])  # one more failed attempt, five days after the first
    read = client.get(f"/v1/webhooks/{sub['id']}").json()
    assert read["status"] == "disabled" and read["disabled_reason"] == "failing"


def test_a_crash_after_the_commit_loses_nothing_a_new_dispatcher_sends_it(client, receiver, app, settings):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client)
    detect(client)  # committed with its outbox row; this "process" never sends
    fresh = make_sessionmaker(app.state.engine)
    sent = asyncio.run(Dispatcher(sessionmaker=fresh, settings=settings, holder="replica-b").drain())
    assert sent == 1
    verified(sub["secret"], receiver.received[0])


def test_a_dispatcher_killed_after_claiming_leaves_a_lease_that_expires(client, receiver, app, settings, dispatch, later):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client)
    detect(client)
    with app.state.sessionmaker() as session:
        box = dispatching.signing.SecretBox(settings.webhook_secret_key)
        (claimed,) = dispatching.claim(session=session, settings=settings, box=box, now=clock.now(), holder="killed-replica")
    assert dispatch() == 0  # leased to the dead replica
    later(settings.webhook_lease_seconds + 1)
    assert dispatch(holder="replica-b") == 1
    (got,) = receiver.received
    assert got.headers["webhook-id"] == claimed.message_id
    signed_by(sub["secret"], got)


def test_two_dispatchers_never_send_one_delivery_at_the_same_time(client, receiver, app, settings):
    subscribe(client, receiver.url)
    dormant_accounts(client, count=30)
    detect(client)
    receiver.replies = [Reply(200, delay=0.05) for _ in range(30)]
    small = settings.model_copy(update={"webhook_batch_size": 4})
    counts = []

    def run(holder: str) -> None:
        dispatcher = Dispatcher(sessionmaker=make_sessionmaker(app.state.engine), settings=small, holder=holder)
        counts.append(asyncio.run(dispatcher.drain()))

    threads = [threading.Thread(target=run, args=(f"replica-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert sum(counts) == 30
    with app.state.sessionmaker() as session:
        assert set(session.scalars(select(Delivery.attempt_count))) == {1}
        assert set(session.scalars(select(Delivery.status))) == {"succeeded"}


def test_a_digest_gathers_the_window_into_one_delivery(client, receiver, dispatch, later):
    sub = subscribe(client, receiver.url, digest_minutes=10)
    dormant_accounts(client, count=5)
    detect(client)
    assert dispatch() == 0  # the window is open
    assert {d["status"] for d in deliveries(client, sub["id"])} == {"held"}
    later(11 * 60)
    assert dispatch() == 1
    (got,) = receiver.received
    digest = signed_by(sub["secret"], got)
    assert digest["type"] == "findings.digest"
    assert digest["data"]["count"] == 5 and digest["data"]["counts"] == {"finding.opened": 5}
    assert len(digest["data"]["events"]) == 5 and digest["data"]["omitted"] == 0
    assert {e["finding"]["rule"] for e in digest["data"]["events"]} == {"dormant.no_update_14d"}
    rows = deliveries(client, sub["id"])
    (carrier,) = [d for d in rows if d["event_type"] == "findings.digest"]
    assert carrier["status"] == "succeeded"
    assert sorted(d["digest_id"] for d in rows if d["status"] == "digested") == [carrier["id"]] * 5


def test_a_large_digest_stays_under_20_kb_and_counts_what_it_leaves_out(client, receiver, dispatch, later):
    sub = subscribe(client, receiver.url, digest_minutes=1)
    dormant_accounts(client, count=120)
    detect(client)
    later(120)
    dispatch()
    (got,) = receiver.received
    digest = signed_by(sub["secret"], got)
    assert len(got.body) < 20 * 1024
    assert digest["data"]["count"] == 120
    assert len(digest["data"]["events"]) + digest["data"]["omitted"] == 120 and digest["data"]["omitted"] > 0


def test_a_target_refused_at_send_time_is_not_contacted(client, receiver, dispatch):
    sub = subscribe(client, receiver.url)  # allowed when it was made
    dormant_accounts(client)
    detect(client)
    dispatch(webhook_allowed_networks=[])  # the allowlist no longer covers it
    assert receiver.received == []
    (delivery,) = deliveries(client, sub["id"])
    assert "已拒绝发送" in delivery["last_error"] and "回环" in delivery["last_error"]


def test_a_redelivery_resends_the_same_message_and_recover_resends_the_failed_ones(client, receiver, dispatch):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client, count=2)
    detect(client)
    dispatch()
    first = deliveries(client, sub["id"])[0]
    response = client.post(f"/v1/deliveries/{first['id']}/redeliver")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert client.post(f"/v1/deliveries/{first['id']}/redeliver").status_code == 409  # already queued
    dispatch()
    resent = receiver.received[-1]
    assert resent.headers["webhook-id"] == first["webhook_id"]
    verified(sub["secret"], resent)
    # the receiver goes away, then the subscription is switched back on
    receiver.replies = [Reply(410)]
    dormant_accounts(client, region_code="120100", prefix="binhai")
    detect(client)
    dispatch()
    client.patch(f"/v1/webhooks/{sub['id']}", json={"enabled": True})
    failed = deliveries(client, sub["id"], status="failed")
    assert len(failed) == 1
    since = datetime.fromisoformat(failed[0]["created_at"]) - timedelta(seconds=1)
    recovered = client.post(f"/v1/webhooks/{sub['id']}/recover", params={"since": since.isoformat()})
    assert recovered.status_code == 200 and recovered.json()["requeued"] == 1
    dispatch()
    assert receiver.received[-1].headers["webhook-id"] == failed[0]["webhook_id"]
    assert deliveries(client, sub["id"], status="failed") == []


def test_the_test_button_sends_a_ping_and_a_rotated_secret_signs_beside_the_old_one(client, receiver, dispatch):
    sub = subscribe(client, receiver.url, digest_minutes=60)  # a ping does not wait for the digest
    rotated = client.post(f"/v1/webhooks/{sub['id']}/rotate-secret").json()
    response = client.post(f"/v1/webhooks/{sub['id']}/test")
    assert response.status_code == 202 and response.json()["event_type"] == "ping"
    dispatch()
    (got,) = receiver.received
    assert got.headers["webhook-signature"].count("v1,") == 2
    assert verified(rotated["secret"], got)["type"] == "ping"
    assert verified(sub["secret"], got)["type"] == "ping"


def test_the_old_secret_stops_signing_after_its_overlap(client, receiver, dispatch, later):
    sub = subscribe(client, receiver.url)
    rotated = client.post(f"/v1/webhooks/{sub['id']}/rotate-secret").json()
    later(24 * 3600 + 60)
    client.post(f"/v1/webhooks/{sub['id']}/test")
    dispatch()
    (got,) = receiver.received
    assert got.headers["webhook-signature"].count("v1,") == 1
    signed_by(rotated["secret"], got)
    with pytest.raises(AssertionError):
        signed_by(sub["secret"], got)


@respx.mock
def test_a_redirect_is_not_followed(client, dispatch):
    route = respx.post("https://8.8.8.8/hook").mock(return_value=httpx.Response(301, headers={"Location": "http://169.254.169.254/"}))
    metadata = respx.route(host="169.254.169.254").mock(return_value=httpx.Response(200))
    sub = subscribe(client, "https://8.8.8.8/hook")
    dormant_accounts(client)
    detect(client)
    dispatch()
    assert route.call_count == 1 and metadata.call_count == 0
    (delivery,) = deliveries(client, sub["id"])
    assert delivery["status"] == "pending" and "重定向" in delivery["last_error"]


@respx.mock
def test_502_and_504_back_off_by_retry_after_given_as_a_date(client, dispatch):
    moment = clock.now() + timedelta(minutes=10)
    http_date = moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
    respx.post("https://8.8.8.8/hook").mock(return_value=httpx.Response(502, headers={"Retry-After": http_date}))
    sub = subscribe(client, "https://8.8.8.8/hook")
    dormant_accounts(client)
    detect(client)
    dispatch()
    (delivery,) = deliveries(client, sub["id"])
    wait = (datetime.fromisoformat(delivery["next_attempt_at"]) - clock.now()).total_seconds()
    assert 9 * 60 <= wait <= 10 * 60 + 1


@respx.mock
def test_a_connection_error_is_recorded_and_retried(client, dispatch):
    respx.post("https://8.8.8.8/hook").mock(side_effect=httpx.ConnectError("connection refused"))
    sub = subscribe(client, "https://8.8.8.8/hook")
    dormant_accounts(client)
    detect(client)
    dispatch()
    (delivery,) = deliveries(client, sub["id"])
    assert delivery["status"] == "pending" and "ConnectError" in delivery["last_error"]


def test_a_finding_with_huge_evidence_is_trimmed_under_20_kb_with_a_link(session):
    from service.alerts import outbox
    from service.findings.models import Finding

    finding = Finding(
        id=7, fingerprint="x", type="off_topic", rule="dormant.no_update_14d", severity="medium", severity_rank=1,
        status="open", region_code="120000", title="天津三农发布与政务无关信息", reopen_count=0,
        evidence={"days_silent": 20, "posts": ["心灵鸡汤" * 200] * 30}, first_seen=clock.now(), last_seen=clock.now(),
        created_at=clock.now(), updated_at=clock.now(),
    )  # fmt: skip
    payload = outbox.finding_payload(event_type="finding.opened", action="opened", finding=finding)
    body = outbox.dumps(payload).encode()
    assert len(body) < 20 * 1024
    evidence = payload["data"]["finding"]["evidence"]
    assert evidence["days_silent"] == 20 and evidence["trimmed"] is True and evidence["omitted"] == ["posts"]
    assert payload["data"]["links"]["finding"].endswith("/v1/findings/7")


def test_deleting_a_subscription_while_a_delivery_is_in_flight_records_nothing_and_breaks_nothing(client, receiver, app, settings, dispatch):
    sub = subscribe(client, receiver.url)
    dormant_accounts(client)
    detect(client)
    with app.state.sessionmaker() as session:
        box = dispatching.signing.SecretBox(settings.webhook_secret_key)
        claimed = dispatching.claim(session=session, settings=settings, box=box, now=clock.now())
    client.delete(f"/v1/webhooks/{sub['id']}")
    outcome = dispatching.Outcome(claimed=claimed[0], at=clock.now(), status_code=200)
    with app.state.sessionmaker() as session:
        dispatching.record(session=session, settings=settings, outcomes=[outcome])
        assert session.scalar(select(Subscription)) is None


@pytest.mark.parametrize("value", ["30", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", None])
def test_retry_after_is_read_as_seconds_or_a_date(value):
    now = datetime.fromisoformat("2015-10-21T07:27:00+00:00")
    seconds = retry_after_seconds(value, now)
    assert seconds == {"30": 30.0, "Wed, 21 Oct 2015 07:28:00 GMT": 60.0}.get(value)


def test_the_last_transition_of_a_transaction_is_not_lost_when_nothing_is_left_to_flush(client, receiver, app):
    from service.findings import service as findings
    from service.findings.models import Finding

    subscribe(client, receiver.url)
    with app.state.sessionmaker.begin() as session:
        now = clock.now()
        finding = Finding(fingerprint="one", type="dormant", rule="dormant.no_update_14d", severity="medium", severity_rank=1,
                          status="open", region_code="120000", title="天津三农监测时间点前2周内无更新", reopen_count=0,
                          evidence={}, first_seen=now, last_seen=now)  # fmt: skip
        session.add(finding)
        session.flush()
        # building the payload loads the finding's accounts, which autoflushes the history row:
        # the commit then has nothing to flush, and the event must be written all the same
        findings._transition(session, finding, action="opened", to_status="open", actor="test")
    with app.state.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_report_events_reach_subscriptions_covering_their_region(client, receiver, app, dispatch):
    from service.alerts import outbox

    national = subscribe(client, receiver.url, event_types=["report.published"])
    fujian = subscribe(client, receiver.url, event_types=["report.published"], filters={"region_code": "350000"})
    tianjin = subscribe(client, receiver.url, event_types=["report.published"], filters={"region_code": "120000"})
    with app.state.sessionmaker.begin() as session:
        message_id = outbox.enqueue_event(session=session, type="report.published", data={"period": "2020Q2", "region_code": "350426"},
                                          region_code="350426")  # fmt: skip
    assert message_id.startswith("msg_")
    assert dispatch() == 2
    assert {r.headers["webhook-id"] for r in receiver.received} == {message_id}
    assert len(deliveries(client, national["id"])) == len(deliveries(client, fujian["id"])) == 1
    assert deliveries(client, tianjin["id"]) == []
    for got in receiver.received:  # one per subscription, each signed with its own secret
        secret = next(sub["secret"] for sub in (national, fujian) if got.headers["webhook-signature"] == signing_of(sub["secret"], got))
        assert verified(secret, got)["data"]["period"] == "2020Q2"


def signing_of(secret: str, received) -> str:
    headers = received.headers
    return dispatching.signing.signature(secret=secret, message_id=headers["webhook-id"],
                                         timestamp=int(headers["webhook-timestamp"]), body=received.body)  # fmt: skip


def test_the_scheduled_dispatcher_sends_without_being_asked(db, settings, receiver):
    import time

    from fastapi.testclient import TestClient

    from service.app import create_app
    from tests.conftest import ADMIN_KEY

    app = create_app(settings.model_copy(update={"scheduler_enabled": True, "webhook_tick_seconds": 0.2}))
    with TestClient(app, headers={"X-API-Key": ADMIN_KEY}) as scheduled:
        sub = subscribe(scheduled, receiver.url)
        assert scheduled.post(f"/v1/webhooks/{sub['id']}/test").status_code == 202
        deadline = time.monotonic() + 15
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.1)
    (got,) = receiver.received
    assert verified(sub["secret"], got)["type"] == "ping"
