"""批量导入登记表: the registry import as a supervision office uses it, through POST /v1/accounts/import.

Every file here is built in the test the way offices produce them: CSV saved by Excel in one of
its encodings, or XLSX where a typed-in region code becomes a number cell."""
import csv
import io
from functools import partial

import pytest
from openpyxl import Workbook

from tests import factories

IMPORT = "/v1/accounts/import"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROBLEM = "application/problem+json"

YOUXI_POLICE = factories.credit_code("350426", 1)  # 尤溪县公安局
YOUXI_GOVERNMENT = factories.credit_code("350426", 2)  # 尤溪县人民政府办公室
TIANJIN_POLICE = factories.credit_code("120000", 1)  # 天津市公安局

HEADER = ("账号名称", "平台", "账号ID", "主办单位", "统一社会信用代码", "地区代码", "级别", "是否备案")
REGION_COLUMNS = ("地区代码", "region_code")


# --- building the files -----------------------------------------------------------------------


def account_row(
    name: str,
    handle: str,
    *,
    platform: str = "微信公众号",
    unit: str = "尤溪县公安局",
    code: str = YOUXI_POLICE,
    region: str = "350426",
    level: str = "子号",
    filed: str = "是",
) -> dict[str, str]:
    """One line of a registry, keyed by its Chinese column title."""
    return {"账号名称": name, "平台": platform, "账号ID": handle, "主办单位": unit,
            "统一社会信用代码": code, "地区代码": region, "级别": level, "是否备案": filed}


def youxi_registry() -> list[dict[str, str]]:
    """尤溪县's three accounts of two units (a fresh copy each time, so tests may edit it)."""
    return [
        account_row("尤溪警察蜀黍", "youxi_jingcha", level="主号", filed="否"),
        account_row("尤溪发布", "youxi_fabu", platform="微博", unit="尤溪县人民政府办公室", code=YOUXI_GOVERNMENT),
        account_row("平安尤溪", "pingan_youxi", platform="微博", level="主号"),
    ]


YOUXI_ACCOUNTS = {
    "youxi_jingcha": {"platform": "wechat", "name": "尤溪警察蜀黍", "unit_name": "尤溪县公安局", "level": "main", "filed": False},
    "youxi_fabu": {"platform": "weibo", "name": "尤溪发布", "unit_name": "尤溪县人民政府办公室", "level": "sub", "filed": True},
    "pingan_youxi": {"platform": "weibo", "name": "平安尤溪", "unit_name": "尤溪县公安局", "level": "main", "filed": True},
}


def as_table(rows: list[dict[str, str]], header: tuple[str, ...] = HEADER) -> list[list[str]]:
    return [list(header), *([row.get(column, "") for column in header] for row in rows)]


def as_csv(rows: list[dict[str, str]], encoding: str = "utf-8", delimiter: str = ",", header: tuple[str, ...] = HEADER) -> bytes:
    text = io.StringIO(newline="")
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(as_table(rows, header))
    return text.getvalue().encode(encoding)


def as_xlsx(rows: list[dict[str, str]], header: tuple[str, ...] = HEADER) -> bytes:
    """An XLSX whose region codes are number cells, as Excel stores a code typed into a cell."""
    workbook = Workbook()
    sheet = workbook.active
    header_row, *data = as_table(rows, header)
    sheet.append(header_row)
    for values in data:
        sheet.append([int(v) if title in REGION_COLUMNS and v.isdigit() else v for title, v in zip(header_row, values)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


SAVED_AS = {
    "utf-8 csv": as_csv,
    "utf-8 csv with BOM": partial(as_csv, encoding="utf-8-sig"),
    "gbk csv (Excel on Chinese Windows)": partial(as_csv, encoding="gbk"),
    "utf-16 tab-separated (Excel's Unicode text)": partial(as_csv, encoding="utf-16", delimiter="\t"),
    "xlsx": as_xlsx,
}


# --- talking to the API -----------------------------------------------------------------------


def upload(client, content: bytes, *, multipart: bool = False, content_type: str | None = None, headers: dict | None = None):
    is_xlsx = content.startswith(b"PK")
    content_type = content_type or (XLSX if is_xlsx else "text/csv")
    if multipart:
        filename = "尤溪县政务新媒体登记表" + (".xlsx" if is_xlsx else ".csv")
        return client.post(IMPORT, files={"file": (filename, content, content_type)}, headers=headers)
    return client.post(IMPORT, content=content, headers={"content-type": content_type, **(headers or {})})


def imported(response, **counts: int) -> None:
    """The import succeeded with exactly these counts."""
    assert response.status_code == 200, response.text
    assert response.json() == counts


def problem(response, status: int) -> dict:
    """The problem+json body of a refusal, after checking it is one, in Chinese."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert any("\u4e00" <= c <= "\u9fff" for c in body["detail"]), body["detail"]
    return body


def accounts(client) -> dict[str, dict]:
    return {a["handle"]: a for a in client.get("/v1/accounts").json()["items"]}


def units(client) -> list[dict]:
    return client.get("/v1/units").json()["items"]


def assert_nothing_written(client) -> None:
    assert accounts(client) == {}
    assert units(client) == []


def with_wrong_check_character(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


# --- files as offices save them ---------------------------------------------------------------


@pytest.mark.parametrize("save", SAVED_AS.values(), ids=SAVED_AS.keys())
def test_a_registry_saved_as_excel_saves_it_creates_its_accounts_and_units(client, save):
    response = upload(client, save(youxi_registry()))

    imported(response, rows=3, accounts_created=3, accounts_updated=0, accounts_unchanged=0, units_created=2)
    found = accounts(client)
    assert {handle: {k: found[handle][k] for k in YOUXI_ACCOUNTS.get(handle, ())} for handle in found} == YOUXI_ACCOUNTS
    assert {a["region_code"] for a in found.values()} == {"350426"}
    assert {a["status"] for a in found.values()} == {"active"}
    assert sorted((u["name"], u["region_code"], u["credit_code"]) for u in units(client)) == [
        ("尤溪县人民政府办公室", "350426", YOUXI_GOVERNMENT),
        ("尤溪县公安局", "350426", YOUXI_POLICE),
    ]


@pytest.mark.parametrize("multipart", [False, True], ids=["request body", "multipart file field"])
@pytest.mark.parametrize("save", [as_csv, as_xlsx], ids=["csv", "xlsx"])
def test_the_file_is_accepted_as_the_request_body_or_as_a_multipart_file(client, save, multipart):
    response = upload(client, save(youxi_registry()), multipart=multipart)

    imported(response, rows=3, accounts_created=3, accounts_updated=0, accounts_unchanged=0, units_created=2)
    assert set(accounts(client)) == set(YOUXI_ACCOUNTS)


def test_english_field_names_serve_as_column_titles(client):
    header = ("name", "platform", "handle", "unit_name", "credit_code", "region_code", "region_name",
              "level", "filed", "status", "source_kind", "source_url")
    row = {"name": "尤溪发布", "platform": "weibo", "handle": "youxi_fabu", "unit_name": "尤溪县人民政府办公室",
           "credit_code": YOUXI_GOVERNMENT, "region_code": "350426", "region_name": "福建省三明市尤溪县",
           "level": "main", "filed": "no", "status": "suspended", "source_kind": "rss",
           "source_url": "https://rsshub.example.gov.cn/weibo/youxi_fabu"}

    imported(upload(client, as_csv([row], header=header)),
             rows=1, accounts_created=1, accounts_updated=0, accounts_unchanged=0, units_created=1)
    account = accounts(client)["youxi_fabu"]
    assert {k: account[k] for k in ("name", "platform", "level", "filed", "status", "unit_name", "region_code")} == {
        "name": "尤溪发布", "platform": "weibo", "level": "main", "filed": False, "status": "suspended",
        "unit_name": "尤溪县人民政府办公室", "region_code": "350426",
    }
    assert account["source"] == {"kind": "rss", "url": row["source_url"]}
    [unit] = units(client)
    assert (unit["credit_code"], unit["region_name"]) == (YOUXI_GOVERNMENT, "福建省三明市尤溪县")


# --- all rows or none -------------------------------------------------------------------------


@pytest.mark.parametrize("save", [as_csv, as_xlsx], ids=["csv", "xlsx"])
def test_an_import_with_bad_rows_among_good_ones_writes_nothing_and_names_each_bad_row(client, save):
    rows = [
        account_row("尤溪警察蜀黍", "youxi_jingcha"),  # row 2
        account_row("尤溪发布", "youxi_fabu", unit="尤溪县人民政府办公室", code=with_wrong_check_character(YOUXI_GOVERNMENT)),
        account_row("平安尤溪", "pingan_youxi", platform="微博"),  # row 4
        account_row("尤溪公安", "youxi_gongan", platform="微视"),  # row 5: no such platform
        account_row("尤溪交警", "youxi_jiaojing"),  # row 6
    ]

    body = problem(upload(client, save(rows)), 422)

    assert "第 3、5 行" in body["detail"]
    assert "未写入任何数据" in body["detail"]
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "credit_code"), (5, "platform")]
    assert f"第 18 位应为 {YOUXI_GOVERNMENT[17]}" in body["errors"][0]["message"]
    assert "「微视」" in body["errors"][1]["message"]
    assert_nothing_written(client)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"账号名称": ""}, "name"),
        ({"账号ID": " "}, "handle"),
        ({"平台": "微视"}, "platform"),
        ({"地区代码": "35042"}, "region_code"),
        ({"地区代码": "990000"}, "region_code"),
        ({"统一社会信用代码": "1135042600000000"}, "credit_code"),
        ({"主办单位": "", "统一社会信用代码": ""}, "unit_name"),
        ({"级别": "顶级"}, "level"),
        ({"是否备案": "待定"}, "filed"),
        pytest.param({"账号名称": "长" * 201}, "name"),
        pytest.param({"账号ID": "h" * 201}, "handle"),
        pytest.param({"主办单位": "单" * 201}, "unit_name"),
    ],
)
def test_a_bad_cell_is_named_by_its_row_and_field(client, change, field):
    rows = [account_row("尤溪发布", "youxi_fabu"), {**account_row("尤溪警察蜀黍", "youxi_jingcha"), **change}]

    body = problem(upload(client, as_csv(rows)), 422)

    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, field)]
    assert all(e["message"] for e in body["errors"])
    assert_nothing_written(client)


@pytest.mark.parametrize(
    ("dropped", "missing"),
    [
        (("账号名称",), "账号名称"),
        (("平台",), "平台"),
        (("账号ID",), "账号ID"),
        (("地区代码",), "地区代码"),
        (("主办单位", "统一社会信用代码"), "主办单位"),
    ],
)
def test_a_file_missing_a_required_column_is_refused_naming_the_column(client, dropped, missing):
    header = tuple(column for column in HEADER if column not in dropped)

    body = problem(upload(client, as_csv(youxi_registry(), header=header)), 422)

    assert f"表头缺少必需的列：{missing}" in body["detail"]
    assert body["errors"] == [{"row": 1, "field": None, "message": f"缺少列：{missing}"}]
    assert_nothing_written(client)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "上传的文件为空"),
        (b"\r\n\r\n", "上传的文件为空"),
        ("".encode("utf-8-sig"), "上传的文件为空"),
        (as_csv([]), "文件中没有数据行"),
        (as_csv([]) + b",,,,,,,\r\n\r\n", "文件中没有数据行"),
        (as_xlsx([]), "文件中没有数据行"),
    ],
    ids=["no bytes", "blank lines", "only a BOM", "only the header", "header and blank rows", "xlsx with only the header"],
)
def test_an_empty_file_is_refused(client, content, reason):
    body = problem(upload(client, content), 422)

    assert reason in body["detail"]
    assert_nothing_written(client)


def test_one_account_listed_twice_in_a_file_is_refused_naming_the_earlier_row(client):
    rows = [
        account_row("尤溪警察蜀黍", "youxi_jingcha"),  # row 2
        account_row("尤溪发布", "youxi_fabu", platform="微博"),
        account_row("尤溪公安", "youxi_jingcha", platform="公众号"),  # row 4: the same WeChat account again
        account_row("尤溪警察蜀黍", "youxi_jingcha", platform="微博"),  # row 5: the same handle on Weibo is another account
    ]

    body = problem(upload(client, as_csv(rows)), 422)

    [error] = body["errors"]
    assert (error["row"], error["field"]) == (4, "handle")
    assert "与第 2 行重复" in error["message"]
    assert "youxi_jingcha" in error["message"]
    assert_nothing_written(client)


def test_a_legacy_xls_workbook_is_refused_as_unsupported(client):
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)  # the OLE2 compound-file signature of .xls

    body = problem(upload(client, xls, content_type="application/vnd.ms-excel"), 415)

    assert ".xls" in body["detail"]
    assert "xlsx" in body["detail"]
    assert_nothing_written(client)


# --- importing again --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "again"), [(as_csv, as_csv), (as_xlsx, SAVED_AS["gbk csv (Excel on Chinese Windows)"])],
    ids=["the same csv", "the xlsx re-saved as gbk csv"],
)
def test_importing_the_same_registry_again_changes_nothing(client, first, again):
    imported(upload(client, first(youxi_registry())),
             rows=3, accounts_created=3, accounts_updated=0, accounts_unchanged=0, units_created=2)
    accounts_before, units_before = accounts(client), units(client)

    imported(upload(client, again(youxi_registry())),
             rows=3, accounts_created=0, accounts_updated=0, accounts_unchanged=3, units_created=0)
    assert accounts(client) == accounts_before
    assert units(client) == units_before


def test_a_renamed_account_is_updated_in_place_on_the_next_import(client):
    imported(upload(client, as_csv(youxi_registry())),
             rows=3, accounts_created=3, accounts_updated=0, accounts_unchanged=0, units_created=2)
    before = accounts(client)
    rows = youxi_registry()
    rows[1]["账号名称"] = "尤溪发布厅"

    imported(upload(client, as_csv(rows)), rows=3, accounts_created=0, accounts_updated=1, accounts_unchanged=2, units_created=0)
    after = accounts(client)
    assert after["youxi_fabu"]["name"] == "尤溪发布厅"
    assert after["youxi_fabu"]["id"] == before["youxi_fabu"]["id"]
    assert {h: a for h, a in after.items() if h != "youxi_fabu"} == {h: a for h, a in before.items() if h != "youxi_fabu"}


# --- who may import ---------------------------------------------------------------------------


def test_a_county_key_cannot_import_rows_of_another_region_and_nothing_is_written(client, make_key):
    county = make_key("editor", "350426")
    rows = [
        account_row("尤溪警察蜀黍", "youxi_jingcha"),  # row 2: its own county
        account_row("平安天津", "pingan_tianjin", platform="微博", unit="天津市公安局", code=TIANJIN_POLICE, region="120000"),
    ]

    body = problem(upload(client, as_csv(rows), headers=county), 403)

    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "region_code")]
    assert "350426" in body["errors"][0]["message"]
    assert_nothing_written(client)


def test_a_county_key_imports_its_own_countys_registry(client, make_key):
    county = make_key("editor", "350426")

    imported(upload(client, as_csv(youxi_registry()), headers=county),
             rows=3, accounts_created=3, accounts_updated=0, accounts_unchanged=0, units_created=2)
    seen_by_county = client.get("/v1/accounts", headers=county).json()["items"]
    assert {a["handle"] for a in seen_by_county} == set(YOUXI_ACCOUNTS)


def test_a_county_key_cannot_take_over_another_regions_account_by_importing_its_handle(client, make_key):
    tianjin = factories.unit(client, "天津市公安局", "120000", credit_code=TIANJIN_POLICE)
    theirs = factories.account(client, tianjin["id"], "pingan_tianjin", platform="weibo", name="平安天津")
    county = make_key("editor", "350426")

    response = upload(client, as_csv([account_row("平安尤溪", "pingan_tianjin", platform="微博")]), headers=county)

    assert response.status_code == 403, response.text
    assert client.get(f"/v1/accounts/{theirs['id']}").json() == theirs


def test_a_reader_key_may_not_import(client, make_key):
    body = problem(upload(client, as_csv(youxi_registry()), headers=make_key("reader")), 403)

    assert "editor" in body["detail"]
    assert_nothing_written(client)


# --- units are matched, not duplicated --------------------------------------------------------


def test_accounts_of_one_unit_in_a_file_create_that_unit_once(client):
    rows = [account_row("尤溪警察蜀黍", "youxi_jingcha"), account_row("平安尤溪", "pingan_youxi", platform="微博")]

    imported(upload(client, as_csv(rows)), rows=2, accounts_created=2, accounts_updated=0, accounts_unchanged=0, units_created=1)
    [unit] = units(client)
    assert (unit["name"], unit["credit_code"]) == ("尤溪县公安局", YOUXI_POLICE)
    assert {a["unit_id"] for a in accounts(client).values()} == {unit["id"]}


@pytest.mark.parametrize(
    ("registered", "named_in_file"),
    [
        ({"credit_code": YOUXI_POLICE}, "尤溪县公安局"),
        ({"credit_code": YOUXI_POLICE}, "福建省尤溪县公安局"),
        ({}, "尤溪县公安局"),
    ],
    ids=["with its credit code", "with its credit code, the file using a longer name", "by name only, without a code"],
)
def test_a_unit_already_registered_is_reused_by_the_import(client, registered, named_in_file):
    unit = factories.unit(client, "尤溪县公安局", "350426", **registered)
    rows = [account_row("尤溪警察蜀黍", "youxi_jingcha", unit=named_in_file),
            account_row("平安尤溪", "pingan_youxi", platform="微博", unit=named_in_file)]

    imported(upload(client, as_csv(rows)), rows=2, accounts_created=2, accounts_updated=0, accounts_unchanged=0, units_created=0)
    [after] = units(client)
    assert (after["id"], after["credit_code"]) == (unit["id"], YOUXI_POLICE)  # a unit registered without a code gains it
    assert {a["unit_id"] for a in accounts(client).values()} == {unit["id"]}


def test_a_unit_of_the_same_name_in_another_county_is_a_unit_of_its_own(client):
    zhenghe = factories.unit(client, "县人民政府办公室", "350725")
    row = {**account_row("尤溪发布", "youxi_fabu", unit="县人民政府办公室"), "统一社会信用代码": ""}

    imported(upload(client, as_csv([row])), rows=1, accounts_created=1, accounts_updated=0, accounts_unchanged=0, units_created=1)
    account = accounts(client)["youxi_fabu"]
    assert account["unit_id"] != zhenghe["id"]
    assert account["region_code"] == "350426"
