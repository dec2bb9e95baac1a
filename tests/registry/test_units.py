import pytest

from service.registry.codes import credit_code_check_character, normalize_credit_code, region_covers, region_prefix
from tests import factories


@pytest.mark.parametrize(
    "code",
    [
        "91110000600037341L",  # a business's published code
        "91350100M000100Y43",  # GB 32100-2015's example layout with a letter in the organisation part
    ],
)
def test_a_real_credit_code_passes_its_check_character(code):
    assert normalize_credit_code(code) == code


def test_a_credit_code_is_read_in_upper_case_without_spaces():
    assert normalize_credit_code(" 91110000600037341l ") == "91110000600037341L"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91110000600037341M", "校验位错误：第 18 位应为 L"),
        ("9111000060003734", "应为 18 位"),
        ("91110000600037341I", "不允许的字符：I"),
    ],
)
def test_a_wrong_credit_code_is_refused_with_its_reason(code, reason):
    with pytest.raises(ValueError, match=reason):
        normalize_credit_code(code)


def test_every_check_character_position_is_weighed():
    # changing any one of the first 17 characters changes the check character
    base = "11350426000000001"
    for position in range(17):
        changed = base[:position] + ("2" if base[position] != "2" else "3") + base[position + 1 :]
        assert credit_code_check_character(changed) != credit_code_check_character(base)


def test_region_prefixes_follow_the_division_levels():
    assert [region_prefix(c) for c in ("350000", "350400", "350426")] == ["35", "3504", "350426"]
    assert region_covers("350000", "350426") and region_covers("350400", "350426")
    assert not region_covers("350426", "350400") and not region_covers("350400", "350500")


def test_a_unit_is_registered_with_a_valid_credit_code(client):
    code = factories.credit_code("350426", 1)
    unit = factories.unit(client, credit_code=code.lower(), region_name="福建省三明市尤溪县")
    assert unit["credit_code"] == code
    assert client.get(f"/v1/units/{unit['id']}").json()["region_name"] == "福建省三明市尤溪县"


def test_a_unit_with_a_wrong_check_character_is_a_422_in_chinese(client):
    code = factories.credit_code("350426", 1)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    response = client.post("/v1/units", json={"name": "尤溪县公安局", "region_code": "350426", "credit_code": wrong})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert "校验位错误" in body["detail"]
    assert body["errors"][0]["field"] == "credit_code"
    assert client.get("/v1/units").json()["items"] == []


def test_two_units_cannot_share_a_credit_code(client):
    code = factories.credit_code("350426", 1)
    first = factories.unit(client, credit_code=code)
    response = client.post("/v1/units", json={"name": "另一个单位", "region_code": "350426", "credit_code": code})
    assert response.status_code == 409
    assert response.json()["unit_id"] == first["id"]


@pytest.mark.parametrize("region_code", ["35042", "3504261", "990000", "abcdef"])
def test_a_region_code_must_be_a_six_digit_division_code(client, region_code):
    response = client.post("/v1/units", json={"name": "某单位", "region_code": region_code})
    assert response.status_code == 422
    assert "region_code" in response.json()["detail"]


def test_units_are_listed_by_region_prefix_and_name(client):
    youxi = factories.unit(client, "尤溪县公安局", "350426")
    zhenghe = factories.unit(client, "政和县司法局", "350725")
    factories.unit(client, "天津市公安局", "120000")
    fujian = client.get("/v1/units", params={"region_code": "350000"}).json()["items"]
    assert {u["id"] for u in fujian} == {youxi["id"], zhenghe["id"]}
    nanping = client.get("/v1/units", params={"region_code": "350700"}).json()["items"]
    assert [u["id"] for u in nanping] == [zhenghe["id"]]
    assert [u["name"] for u in client.get("/v1/units", params={"q": "司法"}).json()["items"]] == ["政和县司法局"]


def test_a_unit_can_name_its_parent_and_be_renamed(client):
    city = factories.unit(client, "三明市公安局", "350400")
    county = factories.unit(client, "尤溪县公安局", "350426", parent_id=city["id"])
    assert county["parent_id"] == city["id"]
    assert client.get("/v1/units", params={"parent_id": city["id"]}).json()["items"][0]["id"] == county["id"]
    renamed = client.patch(f"/v1/units/{county['id']}", json={"name": "尤溪县公安局（新）"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "尤溪县公安局（新）"
    missing_parent = client.post("/v1/units", json={"name": "x", "region_code": "350426", "parent_id": 999999})
    assert missing_parent.status_code == 422


def test_an_unknown_unit_is_a_404(client):
    response = client.get("/v1/units/424242")
    assert response.status_code == 404
    assert response.json()["detail"] == "主办单位 424242 不存在"
