"""The demo's 2020 Q2 bulletin names the accounts the 2020 bulletins criticised, under
their units, in the bulletins' words — and its numbers add up."""
import re

import pytest

from service import demo
from tests.reports.world import END_2020Q2
from tests.test_demo import PRAISED, walk

CRITICISED = {  # account → the words of the paragraph that must name it (DOMAIN.md)
    "东莞市人社局洪梅分局": "发布停止更新声明后未及时清理注销", "榕城区环境保护局": "发布停止更新声明后未及时清理注销",
    "滨海商旅": "内容不按期更新", "天津三农": "内容不按期更新", "天津合作交流": "内容不按期更新",
    "投资汕尾": "未上报备案", "茂名市电白区政务服务数据管理局": "未上报备案",
    "江苏教育发布": "未对网民留言做出有效回复", "精彩江苏": "未对网民留言做出有效回复", "江苏滨海发布": "未对网民留言做出有效回复",
    "丹徒发布": "未对网民留言做出有效回复", "美丽王集": "未对网民留言做出有效回复",
}  # fmt: skip


@pytest.fixture
def loaded(client, session, settings):
    demo.load(session=session, settings=settings, monitoring_time=END_2020Q2)
    session.commit()
    return walk(client, "/v1/accounts")


@pytest.fixture
def draft(client, loaded) -> dict:
    response = client.get("/v1/reports/inspection/bulletin", params={"period": "2020Q2"})
    assert response.status_code == 200, response.text
    return response.json()


def paragraphs(markdown: str) -> dict[str, str]:
    """heading → paragraph of the problems section."""
    section = markdown.split("## 二、存在的主要问题")[1].split("## 三")[0]
    found = re.findall(r"（[一二三四五六七八九十]）\*\*(.+?)\*\*。(.+)", section)
    return dict(found)


def test_each_criticised_account_is_named_under_its_unit_in_its_problem_paragraph(draft, loaded):
    units = {a["name"]: a["unit_name"] for a in loaded}
    by_heading = paragraphs(draft["markdown"])
    for name, words in CRITICISED.items():
        [paragraph] = [text for heading, text in by_heading.items() if words in heading]
        assert f"{units[name]}“{name}”" in paragraph, name


def test_jingcai_jiangsu_is_named_once_for_both_platforms(draft):
    assert "江苏省人民政府新闻办公室“精彩江苏”（微信公众号、微博）" in draft["markdown"]


def test_the_three_units_with_three_wechat_accounts_are_named_with_them(draft):
    [paragraph] = [text for heading, text in paragraphs(draft["markdown"]).items() if "账号冗余" in heading]
    for unit, names in {
        "尤溪县公安局": ["尤溪警察蜀黍", "福建省尤溪县公安局", "尤溪公安党员e家"],
        "政和县司法局": ['政和"掌上12348"', "法润政和", "政和司法行政"],
        "松溪县司法局": ["松溪普法", "松溪县掌上12348", "松溪司法微平台"],
    }.items():
        clause = next(part for part in paragraph.split("；") if part.startswith(unit))
        assert "在微信公众号开设" in clause and "3个账号" in clause
        assert all(f"“{name}”" in clause for name in names)


def test_the_praised_accounts_are_not_named(draft):
    assert [name for name in PRAISED if f"“{name}”" in draft["markdown"]] == []


def test_the_numbers_add_up(client, draft, loaded, settings):
    body = client.get("/v1/reports/inspection", params={"period": "2020Q2"}).json()
    totals = body["totals"]
    assert totals["registered"] == totals["checked"] == len(loaded) == 30
    assert totals["qualified"] + totals["unqualified"] == totals["checked"]
    floors = dict((entry.split("@") + ["low"])[:2] for entry in settings.report_single_veto_rules)
    ranks = {"low": 0, "medium": 1, "high": 2}
    open_findings = walk(client, "/v1/findings", status="open")
    unqualified = {
        a for f in open_findings if f["rule"] in floors and ranks[f["severity"]] >= ranks[floors[f["rule"]]] for a in f["account_ids"]
    }
    assert totals["unqualified"] == len(unqualified) == len(body["unqualified_accounts"])
    assert sum(k["checked"] for k in body["kinds"]) == 30 and sum(r["unqualified"] for r in body["regions"]) == totals["unqualified"]
    markdown = draft["markdown"]
    assert f"共检查政务新媒体{totals['checked']}个" in markdown
    assert f"合格{totals['qualified']}个、不合格{totals['unqualified']}个，总体合格率{totals['pass_rate']:.2f}%" in markdown
    wechat = next(k for k in body["kinds"] if k["platform"] == "wechat")
    assert f"微信公众号检查{wechat['checked']}个，合格率{wechat['pass_rate']:.2f}%" in markdown


def test_the_draft_reads_like_a_bulletin(draft):
    markdown = draft["markdown"]
    assert markdown.startswith("# 关于2020年第二季度政务新媒体检查情况的通报（草稿）")
    assert "以2020年6月30日23:59为监测时间点" in markdown and "国办秘函〔2019〕19号" in markdown
    for heading in ("## 一、总体情况", "## 二、存在的主要问题", "## 三、整改情况", "## 四、工作要求"):
        assert heading in markdown
    assert "<h1>关于2020年第二季度政务新媒体检查情况的通报（草稿）</h1>" in draft["html"]
    assert "<strong>发布停止更新声明后未及时清理注销</strong>" in draft["html"]
    assert "<script" not in draft["html"]


def test_every_account_with_an_open_finding_is_named(client, draft, loaded):
    names = {a["id"]: a["name"] for a in loaded}
    named = {names[a] for f in walk(client, "/v1/findings", status="open") for a in f["account_ids"]}
    assert named and [name for name in sorted(named) if f"“{name}”" not in draft["markdown"]] == []
