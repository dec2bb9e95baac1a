"""Rule off_topic.posts (发布与政务工作无关的社会信息、心灵鸡汤), on plain facts and through a run."""
from datetime import datetime, timedelta, timezone

import pytest

from service.detection.facts import AccountFacts, ClassifiedPost, Inspection, PostFacts, Thresholds
from service.detection.off_topic import detect_off_topic_posts
from service.findings.models import Severity
from tests import factories

AS_OF = datetime(2020, 6, 30, 16, tzinfo=timezone.utc)


def account(id: int = 1) -> AccountFacts:
    return AccountFacts(
        id=id, name="蓟州发布", platform="weibo", handle="jizhou_fabu", status="active", filed=True, level="main",
        unit_id=1, unit_name="天津市蓟州区人民政府办公室", unit_group=1, region_code="120119", opened_at=None,
        entered_at=AS_OF, last_post_at=AS_OF,
    )  # fmt: skip


def post(n: int, label: str, score: float, *, by_human: bool = False, account_id: int = 1) -> ClassifiedPost:
    facts = PostFacts(n, account_id, f"p{n}", AS_OF - timedelta(days=n), None, f"第{n}条", None)
    reasons = [{"kind": "phrase", "feature": "晚安", "leans": label}]
    return ClassifiedPost(facts, label, score, reasons, "transparent-20261123000000", by_human=by_human)


def inspect(posts: list[ClassifiedPost], **limits) -> list:
    inspection = Inspection(as_of=AS_OF, thresholds=Thresholds(**limits), accounts=[account()], classified_posts={1: posts})
    return list(detect_off_topic_posts(inspection))


def on(n: int) -> ClassifiedPost:
    return post(n, "on_topic", 0.05)


def test_an_account_with_no_off_topic_post_is_not_flagged():
    assert inspect([on(n) for n in range(1, 20)]) == []


def test_one_off_topic_post_among_many_is_a_low_finding_listing_it_with_score_and_reasons():
    [found] = inspect([post(1, "off_topic", 0.97), *[on(n) for n in range(2, 21)]])
    assert found.rule.code == "off_topic.posts" and found.graded_severity == Severity.low
    assert found.evidence["off_topic_posts"] == 1 and found.evidence["posts_in_window"] == 20
    [listed] = found.evidence["posts"]
    assert listed["post_id"] == 1 and listed["score"] == 0.97 and listed["reasons"][0]["feature"] == "晚安"
    assert listed["decided_by"] == "model" and listed["model_version"]
    assert "1 条" in found.title and "蓟州发布" in found.title


def test_the_share_counts_every_judged_post_of_the_window_though_on_topic_ones_come_only_as_a_count():
    inspection = Inspection(as_of=AS_OF, thresholds=Thresholds(), accounts=[account()],
                            classified_posts={1: [post(1, "off_topic", 0.97)]}, window_posts={1: 40})  # fmt: skip
    [found] = detect_off_topic_posts(inspection)
    assert found.evidence["posts_in_window"] == 40 and found.evidence["share"] == 0.025
    assert found.graded_severity == Severity.low  # 1 of 40: a stray post, not a habit


def test_a_post_under_the_score_threshold_does_not_count():
    assert inspect([post(1, "off_topic", 0.6), on(2)], off_topic_min_score=0.7) == []
    assert len(inspect([post(1, "off_topic", 0.6), on(2)], off_topic_min_score=0.55)) == 1


def test_an_editor_label_counts_whatever_the_model_said():
    [found] = inspect([post(1, "off_topic", 1.0, by_human=True), *[on(n) for n in range(2, 30)]])
    assert found.evidence["posts"][0]["decided_by"] == "editor"
    assert inspect([post(1, "on_topic", 0.0, by_human=True), on(2)]) == []


@pytest.mark.parametrize(("off", "total", "severity"), [
    (1, 30, Severity.low),
    (2, 30, Severity.medium),  # two posts
    (1, 8, Severity.medium),  # one in eight: over a tenth
    (5, 40, Severity.high),  # five posts
    (3, 9, Severity.high),  # a third of the window
])  # fmt: skip
def test_severity_grows_with_the_count_and_the_share(off, total, severity):
    posts = [post(n, "off_topic", 0.9) for n in range(1, off + 1)] + [on(n) for n in range(off + 1, total + 1)]
    [found] = inspect(posts)
    assert found.graded_severity == severity
    assert found.evidence["share"] == round(off / total, 4)


def test_evidence_lists_the_strongest_posts_first_and_at_most_twenty():
    posts = [post(n, "off_topic", 0.7 + n / 1000) for n in range(1, 31)]
    [found] = inspect(posts)
    listed = found.evidence["posts"]
    assert len(listed) == 20 and found.evidence["off_topic_posts"] == 30
    assert [p["score"] for p in listed] == sorted((p["score"] for p in listed), reverse=True)


# --- through a detection run --------------------------------------------------------------


def push(client, account_id: int, posts: list[tuple[str, str]]) -> None:
    body = [{"external_id": f"x{i}", "published_at": when, "title": None, "text": text} for i, (when, text) in enumerate(posts)]
    assert client.post(f"/v1/accounts/{account_id}/activity", json={"posts": body}).status_code == 200


def test_a_run_flags_posts_in_the_30_days_before_the_monitoring_time_point_only(client):
    unit = factories.unit(client, "天津市蓟州区人民政府办公室", "120119")
    jizhou = factories.account(client, unit["id"], "jizhou_fabu", platform="weibo", name="蓟州发布")
    push(client, jizhou["id"], [
        ("2020-06-25T08:00:00+08:00", "【提醒】防汛关键期，蓟州区发布暴雨蓝色预警，请群众远离河道，注意安全。"),
        ("2020-06-26T21:00:00+08:00", "人生没有白走的路，每一步都算数。晚安，蓟州！"),
        ("2020-05-10T21:00:00+08:00", "本周星座运势：双鱼座财运亨通，天蝎座注意感情。"),  # before the window
        ("2020-07-02T21:00:00+08:00", "今晚某明星演唱会门票秒光，你抢到了吗？"),  # after the time point
    ])  # fmt: skip
    run = client.post("/v1/detection/runs", json={"as_of": "2020-06-30T23:59:59+08:00"}).json()
    assert run["counts"]["by_rule"].get("off_topic.posts") == 1
    [finding] = client.get("/v1/findings", params={"rule": "off_topic.posts"}).json()["items"]
    assert finding["type"] == "off_topic" and finding["account_ids"] == [jizhou["id"]]
    assert finding["evidence"]["posts_in_window"] == 2
    [listed] = finding["evidence"]["posts"]
    assert "人生没有白走的路" in listed["excerpt"] and listed["score"] >= 0.7
    assert finding["source"] and "心灵鸡汤" in finding["source"]


def test_rerunning_updates_the_finding_and_it_resolves_once_the_posts_leave_the_window(client):
    unit = factories.unit(client, "天津市应急管理局", "120000")
    yingji = factories.account(client, unit["id"], "tianjin_yingji", name="天津应急")
    push(client, yingji["id"], [("2020-06-10T21:00:00+08:00", "心若向阳，何惧忧伤。愿你被这个世界温柔以待。")])
    client.post("/v1/detection/runs", json={"as_of": "2020-06-30T23:59:59+08:00"})
    client.post("/v1/detection/runs", json={"as_of": "2020-07-01T23:59:59+08:00"})
    [finding] = client.get("/v1/findings", params={"rule": "off_topic.posts"}).json()["items"]
    assert finding["status"] == "open"
    client.post("/v1/detection/runs", json={"as_of": "2020-07-20T23:59:59+08:00"})
    [finding] = client.get("/v1/findings", params={"rule": "off_topic.posts"}).json()["items"]
    assert finding["status"] == "resolved"


def test_a_post_is_classified_once_and_again_only_when_its_text_is_edited(client, db):
    from sqlalchemy import select

    from service.db import make_sessionmaker
    from service.detection.classifier.models import PostClassification

    unit = factories.unit(client, "天津市市场监督管理委员会", "120000")
    account = factories.account(client, unit["id"], "tianjin_scjg", name="天津市场监管")
    push(client, account["id"], [("2020-06-20T10:00:00+08:00", "市场监管委开展食品安全专项检查，督促企业落实主体责任。")])

    def verdicts():
        with make_sessionmaker(db)() as session:
            return [(row.label, row.classified_at) for row in session.scalars(select(PostClassification))]

    client.post("/v1/detection/runs", json={"as_of": "2020-06-30T23:59:59+08:00"})
    [(label, first_classified)] = verdicts()
    assert label == "on_topic" and client.get("/v1/findings", params={"rule": "off_topic.posts"}).json()["items"] == []
    client.post("/v1/detection/runs", json={"as_of": "2020-06-30T23:59:59+08:00"})
    assert verdicts() == [(label, first_classified)]  # judged once: the second run read the stored verdict

    # the same post (same external_id) edited into chicken soup is judged again by the next run
    push(client, account["id"], [("2020-06-20T10:00:00+08:00", "人生没有白走的路，每一步都算数。愿你被这个世界温柔以待，晚安！")])
    client.post("/v1/detection/runs", json={"as_of": "2020-06-30T23:59:59+08:00"})
    [(label, classified)] = verdicts()
    assert label == "off_topic" and classified > first_classified
    [finding] = client.get("/v1/findings", params={"rule": "off_topic.posts"}).json()["items"]
    assert finding["account_ids"] == [account["id"]] and "人生没有白走的路" in finding["evidence"]["posts"][0]["excerpt"]
