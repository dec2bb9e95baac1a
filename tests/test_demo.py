"""The demo reproduces the 2020 bulletins (DOMAIN.md): after loading it, the findings API
names every criticised account for its problem, and none of the praised ones."""
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest

from service import demo


def walk(client, path: str, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = client.get(path, params={"limit": 500, **params, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


@pytest.fixture
def loaded(client, session, settings):
    demo.load(session=session, settings=settings)
    session.commit()
    return walk(client, "/v1/accounts")


@pytest.fixture
def rules_by_account(client, loaded) -> dict[str, set[str]]:
    """account name (with platform when a name is on two platforms) → rules of its open findings."""
    names = {a["id"]: a["name"] for a in loaded}
    found: dict[str, set[str]] = defaultdict(set)
    for finding in walk(client, "/v1/findings", status="open"):
        for account_id in finding["account_ids"]:
            found[names[account_id]].add(finding["rule"])
    return found


BULLETIN_ACCOUNTS = [
    "东莞市人社局洪梅分局", "榕城区环境保护局", "滨海商旅", "天津三农", "天津合作交流",
    "蓟州发布", "天津应急", "天津市场监管", "平安和平", "投资汕尾", "茂名市电白区政务服务数据管理局",
    "江苏教育发布", "精彩江苏", "江苏滨海发布", "丹徒发布", "美丽王集",
    "网信天津", "天津教育", "平安天津", "天津交通运输",
]  # fmt: skip
PRAISED = ["网信天津", "天津教育", "平安天津", "天津交通运输"]


def test_every_account_the_bulletins_name_is_registered(loaded):
    names = {a["name"] for a in loaded}
    assert [n for n in BULLETIN_ACCOUNTS if n not in names] == []


def test_the_three_units_each_run_three_wechat_accounts(loaded):
    per_unit = Counter((a["unit_name"], a["platform"]) for a in loaded)
    for unit in ("尤溪县公安局", "政和县司法局", "松溪县司法局"):
        assert per_unit[(unit, "wechat")] == 3


@pytest.mark.parametrize("name", ["东莞市人社局洪梅分局", "榕城区环境保护局"])
def test_stop_declared_but_never_closed(rules_by_account, name):
    assert "dormant.stop_declared" in rules_by_account[name]


@pytest.mark.parametrize(("name", "rule"), [
    ("滨海商旅", "dormant.no_update_14d"), ("天津三农", "dormant.zombie_90d"), ("天津合作交流", "dormant.no_update_14d"),
])  # fmt: skip
def test_not_updated_on_schedule(rules_by_account, name, rule):
    assert rule in rules_by_account[name]


@pytest.mark.parametrize("name", ["江苏教育发布", "江苏滨海发布", "丹徒发布", "美丽王集"])
def test_messages_left_unanswered(rules_by_account, name):
    assert "unresponsive.overdue_replies" in rules_by_account[name]


def test_jingcai_jiangsu_is_unanswered_on_both_wechat_and_weibo(client, loaded):
    jingcai = {a["id"]: a["platform"] for a in loaded if a["name"] == "精彩江苏"}
    findings = walk(client, "/v1/findings", rule="unresponsive.overdue_replies")
    assert sorted(jingcai[f["account_ids"][0]] for f in findings if f["account_ids"][0] in jingcai) == ["wechat", "weibo"]


def test_one_finding_per_unit_lists_its_three_wechat_accounts(client, loaded):
    findings = walk(client, "/v1/findings", rule="duplicate.same_unit_platform")
    by_unit = {f["evidence"]["unit_names"][0]: f for f in findings}
    assert sorted(by_unit) == ["尤溪县公安局", "政和县司法局", "松溪县司法局"]
    assert all(len(f["account_ids"]) == 3 and f["platform"] == "wechat" for f in findings)


@pytest.mark.parametrize("name", ["投资汕尾", "茂名市电白区政务服务数据管理局"])
def test_not_filed_and_long_inactive(client, loaded, name):
    account_id = next(a["id"] for a in loaded if a["name"] == name)
    [finding] = walk(client, "/v1/findings", rule="unregistered.not_filed", account_id=account_id)
    assert finding["evidence"]["long_inactive"] is True
    assert "长期未更新" in finding["title"]


def test_exactly_the_four_accounts_named_for_off_topic_posts_are_flagged(client, loaded):
    names = {a["id"]: a["name"] for a in loaded}
    findings = walk(client, "/v1/findings", type="off_topic", status="open")
    assert sorted(names[f["account_ids"][0]] for f in findings) == sorted(["蓟州发布", "天津应急", "天津市场监管", "平安和平"])
    for finding in findings:
        assert finding["rule"] == "off_topic.posts" and finding["evidence"]["off_topic_posts"] >= 1
        for post in finding["evidence"]["posts"]:
            assert post["score"] >= finding["evidence"]["min_score"] and post["reasons"]


def test_the_praised_accounts_have_no_finding(rules_by_account):
    assert {name: rules_by_account[name] for name in PRAISED if rules_by_account[name]} == {}


def test_every_finding_carries_its_rule_source_and_evidence(client, loaded):
    for finding in walk(client, "/v1/findings"):
        assert finding["source"] and ("〔" in finding["source"] or "省" in finding["source"])
        assert finding["evidence"] and finding["title"]


def test_a_run_that_scans_whole_tables_sees_exactly_what_a_run_in_chunks_saw(client, loaded, monkeypatch):
    # Large runs read the content window and the messages in one pass instead of chunks of accounts
    # (service.db.rows_of); forcing that pass here must change nothing the demo's own run found.
    from service import db

    [first] = client.get("/v1/detection/runs").json()["items"]
    monkeypatch.setattr(db, "SCAN_FROM_IDS", 1)
    again = client.post("/v1/detection/runs", json={"as_of": first["as_of"]}).json()
    assert again["counts"] == first["counts"] and again["accounts_checked"] == first["accounts_checked"]
    assert set(again["transitions"]) == {"unchanged"}
    assert again["counts"]["by_type"].keys() >= {"dormant", "duplicate", "unresponsive", "off_topic", "unregistered"}

    # a run over one region (its findings loaded by unit) and a replay of an earlier time point
    # (every account's latest post looked up again) count the same either way
    earlier = (datetime.fromisoformat(first["as_of"]) - timedelta(days=20)).isoformat()
    for body in ({"as_of": first["as_of"], "region_code": "120000"}, {"as_of": earlier}):
        scanned = client.post("/v1/detection/runs", json=body).json()
        monkeypatch.setattr(db, "SCAN_FROM_IDS", 10_000)
        chunked = client.post("/v1/detection/runs", json=body).json()
        monkeypatch.setattr(db, "SCAN_FROM_IDS", 1)
        assert scanned["counts"] == chunked["counts"] and scanned["accounts_checked"] == chunked["accounts_checked"]
        assert scanned["counts"]["by_rule"] and set(chunked["transitions"]) == {"unchanged"}
