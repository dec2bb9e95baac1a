"""Detection runs through the HTTP API, on a real database: the monitoring time point, reruns,
the lifecycle of findings, registry states, units listed twice, discoveries and region scope."""
from datetime import datetime, timedelta

import pytest

from service.clock import SHANGHAI
from tests.factories import account, credit_code, unit

TIME_POINT = "2020-06-30T23:59:59+08:00"


def push(client, account_id: int, posts=(), interactions=()):
    response = client.post(f"/v1/accounts/{account_id}/activity", json={"posts": list(posts), "interactions": list(interactions)})
    assert response.status_code == 200, response.text


def post(external_id: str, published_at: str, text: str = "县政府召开常务会议，研究部署防汛工作。", title: str | None = None) -> dict:
    return {"external_id": external_id, "published_at": published_at, "title": title, "text": text, "url": None}


def run(client, as_of: str = TIME_POINT, headers=None, **body) -> dict:
    response = client.post("/v1/detection/runs", json={"as_of": as_of, **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def findings(client, headers=None, **params) -> list[dict]:
    response = client.get("/v1/findings", params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def one_finding(client, **params) -> dict:
    (found,) = findings(client, **params)
    return client.get(f"/v1/findings/{found['id']}").json()


@pytest.fixture
def tianjin(client) -> dict:
    return unit(client, name="天津市农业农村委员会", region_code="120000", credit_code=credit_code("120000", 1))


@pytest.fixture
def sannong(client, tianjin) -> dict:
    return account(client, tianjin["id"], "tianjin_sannong", name="天津三农")


def test_a_time_point_given_in_utc_is_the_same_moment(client, sannong):
    push(client, sannong["id"], [post("p1", "2020-06-16T08:00:00")])  # naive: Beijing time
    assert run(client, as_of="2020-06-29T23:59:59Z")["counts"]["by_rule"] == {}
    result = run(client, as_of="2020-06-30T00:00:00Z")  # 08:00 Beijing: exactly 14 days
    assert result["counts"]["by_rule"] == {"dormant.no_update_14d": 1}
    found = one_finding(client)
    assert found["evidence"]["days_silent"] == 14
    assert found["evidence"]["last_post_at"] == "2020-06-16T08:00:00+08:00"


def test_only_activity_at_or_before_the_time_point_counts(client, sannong):
    push(client, sannong["id"], [post("p1", "2020-06-01T09:00:00+08:00"), post("p2", "2020-07-05T09:00:00+08:00")])
    run(client)
    assert one_finding(client)["evidence"]["last_post_at"] == "2020-06-01T09:00:00+08:00"


def test_running_again_updates_the_finding_and_never_duplicates_it(client, sannong):
    push(client, sannong["id"], [post("p1", "2020-06-01T09:00:00+08:00")])
    first = run(client)
    second = run(client, as_of="2020-07-02T12:00:00+08:00")
    assert first["transitions"] == {"opened": 1} and second["transitions"] == {"unchanged": 1}
    found = one_finding(client)
    assert found["first_seen"] == TIME_POINT and found["last_seen"] == "2020-07-02T12:00:00+08:00"
    assert [event["action"] for event in found["history"]] == ["opened"]


def test_silence_past_three_months_escalates_the_same_finding_to_zombie(client, sannong):
    push(client, sannong["id"], [post("p1", "2020-06-01T09:00:00+08:00")])
    run(client)
    before = one_finding(client)
    assert run(client, as_of="2020-09-15T00:00:00+08:00")["transitions"] == {"escalated": 1}
    after = one_finding(client)
    assert after["id"] == before["id"]
    assert (before["rule"], before["severity"]) == ("dormant.no_update_14d", "medium")
    assert (after["rule"], after["severity"]) == ("dormant.zombie_90d", "high")
    assert [(e["action"], e["rule"]) for e in after["history"]] == [
        ("opened", "dormant.no_update_14d"), ("escalated", "dormant.zombie_90d")
    ]  # fmt: skip


def test_a_finding_resolves_itself_when_the_account_posts_again_and_reopens_when_it_falls_silent(client, sannong):
    push(client, sannong["id"], [post("p1", "2020-06-01T09:00:00+08:00")])
    run(client)
    push(client, sannong["id"], [post("p2", "2020-07-01T09:00:00+08:00")])
    assert run(client, as_of="2020-07-02T00:00:00+08:00")["transitions"] == {"resolved": 1}
    resolved = one_finding(client)
    assert resolved["status"] == "resolved" and resolved["history"][-1]["actor"] == "detection"
    assert run(client, as_of="2020-07-20T00:00:00+08:00")["transitions"] == {"reopened": 1}
    reopened = one_finding(client)
    assert reopened["id"] == resolved["id"]
    assert reopened["status"] == "open" and reopened["reopen_count"] == 1 and reopened["resolved_at"] is None
    assert [e["action"] for e in reopened["history"]] == ["opened", "resolved", "reopened"]


def test_closed_accounts_are_not_inspected_and_their_findings_resolve(client, tianjin):
    quiet = account(client, tianjin["id"], "binhai_shanglv", name="滨海商旅", filed=False)
    run(client)
    assert {f["rule"] for f in findings(client, status="open")} == {"dormant.never_posted", "unregistered.not_filed"}
    assert client.patch(f"/v1/accounts/{quiet['id']}", json={"status": "closed"}).status_code == 200
    result = run(client)
    assert result["accounts_checked"] == 0 and result["transitions"] == {"resolved": 2}


def test_suspended_accounts_are_inspected_only_for_registry_rules(client, tianjin):
    account(client, tianjin["id"], "hezuo", name="天津合作交流", filed=False, status="suspended")
    run(client)
    assert [f["rule"] for f in findings(client)] == ["unregistered.not_filed"]


def test_a_unit_listed_twice_under_two_spellings_yields_one_finding_with_all_its_accounts(client):
    listed = unit(client, name="福建省尤溪县公安局", region_code="350426", region_name="福建省三明市尤溪县")
    again = unit(client, name="尤溪縣公安局", region_code="350426")
    first = account(client, listed["id"], "youxi_jingcha", name="尤溪警察蜀黍")
    second = account(client, again["id"], "youxi_gongan", name="福建省尤溪县公安局")
    weibo = account(client, again["id"], "youxi_weibo", platform="weibo", name="尤溪公安")  # another platform: fine
    for a, external_id in ((first, "a"), (second, "b"), (weibo, "c")):
        push(client, a["id"], [post(external_id, "2020-06-29T09:00:00+08:00")])
    run(client)
    (duplicate,) = findings(client, type="duplicate")
    assert duplicate["rule"] == "duplicate.same_unit_platform"
    assert sorted(duplicate["account_ids"]) == sorted([first["id"], second["id"]])
    assert duplicate["evidence"]["unit_ids"] == sorted([listed["id"], again["id"]])
    # A run limited to either registry entry still sees the unit whole.
    assert run(client, unit_id=again["id"])["transitions"] == {"unchanged": 1}


def test_a_stop_notice_past_its_notice_period_flags_the_account_with_the_notice_post(client, tianjin):
    hongmei = account(client, tianjin["id"], "hongmei", name="东莞市人社局洪梅分局")
    notice = "因机构调整，本公众号将于近期注销，即日起停止更新，感谢关注。"
    push(client, hongmei["id"], [post("old", "2020-05-20T09:00:00+08:00"), post("notice", "2020-06-01T10:00:00+08:00", notice, "停更声明")])
    inside = run(client, as_of="2020-06-15T00:00:00+08:00")
    assert "dormant.stop_declared" not in inside["counts"]["by_rule"]
    run(client)
    (found,) = findings(client, rule="dormant.stop_declared")
    assert found["evidence"]["notice"]["external_id"] == "notice"
    assert found["evidence"]["notice"]["phrase"] == "停更声明"


def test_messages_unanswered_past_five_working_days_flag_the_account(client, tianjin):
    education = account(client, tianjin["id"], "jyfb", platform="weibo", name="江苏教育发布")
    push(
        client,
        education["id"],
        [post("p1", "2020-06-30T09:00:00+08:00")],
        [
            {"external_id": "m1", "received_at": "2020-06-19T10:00:00+08:00", "replied_at": None, "text": "请问今年中考什么时候出成绩？"},
            {"external_id": "m2", "received_at": "2020-06-18T10:00:00+08:00", "replied_at": "2020-06-19T09:00:00+08:00", "text": "已回复的留言"},
            # answered after the time point: still waiting at it
            {"external_id": "m3", "received_at": "2020-06-10T10:00:00+08:00", "replied_at": "2020-07-03T09:00:00+08:00", "text": "补考安排？"},
        ],
    )
    run(client)
    (found,) = findings(client, type="unresponsive")
    assert found["evidence"]["overdue_count"] == 2
    assert [e["external_id"] for e in found["evidence"]["examples"]] == ["m3", "m1"]
    assert run(client, as_of="2020-07-03T12:00:00+08:00")["counts"]["by_rule"].get("unresponsive.overdue_replies") == 1


def test_a_discovered_account_missing_from_the_registry_opens_a_finding_until_it_is_registered(client, tianjin):
    response = client.post("/v1/discoveries", json={
        "platform": "wechat", "handle": "touzishanwei", "name": "投资汕尾", "region_code": "441500", "seen_at": "2020-06-20T10:00:00+08:00",
    })  # fmt: skip
    assert response.status_code == 200, response.text
    run(client)
    (found,) = findings(client, type="unregistered")
    assert found["rule"] == "unregistered.discovered" and found["evidence"]["name"] == "投资汕尾"
    assert findings(client, region_code="440000")[0]["id"] == found["id"]
    shanwei = unit(client, name="汕尾市投资促进局", region_code="441500")
    registered = account(client, shanwei["id"], "touzishanwei_2", name="投资 汕尾")  # another handle, a close name
    push(client, registered["id"], [post("p1", "2020-06-30T09:00:00+08:00")])
    run(client)
    assert client.get(f"/v1/findings/{found['id']}").json()["status"] == "resolved"


def test_a_region_scoped_key_sees_and_inspects_only_its_region(client, make_key, sannong):
    fujian = unit(client, name="松溪县司法局", region_code="350724")
    songxi = account(client, fujian["id"], "songxi_pufa", name="松溪普法")
    run(client)  # both accounts never posted
    tianjin_reader, fujian_editor = make_key("reader", "120000"), make_key("editor", "350000")
    seen = findings(client, headers=tianjin_reader)
    assert [f["account_ids"] for f in seen] == [[sannong["id"]]]
    fujian_finding = findings(client, account_id=songxi["id"])[0]
    response = client.get(f"/v1/findings/{fujian_finding['id']}", headers=tianjin_reader)
    assert response.status_code == 403 and response.headers["content-type"].startswith("application/problem+json")
    # Fujian's editor posts for 松溪普法 and re-runs: only Fujian is inspected, Tianjin's finding stays open.
    push(client, songxi["id"], [post("p1", "2020-06-30T09:00:00+08:00")])
    result = run(client, headers=fujian_editor)
    assert result["region_code"] == "350000" and result["accounts_checked"] == 1
    assert {f["status"] for f in findings(client, account_id=sannong["id"])} == {"open"}
    assert {f["status"] for f in findings(client, account_id=songxi["id"])} == {"resolved"}


def test_a_scoped_key_cannot_run_detection_for_another_region(client, make_key):
    response = client.post("/v1/detection/runs", json={"region_code": "120000"}, headers=make_key("editor", "350000"))
    assert response.status_code == 403
    assert "350000" in response.json()["detail"]


def test_runs_are_stored_with_their_counts(client, sannong):
    created = run(client)
    stored = client.get(f"/v1/detection/runs/{created['id']}").json()
    assert stored["counts"] == {"by_type": {"dormant": 1}, "by_rule": {"dormant.never_posted": 1}}
    assert stored["as_of"] == TIME_POINT and stored["status"] == "completed" and stored["trigger"] == "api"
    assert [r["id"] for r in client.get("/v1/detection/runs").json()["items"]] == [created["id"]]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"as_of": "30/06/2020"}, 422, "as_of"),
        ({"unit_id": 999999}, 404, "999999"),
        ({"region_code": "12"}, 422, "region_code"),
        ({"as_of": TIME_POINT, "speed": "fast"}, 422, "speed"),
    ],
)
def test_bad_run_requests_get_a_clear_error_and_run_nothing(client, body, status, words):
    response = client.post("/v1/detection/runs", json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert words in str(problem)
    assert client.get("/v1/detection/runs").json()["items"] == []


def test_the_rules_endpoint_cites_each_rules_source(client):
    rules = {r["code"]: r for r in client.get("/v1/detection/rules").json()}
    assert "国办秘函〔2019〕19号" in rules["dormant.no_update_14d"]["description"]
    assert "国办发〔2018〕123号" in rules["duplicate.same_unit_platform"]["description"]
    assert rules["dormant.no_update_14d"]["single_veto"] is True
    assert {r["type"] for r in rules.values()} >= {"dormant", "duplicate", "unresponsive", "unregistered"}


def backdate(session, hours: int) -> None:
    """Let `hours` pass: every stored run began that much earlier, and every change an hour before that."""
    from sqlalchemy import select

    from service.detection.models import DetectionRun
    from service.registry.models import Account

    for model, columns, shift in ((DetectionRun, ("started_at",), hours), (Account, ("activity_changed_at", "updated_at"), hours + 1)):
        for row in session.scalars(select(model)):
            for column in columns:
                if getattr(row, column) is not None:
                    setattr(row, column, getattr(row, column) - timedelta(hours=shift))
    session.commit()


def test_an_incremental_run_looks_only_at_accounts_that_changed(client, session, tianjin, sannong):
    elsewhere = unit(client, name="天津市合作交流办公室", region_code="120000")
    other = account(client, elsewhere["id"], "tj_other", platform="weibo", name="天津合作交流")
    weeks_ago = (datetime.now(SHANGHAI) - timedelta(days=30)).isoformat()
    for a in (sannong, other):
        push(client, a["id"], [post("old", weeks_ago)])
    assert run(client, as_of=None)["transitions"] == {"opened": 2}
    backdate(session, hours=1)
    push(client, sannong["id"], [post("p1", (datetime.now(SHANGHAI) - timedelta(hours=1)).isoformat())])
    result = run(client, as_of=None, incremental=True)
    assert result["incremental"] is True and result["accounts_checked"] == 1
    assert result["transitions"] == {"resolved": 1}
    assert {f["status"] for f in findings(client, account_id=other["id"])} == {"open"}


def test_a_run_limited_to_another_region_does_not_hide_a_change_from_the_next_incremental_run(client, session, sannong, make_key):
    run(client, as_of=None)
    backdate(session, hours=1)
    push(client, sannong["id"], [post("p1", (datetime.now(SHANGHAI) - timedelta(hours=1)).isoformat())])
    run(client, as_of=None, headers=make_key("editor", "350000"))  # Fujian only
    assert run(client, as_of=None, incremental=True)["accounts_checked"] == 1


def test_a_change_stamped_just_before_a_run_began_is_still_seen_by_the_next_incremental_run(client, session, sannong):
    from sqlalchemy import update

    from service.detection.models import DetectionRun

    run(client, as_of=None)
    backdate(session, hours=1)
    push(client, sannong["id"], [post("p1", (datetime.now(SHANGHAI) - timedelta(hours=1)).isoformat())])
    # The push's transaction stamped it, then a run began before the push committed.
    run(client, as_of=None)
    session.execute(update(DetectionRun).values(started_at=datetime.now(SHANGHAI) + timedelta(minutes=2)))
    session.commit()
    assert run(client, as_of=None, incremental=True)["accounts_checked"] == 1


def test_an_incremental_run_judges_the_changed_account_and_its_units_accounts_together_but_not_the_others_alone(
    client, session, tianjin, sannong
):
    sibling = account(client, tianjin["id"], "tj_sibling", name="天津三农服务")  # same unit, same platform
    weeks_ago = (datetime.now(SHANGHAI) - timedelta(days=30)).isoformat()
    for a in (sannong, sibling):
        push(client, a["id"], [post("old", weeks_ago)])
    first = run(client, as_of=None)
    assert first["counts"]["by_rule"] == {"dormant.no_update_14d": 2, "duplicate.same_unit_platform": 1}
    backdate(session, hours=1)
    push(client, sannong["id"], [post("p1", (datetime.now(SHANGHAI) - timedelta(hours=1)).isoformat())])
    result = run(client, as_of=None, incremental=True)
    assert result["accounts_checked"] == 1
    # 天津三农's silence resolves and the unit's duplicate is judged again; the sibling is not judged alone.
    assert result["transitions"] == {"resolved": 1, "unchanged": 1}
    assert {f["status"] for f in findings(client, account_id=sibling["id"], type="dormant")} == {"open"}
    assert client.patch(f"/v1/accounts/{sibling['id']}", json={"status": "closed"}).status_code == 200
    assert run(client, as_of=None, incremental=True)["transitions"] == {"resolved": 2}  # its silence, the duplicate


def test_an_incremental_run_compares_content_only_where_an_account_changed_and_leaves_the_other_platform_alone(client, session, tianjin):
    texts = [
        "县政府召开常务会议，研究部署防汛抗旱和安全生产工作，要求各部门压实责任、加强值守。",
        "市场监管局开展校园周边食品安全专项检查，共检查经营主体一百二十家，责令整改八家。",
        "人社局发布高校毕业生就业补贴申领指南，符合条件的企业可在线提交材料，十个工作日内审核。",
        "交通运输局提醒：国庆期间高速公路免费通行，请合理安排出行时间，注意行车安全。",
    ]
    recent = [(datetime.now(SHANGHAI) - timedelta(days=d)).isoformat() for d in (1, 2, 3, 4)]
    pairs = {}
    for platform in ("wechat", "weibo"):
        pair = [account(client, tianjin["id"], f"tj_{platform}_{k}", platform=platform, name=f"天津三农{platform}{k}") for k in (1, 2)]
        for k, a in enumerate(pair):
            push(client, a["id"], [post(f"{platform}{k}-{i}", when, text) for i, (when, text) in enumerate(zip(recent, texts))])
        pairs[platform] = pair
    first = run(client, as_of=None)
    assert first["counts"]["by_rule"]["duplicate.near_identical_content"] == 2
    backdate(session, hours=1)
    # one WeChat account stops copying: its posts are edited into its own
    wechat = pairs["wechat"][0]
    push(client, wechat["id"], [post(f"wechat0-{i}", when, f"天津三农微信第{i}期原创：{'农业农村工作动态' * 3}{i}") for i, when in enumerate(recent)])
    result = run(client, as_of=None, incremental=True)
    assert result["accounts_checked"] == 1 and result["counts"]["by_rule"].get("duplicate.near_identical_content") is None
    near = {f["platform"]: f["status"] for f in findings(client, rule="duplicate.near_identical_content")}
    assert near == {"wechat": "resolved", "weibo": "open"}  # the Weibo pair was not compared, and not resolved for that
