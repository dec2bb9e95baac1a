"""Reading and acting on findings: filters, sorting, pages, the CSV export, acknowledge and resolve
with their history, and the errors a user gets for what cannot be done."""
import csv
import io

import pytest

from tests.detection.test_runs import TIME_POINT, findings, post, push, run
from tests.factories import account, unit


@pytest.fixture
def inspected(client) -> dict[str, dict]:
    """Tianjin: one silent account, one never posted (not filed); Fujian: three WeChat accounts of one unit."""
    tianjin = unit(client, name="天津市农业农村委员会", region_code="120000")
    fujian = unit(client, name="尤溪县公安局", region_code="350426")
    accounts = {
        "天津三农": account(client, tianjin["id"], "sannong", name="天津三农"),
        "滨海商旅": account(client, tianjin["id"], "binhai", platform="weibo", name="滨海商旅", filed=False),
    }
    push(client, accounts["天津三农"]["id"], [post("p1", "2020-06-01T09:00:00+08:00")])
    for handle in ("jingcha", "gongan", "dangyuan"):
        accounts[handle] = account(client, fujian["id"], handle)
        push(client, accounts[handle]["id"], [post(f"{handle}-1", "2020-06-29T09:00:00+08:00")])
    run(client)
    return accounts


def test_findings_filter_by_type_rule_severity_platform_status_and_region(client, inspected):
    assert {f["rule"] for f in findings(client)} == {
        "dormant.no_update_14d", "dormant.never_posted", "unregistered.not_filed", "duplicate.same_unit_platform"
    }  # fmt: skip
    assert [f["rule"] for f in findings(client, type="duplicate")] == ["duplicate.same_unit_platform"]
    assert [f["rule"] for f in findings(client, rule="dormant.never_posted")] == ["dormant.never_posted"]
    assert {f["rule"] for f in findings(client, severity="high")} == {"dormant.never_posted"}
    assert {f["rule"] for f in findings(client, platform="weibo")} == {"dormant.never_posted", "unregistered.not_filed"}
    assert {f["region_code"] for f in findings(client, region_code="350000")} == {"350426"}
    assert findings(client, status="resolved") == []
    assert len(findings(client, since="2020-06-30T00:00:00+08:00")) == 4
    assert findings(client, since="2020-07-01T00:00:00+08:00") == []
    assert len(findings(client, account_id=inspected["jingcha"]["id"])) == 1


def test_every_finding_carries_the_pinned_fields_and_its_rules_source(client, inspected):
    for finding in findings(client):
        assert {"type", "rule", "severity", "status", "account_ids", "unit_id", "title", "evidence", "first_seen", "last_seen"} <= set(finding)
        assert finding["first_seen"] == TIME_POINT and finding["source"] and finding["rule_title"]


def test_findings_sort_by_severity_and_walk_in_pages_without_gaps(client, inspected):
    ranked = [f["severity"] for f in findings(client, sort="-severity")]
    order = {"high": 3, "medium": 2, "low": 1}
    assert ranked == sorted(ranked, key=order.get, reverse=True)
    walked, cursor = [], None
    while True:
        page = client.get("/v1/findings", params={"limit": 1, "sort": "-severity", **({"cursor": cursor} if cursor else {})}).json()
        walked += [f["id"] for f in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert walked == [f["id"] for f in findings(client, sort="-severity")]


def test_an_editor_acknowledges_then_resolves_with_notes_kept_in_the_history(client, inspected, make_key):
    editor = make_key("editor")
    (finding,) = findings(client, rule="dormant.no_update_14d")
    acknowledged = client.post(f"/v1/findings/{finding['id']}/acknowledge", json={"note": "已通知天津市农业农村委员会整改"}, headers=editor)
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "acknowledged"
    resolved = client.post(f"/v1/findings/{finding['id']}/resolve", json={"note": "账号已恢复更新"}, headers=editor).json()
    history = [(e["action"], e["from_status"], e["to_status"], e["note"]) for e in resolved["history"]]
    assert history == [
        ("opened", None, "open", None),
        ("acknowledged", "open", "acknowledged", "已通知天津市农业农村委员会整改"),
        ("resolved", "acknowledged", "resolved", "账号已恢复更新"),
    ]
    assert resolved["history"][1]["actor"] == resolved["history"][2]["actor"] != "detection"
    # The account is still silent: the next run sees the problem again and reopens it.
    assert run(client)["transitions"]["reopened"] == 1


def test_what_cannot_be_done_to_a_finding_is_refused_clearly(client, inspected, make_key):
    (finding,) = findings(client, rule="dormant.no_update_14d")
    assert client.post(f"/v1/findings/{finding['id']}/resolve").status_code == 200
    again = client.post(f"/v1/findings/{finding['id']}/resolve")
    late = client.post(f"/v1/findings/{finding['id']}/acknowledge")
    assert (again.status_code, late.status_code) == (409, 409)
    assert again.json()["detail"] == "该问题已解决"
    assert client.post(f"/v1/findings/{finding['id']}/acknowledge", headers=make_key("reader")).status_code == 403
    missing = client.get("/v1/findings/987654")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/findings", params={"type": "zombie"}).status_code == 422
    assert client.get("/v1/findings", params={"cursor": "not-a-cursor"}).status_code == 422


def test_findings_export_to_csv_with_chinese_headers_for_offices(client, inspected, make_key):
    response = client.get("/v1/findings/export.csv", params={"region_code": "120000"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {row["规则"] for row in rows} == {
        "内容不更新：监测时间点前2周内无更新（dormant.no_update_14d）", "开设后从未发布内容（dormant.never_posted）", "账号未登记备案（unregistered.not_filed）",
    }  # fmt: skip
    assert {row["主办单位"] for row in rows} == {"天津市农业农村委员会"}
    assert "天津三农" in {row["账号"] for row in rows}
    scoped = client.get("/v1/findings/export.csv", headers=make_key("reader", "350000"))
    assert [row["规则"] for row in csv.DictReader(io.StringIO(scoped.content.decode("utf-8-sig")))] == [
        "同一单位在同一平台开设多个账号（duplicate.same_unit_platform）"
    ]
