"""Inspection reports read like the bulletins: who was checked, who passed, by region and
unit, compared with the previous period, exactly as things stood at the time point."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from service.reports.models import RunFinding
from tests.reports import world
from tests.reports.world import END_2020Q1, END_2020Q2, END_2020Q3


def report(client, **params) -> dict:
    response = client.get("/v1/reports/inspection", params={"period": "2020Q2", **params})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def gansu(session, settings):
    """Gansu 2021 Q2 in miniature: 591 accounts checked, 25 of them silent for 20 days;
    and a few Tianjin accounts that a Gansu report must not count."""
    accounts = world.registry(session, region_code="620000", accounts=591, region_name="甘肃省")
    tianjin = world.registry(session, region_code="120000", accounts=5, region_name="天津市")
    world.active_before(session, accounts[25:] + tianjin[1:], END_2020Q2)
    world.silent_before(session, accounts[:25] + tianjin[:1], END_2020Q2)
    world.detect(session, settings, END_2020Q2)
    return accounts


def test_gansu_591_checked_25_unqualified_is_95_77_percent(client, gansu):
    body = report(client, region_code="620000")
    assert body["totals"] == {
        "registered": 591, "checked": 591, "qualified": 566, "unqualified": 25, "pass_rate": 95.77,
        "spot_check_rate": 100.0, "previous": None, "pass_rate_change": None,
    }  # fmt: skip
    assert [(r["region_code"], r["pass_rate"]) for r in body["regions"]] == [("620000", 95.77)]
    assert len(body["unqualified_accounts"]) == 25
    assert {a["account_id"] for a in body["unqualified_accounts"]} == set(gansu[:25])
    assert all(a["reasons"][0]["rule"] == "dormant.no_update_14d" for a in body["unqualified_accounts"])
    assert body["failures_by_type"] == [{"type": "dormant", "type_label": "内容不更新", "rule": None, "rule_title": None, "findings": 25, "accounts": 25}]
    assert body["failures_by_rule"][0]["rule"] == "dormant.no_update_14d"


def test_figures_add_up_across_regions_units_and_kinds(client, gansu):
    body = report(client)
    totals = body["totals"]
    assert (totals["checked"], totals["unqualified"]) == (596, 26)
    for rows in (body["regions"], body["units"], body["kinds"]):
        assert sum(r["checked"] for r in rows) == totals["checked"]
        assert sum(r["unqualified"] for r in rows) == totals["unqualified"]
        assert all(r["qualified"] + r["unqualified"] == r["checked"] for r in rows)
    tianjin = next(r for r in body["regions"] if r["region_code"] == "120000")
    assert (tianjin["checked"], tianjin["unqualified"], tianjin["pass_rate"]) == (5, 1, 80.0)


def test_a_region_scoped_key_sees_only_its_region(client, make_key, gansu):
    reader = make_key("reader", "620000")
    body = client.get("/v1/reports/inspection", params={"period": "2020Q2"}, headers=reader).json()
    assert body["totals"]["checked"] == 591 and {r["region_code"] for r in body["regions"]} == {"620000"}
    refused = client.get("/v1/reports/inspection", params={"period": "2020Q2", "region_code": "120000"}, headers=reader)
    assert refused.status_code == 403 and "620000" in refused.json()["detail"]


def test_without_a_key_there_is_no_report(client, gansu):
    assert client.get("/v1/reports/inspection", params={"period": "2020Q2"}, headers={"X-API-Key": ""}).status_code == 401


def test_without_a_detection_run_at_the_time_point_the_answer_says_how_to_make_one(client, session, settings):
    world.registry(session, region_code="620000", accounts=3)
    world.detect(session, settings, END_2020Q1)  # the previous quarter's run does not count for Q2
    response = client.get("/v1/reports/inspection", params={"period": "2020Q2"})
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    assert "2020-06-30T23:59:59+08:00" in detail and "/v1/detection/runs" in detail and "as_of" in detail


@pytest.mark.parametrize(("params", "field"), [
    ({"period": "2020Q5"}, "period"), ({}, "period"), ({"period": "2020Q2", "region_code": "99"}, "region_code"),
])  # fmt: skip
def test_bad_parameters_get_a_chinese_422(client, params, field):
    response = client.get("/v1/reports/inspection", params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert any("\u4e00" <= c <= "\u9fff" for c in response.json()["detail"])


def test_the_pass_rate_is_compared_with_the_previous_quarter(client, session, settings):
    accounts = world.registry(session, region_code="620000", accounts=10)
    world.silent_before(session, accounts[:4], END_2020Q1)  # Q1: 4 silent
    world.active_before(session, accounts[4:], END_2020Q1)
    world.detect(session, settings, END_2020Q1)
    world.active_before(session, accounts[2:], END_2020Q2)  # Q2: two of them came back
    world.detect(session, settings, END_2020Q2)
    totals = report(client)["totals"]
    assert totals["previous"]["pass_rate"] == 60.0 and totals["pass_rate"] == 80.0
    assert totals["pass_rate_change"] == 20.0
    region = report(client)["regions"][0]
    assert region["previous"]["unqualified"] == 4 and region["unqualified"] == 2


def test_a_report_does_not_change_when_detection_runs_again_later(client, session, settings):
    accounts = world.registry(session, region_code="620000", accounts=6)
    world.silent_before(session, accounts[:3], END_2020Q2)
    world.active_before(session, accounts[3:], END_2020Q2)
    world.detect(session, settings, END_2020Q2)
    before = report(client)
    world.active_before(session, accounts, END_2020Q3)  # they all post again in Q3 …
    world.detect(session, settings, END_2020Q3)  # … which resolves the findings
    world.detect(session, settings, None)  # and again today, in 2026
    newcomer = world.registry(session, region_code="620000", accounts=1)  # entered since, never posted …
    world.detect(session, settings, END_2020Q2)  # … and a replay of Q2 that inspects today's registry
    after = report(client)
    assert after["totals"] == before["totals"] and after["unqualified_accounts"] == before["unqualified_accounts"]
    assert after["run"]["id"] == before["run"]["id"]  # the first run at the time point is the record
    assert newcomer[0] not in {a["account_id"] for a in after["unqualified_accounts"]}
    assert report(client, period="2020Q3")["totals"]["unqualified"] == 0


def test_each_run_records_the_unresolved_findings_it_left(session, settings):
    accounts = world.registry(session, region_code="620000", accounts=4)
    world.silent_before(session, accounts[:2], END_2020Q2)
    world.active_before(session, accounts[2:], END_2020Q2)
    first = world.detect(session, settings, END_2020Q2)
    world.active_before(session, [accounts[0], *accounts[2:]], END_2020Q3)
    second = world.detect(session, settings, END_2020Q3)
    held = lambda run: sorted(r.rule for r in session.scalars(select(RunFinding).where(RunFinding.run_id == run)))  # noqa: E731
    assert held(first) == ["dormant.no_update_14d"] * 2
    # one resolved; the other, silent for over 3 months by then, is now a zombie
    assert held(second) == ["dormant.zombie_90d"]


def test_a_month_half_year_and_range_report_pick_the_run_inside_them(client, session, settings):
    accounts = world.registry(session, region_code="620000", accounts=2)
    world.silent_before(session, accounts[:1], END_2020Q2)
    world.active_before(session, accounts[1:], END_2020Q2)
    run = world.detect(session, settings, END_2020Q2)
    for params in ({"period": "2020-06"}, {"period": "2020H1"}, {"period": None, "from": "2020-06-01", "to": "2020-06-30"}):
        body = report(client, **params)
        assert body["run"]["id"] == run and body["totals"]["pass_rate"] == 50.0


def test_a_run_before_the_time_point_is_used_and_said_so(client, session, settings):
    accounts = world.registry(session, region_code="620000", accounts=2)
    world.active_before(session, accounts, END_2020Q2)
    world.detect(session, settings, END_2020Q2.replace(day=20))
    body = report(client)
    assert body["run"]["as_of"].startswith("2020-06-20")
    assert any("此前最近一次检测" in note for note in body["notes"])


def test_serious_off_topic_only_is_a_single_veto(session, settings):
    from service.reports.service import vetoes, single_veto_rules

    rules = single_veto_rules(settings)
    assert vetoes("off_topic.posts", "high", rules) and not vetoes("off_topic.posts", "low", rules)
    assert not vetoes("dormant.stop_declared", "high", rules)  # named in bulletins, but not a veto indicator
    assert Decimal("86.87") == Decimal(str(86.87))


def test_the_report_is_what_its_documented_schema_says(client, session, settings, gansu):
    from service.reports.schemas import Compared, Failure, InspectionReport, RegionFigures, UnitFigures, UnqualifiedAccount

    body = report(client)
    assert set(body) == set(InspectionReport.model_fields)
    assert set(body["totals"]) == set(Compared.model_fields)
    assert set(body["regions"][0]) == set(RegionFigures.model_fields)
    assert set(body["units"][0]) == set(UnitFigures.model_fields)
    assert set(body["unqualified_accounts"][0]) == set(UnqualifiedAccount.model_fields)
    assert set(body["failures_by_rule"][0]) == set(Failure.model_fields)
    InspectionReport.model_validate(body)  # and every value has the documented type
