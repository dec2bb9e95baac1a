"""Rectification (整改): a problem found one quarter and still there the next was not
rectified; a unit with such problems two quarters running goes to the annual review."""
import pytest

from service.reports import events
from tests.reports import world
from tests.reports.world import END_2019Q4, END_2020Q1, END_2020Q2, END_2020Q3


@pytest.fixture
def quarters(session, settings):
    """Three units with one account each, over Q1–Q3 2020:
    A never posts again after Q1's silence; B is silent in Q1 and Q2, back by Q3;
    C is fine in Q1, silent in Q2 and Q3."""
    a, b, c = (world.registry(session, region_code="350426", accounts=1, name=n)[0] for n in ("甲单位", "乙单位", "丙单位"))
    world.silent_before(session, [a, b], END_2020Q1)
    world.active_before(session, [c], END_2020Q1)
    world.detect(session, settings, END_2020Q1)
    world.silent_before(session, [c], END_2020Q2)
    world.detect(session, settings, END_2020Q2)
    world.active_before(session, [b], END_2020Q3)
    world.detect(session, settings, END_2020Q3)
    return {"A": a, "B": b, "C": c}


def inspection(client, period: str) -> dict:
    response = client.get("/v1/reports/inspection", params={"period": period})
    assert response.status_code == 200, response.text
    return response.json()


def units_not_rectified(body) -> list[str]:
    return sorted(u["unit_name"][:3] for u in body["units"] if u["not_rectified"])


def test_a_problem_open_two_quarters_running_is_not_rectified(client, quarters):
    body = inspection(client, "2020Q2")
    assert sorted(row["unit_name"][:3] for row in body["not_rectified"]) == ["乙单位", "甲单位"]
    assert units_not_rectified(body) == ["乙单位", "甲单位"]
    assert body["annual_review_units"] == []  # nothing to compare Q1 with: no run at the end of 2019
    assert any("2019年第四季度没有全量检测记录" in note for note in body["notes"])


def test_a_unit_not_rectified_in_two_consecutive_quarters_goes_to_the_annual_review(client, quarters):
    body = inspection(client, "2020Q3")
    # A: open Q1→Q2→Q3; C: open Q2→Q3 only; B rectified in Q3
    assert sorted(row["unit_name"][:3] for row in body["not_rectified"]) == ["丙单位", "甲单位"]
    [review] = body["annual_review_units"]
    assert review["unit_name"].startswith("甲单位") and review["periods"] == ["2020Q2", "2020Q3"]
    flagged = {u["unit_name"][:3]: u["annual_review"] for u in body["units"]}
    assert flagged == {"甲单位": True, "乙单位": False, "丙单位": False}


def test_the_first_quarter_has_nothing_to_rectify_without_a_run_before_it(client, session, settings, quarters):
    body = inspection(client, "2020Q1")
    assert body["previous_run"] is None and body["not_rectified"] == []
    world.detect(session, settings, END_2019Q4)  # a run at the end of 2019 saw none of them silent
    assert inspection(client, "2020Q1")["not_rectified"] == []


def test_publishing_escalates_the_findings_of_units_sent_to_the_annual_review(client, quarters, monkeypatch):
    sent = []
    monkeypatch.setattr(events, "emit", lambda **event: sent.append(event) or True)
    response = client.post("/v1/reports/inspection/publish", json={"period": "2020Q3"})
    assert response.status_code == 201, response.text
    kinds = [e["type"] for e in sent]
    assert kinds == ["report.published", "finding.escalated"]
    escalated = sent[1]["data"]
    assert escalated["unit"]["name"].startswith("甲单位") and escalated["annual_review"] is True
    assert escalated["action"] == "not_rectified" and escalated["periods"] == ["2020Q2", "2020Q3"]
    assert escalated["finding"]["rule"] == "dormant.zombie_90d" and sent[1]["region_code"] == "350426"
    assert sent[0]["data"]["report_id"] == response.json()["id"] and sent[0]["data"]["totals"]["unqualified"] == 2


def test_the_bulletin_names_the_units_that_did_not_rectify(client, quarters):
    markdown = client.get("/v1/reports/inspection/bulletin", params={"period": "2020Q3"}).json()["markdown"]
    section = markdown.split("## 三、整改情况")[1].split("## 四")[0]
    assert "甲单位" in section and "丙单位" in section and "乙单位" not in section
    assert "连续两期存在未整改问题" in section and "年度绩效考评" in section
