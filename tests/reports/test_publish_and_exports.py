"""Published reports are frozen; reports export to CSV and XLSX with Chinese headers and
to a printable HTML page whose chart is inline SVG."""
import csv
import io
import re

import pytest
from openpyxl import load_workbook

from tests.reports import world
from tests.reports.world import END_2020Q1, END_2020Q2, END_2020Q3


@pytest.fixture
def two_regions(session, settings):
    gansu = world.registry(session, region_code="620000", accounts=8, region_name="甘肃省")
    fujian = world.registry(session, region_code="350426", accounts=4, region_name="福建省三明市尤溪县")
    world.silent_before(session, gansu[:2] + fujian[:1], END_2020Q1)
    world.active_before(session, gansu[2:] + fujian[1:], END_2020Q1)
    world.detect(session, settings, END_2020Q1)
    world.active_before(session, gansu + fujian[1:], END_2020Q2)
    world.detect(session, settings, END_2020Q2)
    return gansu, fujian


def test_a_published_report_is_frozen_with_its_time_point(client, session, settings, two_regions):
    response = client.post("/v1/reports/inspection/publish", json={"period": "2020Q2"})
    assert response.status_code == 201, response.text
    published = response.json()
    assert published["time_point"] == "2020-06-30T23:59:59+08:00" and published["run_id"] == published["report"]["run"]["id"]
    gansu, fujian = two_regions
    world.silent_before(session, gansu, END_2020Q3)  # later activity and runs …
    world.detect(session, settings, END_2020Q2)  # … even a replay at the same time point
    again = client.get(f"/v1/reports/published/{published['id']}").json()
    assert again["report"] == published["report"] and again["bulletin_markdown"] == published["bulletin_markdown"]
    listed = client.get("/v1/reports/published").json()["items"]
    assert [p["id"] for p in listed] == [published["id"]]


def test_a_report_is_published_once(client, two_regions):
    assert client.post("/v1/reports/inspection/publish", json={"period": "2020Q2"}).status_code == 201
    second = client.post("/v1/reports/inspection/publish", json={"period": "2020Q2"})
    assert second.status_code == 409 and "已发布" in second.json()["detail"]
    # another scope is another report
    assert client.post("/v1/reports/inspection/publish", json={"period": "2020Q2", "region_code": "620000"}).status_code == 201


def test_readers_cannot_publish_and_regional_keys_see_their_own(client, make_key, two_regions):
    assert client.post("/v1/reports/inspection/publish", json={"period": "2020Q2"}, headers=make_key("reader")).status_code == 403
    gansu_editor = make_key("editor", "620000")
    published = client.post("/v1/reports/inspection/publish", json={"period": "2020Q2"}, headers=gansu_editor).json()
    assert published["region_code"] == "620000" and published["report"]["totals"]["checked"] == 8
    national = client.post("/v1/reports/inspection/publish", json={"period": "2020Q2"}).json()
    fujian_reader = make_key("reader", "350426")
    assert client.get(f"/v1/reports/published/{national['id']}", headers=fujian_reader).status_code == 403
    assert client.get("/v1/reports/published", headers=fujian_reader).json()["items"] == []


def test_csv_export_has_chinese_headers_and_two_decimal_rates(client, two_regions):
    response = client.get("/v1/reports/inspection/export", params={"period": "2020Q2", "format": "csv", "table": "regions"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:8] == ["地区代码", "地区", "登记数", "检查数", "合格数", "不合格数", "合格率(%)", "抽查率(%)"]
    by_code = {row[0]: row for row in rows[1:]}
    # Fujian: one of four still silent in Q2 (previous quarter 75.00 too); Gansu all back (was 6 of 8)
    assert by_code["350426"][6] == "75.00" and by_code["620000"][6:10] == ["100.00", "100.00", "75.00", "25.00"]


def test_xlsx_export_has_a_sheet_per_table(client, two_regions):
    response = client.get("/v1/reports/inspection/export", params={"period": "2020Q2", "format": "xlsx"})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    assert {"总体", "按地区", "按单位", "不合格账号", "问题类型", "问题规则", "未整改问题", "说明"} <= set(workbook.sheetnames)
    units = list(workbook["按单位"].values)
    assert units[0][:3] == ("单位编号", "主办单位", "地区代码") and len(units) == 13
    unqualified = list(workbook["不合格账号"].values)
    assert len(unqualified) == 2 and "未更新" in unqualified[1][5]
    not_rectified = list(workbook["未整改问题"].values)
    assert len(not_rectified) == 2  # Fujian's first account, silent in Q1 and still in Q2


def test_the_html_view_draws_bars_inline_and_fetches_nothing(client, two_regions):
    response = client.get("/v1/reports/inspection/view", params={"period": "2020Q2"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<svg" in page and page.count("<rect") == 2 and "甘肃省" in page and "@media print" in page
    assert "<script" not in page.lower() and "@font-face" not in page and "@import" not in page
    assert re.findall(r'(?:src|href)="https?://', page) == []
    assert "关于2020年第二季度政务新媒体检查情况的通报" in page


def test_exports_of_a_published_report_come_from_what_was_frozen(client, session, settings, two_regions):
    published = client.post("/v1/reports/inspection/publish", json={"period": "2020Q2"}).json()
    response = client.get(f"/v1/reports/published/{published['id']}/export", params={"format": "csv", "table": "totals"})
    row = list(csv.reader(io.StringIO(response.content.decode("utf-8").lstrip("\ufeff"))))[1]
    assert row[1:5] == ["12", "12", "11", "1"]
    bulletin = client.get(f"/v1/reports/published/{published['id']}/bulletin").json()
    assert bulletin["markdown"] == published["bulletin_markdown"] and "<h1>" in bulletin["html"]
    assert client.get(f"/v1/reports/published/{published['id']}/view").status_code == 200
    assert client.get("/v1/reports/published/999").status_code == 404
