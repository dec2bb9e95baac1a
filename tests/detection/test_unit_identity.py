"""同一单位在同一平台开设多个账号: recognising one unit (主办单位) under every spelling a registry files it under.

The 2020 Fujian bulletin named 尤溪县公安局, 政和县司法局 and 松溪县司法局 for three WeChat accounts each
(国办发〔2018〕123号: 一个单位原则上在同一平台只开设一个政务新媒体账号). A registry may list such a unit
once per account, under its credit code in any case or width, or under names that differ only in width,
script, spacing, brackets or a leading name of its own region. Those rows must count as one unit; rows
of other units — another department of the same county, a higher level of government, the same department
of another county — must not."""
import csv
import random
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from service.detection.detectors import detect
from service.detection.facts import AccountFacts, Inspection, Thresholds
from service.detection.unit_identity import UnitRecord, normalize_unit_name, unit_groups
from service.registry.models import AccountStatus

YOUXI = ("350426", "福建省三明市尤溪县")
ZHENGHE = ("350725", "福建省南平市政和县")
SONGXI = ("350724", "福建省南平市松溪县")
SANMING = ("350400", "福建省三明市")
FUJIAN = ("350000", "福建省")
YOUXI_GAJ_CODE = "1135042673061029XA"  # 尤溪县公安局, as the demo registry files it


def unit(id: int, name: str, region: tuple[str, str | None] = YOUXI, credit_code: str | None = None) -> UnitRecord:
    return UnitRecord(id=id, name=name, region_code=region[0], region_name=region[1], credit_code=credit_code)


def same_unit(*units: UnitRecord) -> bool:
    return len(set(unit_groups(units).values())) == 1


def all_apart(*units: UnitRecord) -> bool:
    return len(set(unit_groups(units).values())) == len(units)


# --- one unit, many spellings ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("尤溪县公安局", id="as filed"),
        pytest.param("尤溪縣公安局", id="traditional characters"),
        pytest.param("尤溪县 公安局", id="space inside"),
        pytest.param(" 尤溪县公安局　", id="half- and full-width spaces around"),
        pytest.param("尤溪县\u200b公安局", id="zero-width space from a copy-paste"),
        pytest.param("（福建）尤溪县公安局", id="full-width brackets around the province"),
        pytest.param("(福建)尤溪县公安局", id="half-width brackets around the province"),
        pytest.param("【尤溪县公安局】", id="black lenticular brackets"),
        pytest.param("福建省尤溪县公安局", id="province prefixed"),
        pytest.param("福建尤溪县公安局", id="short province form prefixed"),
        pytest.param("三明市尤溪县公安局", id="prefecture prefixed"),
        pytest.param("福建省三明市尤溪县公安局", id="province and prefecture prefixed"),
        pytest.param("尤溪县尤溪县公安局", id="own county typed twice"),
        pytest.param("福建省 三明市 尤溪縣 公安局", id="everything at once"),
    ],
)
def test_spellings_of_youxi_public_security_bureau_are_one_unit(spelling):
    assert normalize_unit_name(spelling, *YOUXI) == "尤溪县公安局"
    assert same_unit(unit(1, "尤溪县公安局"), unit(2, spelling))


def test_full_width_and_half_width_latin_letters_are_one_name():
    # Letters in unit names (e 家, 12348 热线) are typed in either width and either case.
    assert normalize_unit_name("尤溪县ＥＸ中心", *YOUXI) == normalize_unit_name("尤溪县ex中心", *YOUXI)
    assert same_unit(unit(1, "政和县１２３４８热线中心", ZHENGHE), unit(2, "政和县12348热线中心", ZHENGHE))


@pytest.mark.parametrize(
    "pasted",
    [
        pytest.param(YOUXI_GAJ_CODE, id="as filed"),
        pytest.param("1135 0426 7306 1029 XA", id="spaces"),
        pytest.param(YOUXI_GAJ_CODE.lower(), id="lower case"),
        pytest.param("１１３５０４２６７３０６１０２９ＸＡ", id="full width"),
        pytest.param(" １１３５０４２６７３０６１０２９ｘａ\t", id="full width, lower case, padded"),
    ],
)
def test_same_credit_code_is_one_unit_whatever_the_names(pasted):
    # The credit code identifies the unit even where the names have nothing in common.
    assert same_unit(unit(1, "尤溪县公安局", credit_code=YOUXI_GAJ_CODE), unit(2, "尤溪警察蜀黍运营中心", credit_code=pasted))


def test_a_credit_code_joins_rows_filed_in_different_regions():
    # The registry's region is typed by hand; the code is the state's identifier of the unit.
    assert same_unit(unit(1, "尤溪县公安局", YOUXI, YOUXI_GAJ_CODE), unit(2, "尤溪县公安局", SANMING, YOUXI_GAJ_CODE))


def test_blank_credit_codes_join_nothing():
    assert all_apart(unit(1, "尤溪县公安局", credit_code=""), unit(2, "尤溪县司法局", credit_code="  "), unit(3, "尤溪县教育局", credit_code="　"))


def test_a_provincial_unit_written_with_the_short_province_form():
    assert normalize_unit_name("福建公安厅", *FUJIAN) == "福建省公安厅"
    assert same_unit(unit(1, "福建省公安厅", FUJIAN), unit(2, "福建公安厅", FUJIAN), unit(3, "（福建省）公安厅", FUJIAN))


def test_a_prefecture_unit_with_its_province_prefixed():
    assert same_unit(unit(1, "三明市公安局", SANMING), unit(2, "福建省三明市公安局", SANMING))


def test_a_region_name_that_names_another_province_is_ignored():
    # The region code is validated, the region name is free text: 350426 is in Fujian whatever it says.
    assert normalize_unit_name("福建省尤溪县公安局", "350426", "天津市") == normalize_unit_name("福建省尤溪县公安局", "350426", None)


def test_without_a_region_name_the_province_still_goes():
    assert normalize_unit_name("福建省尤溪县公安局", "350426", None) == "尤溪县公安局"


# --- different units stay apart ------------------------------------------------------------------

def test_another_regions_name_is_not_stripped():
    # Only names of the unit's own region repeat it; 天津市 names another unit altogether.
    assert normalize_unit_name("天津市公安局", *YOUXI) == "天津市公安局"
    assert all_apart(unit(1, "天津市公安局"), unit(2, "公安局"), unit(3, "尤溪县公安局"))


def test_two_departments_of_one_county_stay_apart():
    assert all_apart(unit(1, "尤溪县公安局"), unit(2, "尤溪县司法局"), unit(3, "福建省尤溪县教育局"))


def test_county_prefecture_and_province_each_in_its_own_region_stay_apart():
    assert all_apart(unit(1, "尤溪县公安局", YOUXI), unit(2, "三明市公安局", SANMING), unit(3, "福建省公安厅", FUJIAN))


def test_higher_levels_filed_under_the_county_are_still_higher_levels():
    # A county's registry may list the prefecture's and the province's units it relays. Their names start
    # with a division above the county, but the division is the unit itself, not a prefix of a county unit.
    assert normalize_unit_name("三明市公安局", *YOUXI) == "三明市公安局"
    assert normalize_unit_name("福建省公安厅", *YOUXI) == "福建省公安厅"
    assert all_apart(unit(1, "尤溪县公安局"), unit(2, "三明市公安局"), unit(3, "福建省公安厅"))
    # Same body name at two levels: the prefecture's and the province's commissions are two units.
    assert all_apart(unit(1, "三明市发展和改革委员会"), unit(2, "福建省发展和改革委员会"), unit(3, "发展和改革委员会"))


def test_same_name_in_two_counties_stays_apart():
    assert all_apart(unit(1, "公安局", YOUXI), unit(2, "公安局", ZHENGHE))
    assert all_apart(unit(1, "司法局", ZHENGHE), unit(2, "（福建）司法局", SONGXI))


def test_jilin_city_is_not_jilin_province_plus_a_city_bureau():
    # 吉林市 is a prefecture of 吉林省: its 公安局 is not the province's "市公安局".
    jilin_province = ("220000", "吉林省")
    jilin_city = ("220200", "吉林省吉林市")
    assert normalize_unit_name("吉林市公安局", *jilin_province) == "吉林市公安局"
    assert normalize_unit_name("吉林市公安局", *jilin_city) == "吉林市公安局"
    assert normalize_unit_name("吉林省吉林市公安局", *jilin_city) == "吉林市公安局"
    assert all_apart(unit(1, "吉林市公安局", jilin_province), unit(2, "吉林省市公安局", jilin_province), unit(3, "吉林省公安厅", jilin_province))


def test_a_region_name_is_never_stripped_down_to_a_stray_character():
    assert normalize_unit_name("福建省委", *FUJIAN) == "福建省委"
    assert normalize_unit_name("福建省委", *YOUXI) == "福建省委"


def test_a_name_that_normalises_to_nothing_joins_no_one():
    assert normalize_unit_name("（）【】 ", *YOUXI) == ""
    assert all_apart(unit(1, "（）"), unit(2, "【】"), unit(3, " "))
    # Its credit code still counts.
    assert same_unit(unit(1, "（）", credit_code=YOUXI_GAJ_CODE), unit(2, "尤溪县公安局", credit_code=YOUXI_GAJ_CODE))


# --- groups ----------------------------------------------------------------------------------------

def test_joining_is_transitive_whatever_the_order():
    # A and B share the credit code; B and C share the normalised name; C carries no code.
    a = unit(7, "尤溪警察蜀黍运营中心", credit_code=YOUXI_GAJ_CODE)
    b = unit(3, "尤溪县公安局", credit_code=YOUXI_GAJ_CODE.lower())
    c = unit(5, "福建省尤溪縣公安局")
    other = unit(4, "尤溪县司法局")
    for order in ([a, b, c, other], [c, other, a, b], [c, a, other, b], [other, b, c, a]):
        assert unit_groups(order) == {7: 3, 3: 3, 5: 3, 4: 4}


def test_a_chain_across_codes_and_names_is_one_group():
    # 1 –name– 2 –code– 3 –name– 4: listed so that the links come in the worst order.
    rows = [
        unit(40, "政和县司法局（法润政和）", ZHENGHE),
        unit(10, "政和县司法局", ZHENGHE),
        unit(30, "政和縣司法局（法潤政和）", ZHENGHE, "113507259570011146"),
        unit(20, "福建省政和县司法局", ZHENGHE, " 113507259570011146 "),
    ]
    assert unit_groups(rows) == {10: 10, 20: 10, 30: 10, 40: 10}


def test_the_representative_is_the_smallest_id_and_every_row_is_mapped():
    rows = [unit(9, "尤溪县公安局"), unit(12, "尤溪县司法局"), unit(2, "福建省尤溪县公安局"), unit(5, "尤溪縣公安局"), unit(11, "尤溪县 司法局")]
    random.Random(7).shuffle(rows)
    assert unit_groups(rows) == {9: 2, 2: 2, 5: 2, 12: 11, 11: 11}


def test_no_units_no_groups():
    assert unit_groups([]) == {}
    assert unit_groups(iter([unit(1, "尤溪县公安局")])) == {1: 1}


# --- the 2020 Fujian bulletin, as the demo registry lists it ---------------------------------------

BULLETIN_UNITS = {"尤溪县公安局", "政和县司法局", "松溪县司法局"}


def _demo_rows() -> list[dict[str, str]]:
    with resources.files("service.demo").joinpath("registry.csv").open(encoding="utf-8") as file:
        return [row for row in csv.DictReader(file) if row["主办单位"] in BULLETIN_UNITS]


def test_the_three_fujian_units_of_2020_as_the_demo_lists_them():
    # A registry that lists the unit once per account: nine rows, three units of three WeChat accounts each.
    rows = _demo_rows()
    assert len(rows) == 9
    units = [unit(i, row["主办单位"], (row["地区代码"], row["地区"]), row["统一社会信用代码"]) for i, row in enumerate(rows, start=1)]
    groups = unit_groups(units)
    by_name: dict[str, set[int]] = {}
    for record in units:
        by_name.setdefault(record.name, set()).add(groups[record.id])
    assert {name: len(reps) for name, reps in by_name.items()} == dict.fromkeys(BULLETIN_UNITS, 1)
    assert len(set(groups.values())) == 3


def test_the_three_fujian_units_meet_their_other_spellings_without_a_code():
    rows = {row["主办单位"]: row for row in _demo_rows()}
    filed = [unit(i, name, (row["地区代码"], row["地区"]), row["统一社会信用代码"]) for i, (name, row) in enumerate(sorted(rows.items()), start=1)]
    region = {record.name: (record.region_code, record.region_name) for record in filed}
    respelled = [
        unit(101, "福建省尤溪县公安局", region["尤溪县公安局"]),
        unit(102, "尤溪縣公安局", region["尤溪县公安局"]),
        unit(103, "（福建）政和县 司法局", region["政和县司法局"]),
        unit(104, "福建省南平市松溪縣司法局", region["松溪县司法局"]),
    ]
    groups = unit_groups([*filed, *respelled])
    representative = {record.name: groups[record.id] for record in filed}
    assert groups[101] == groups[102] == representative["尤溪县公安局"]
    assert groups[103] == representative["政和县司法局"]
    assert groups[104] == representative["松溪县司法局"]
    assert len(set(representative.values())) == 3


# --- through the detector ----------------------------------------------------------------------------

AS_OF = datetime(2020, 6, 30, 4, 0, tzinfo=UTC)


def _wechat(id: int, name: str, handle: str, owner: UnitRecord, groups: dict[int, int], status: str = AccountStatus.active) -> AccountFacts:
    return AccountFacts(
        id=id, name=name, platform="wechat", handle=handle, status=status, filed=True, level="主号",
        unit_id=owner.id, unit_name=owner.name, unit_group=groups[owner.id], region_code=owner.region_code,
        opened_at=None, entered_at=AS_OF - timedelta(days=400), last_post_at=AS_OF - timedelta(days=1),
    )


def _same_unit_findings(accounts: list[AccountFacts]):
    inspection = Inspection(as_of=AS_OF, thresholds=Thresholds(), accounts=accounts)
    return [d for d in detect(inspection) if d.rule.code == "duplicate.same_unit_platform"]


def test_a_unit_listed_twice_under_two_spellings_yields_one_duplicate_finding():
    filed = unit(21, "尤溪县公安局", credit_code=YOUXI_GAJ_CODE)
    again = unit(34, "福建省尤溪縣公安局")  # the same bureau entered again, without its code
    neighbour = unit(22, "尤溪县司法局")
    groups = unit_groups([filed, again, neighbour])
    accounts = [
        _wechat(301, "尤溪警察蜀黍", "youxi_jingcha_shushu", filed, groups),
        _wechat(302, "福建省尤溪县公安局", "fj_youxi_gaj", again, groups),
        _wechat(303, "尤溪司法", "youxi_sifa", neighbour, groups),
    ]

    findings = _same_unit_findings(accounts)

    assert len(findings) == 1
    (finding,) = findings
    assert finding.account_ids == (301, 302)
    assert finding.unit_id == 21
    assert finding.platform == "wechat"
    assert finding.subject == "unit:21:wechat"
    assert [a["handle"] for a in finding.evidence["accounts"]] == ["youxi_jingcha_shushu", "fj_youxi_gaj"]
    assert finding.evidence["unit_ids"] == [21, 34]
    assert finding.evidence["count"] == 2
    assert "尤溪警察蜀黍" in finding.title and "福建省尤溪县公安局" in finding.title


def test_two_units_of_one_county_with_one_account_each_are_not_a_duplicate():
    youxi_gaj = unit(21, "尤溪县公安局")
    prefecture = unit(23, "三明市公安局")  # filed under the county, still the prefecture's bureau
    groups = unit_groups([youxi_gaj, prefecture])
    accounts = [_wechat(301, "尤溪警察蜀黍", "youxi_jingcha_shushu", youxi_gaj, groups), _wechat(304, "三明公安", "sanming_gongan", prefecture, groups)]
    assert _same_unit_findings(accounts) == []


def test_a_closed_second_account_is_not_a_duplicate():
    filed = unit(21, "尤溪县公安局")
    again = unit(34, "（福建）尤溪县公安局")
    groups = unit_groups([filed, again])
    accounts = [
        _wechat(301, "尤溪警察蜀黍", "youxi_jingcha_shushu", filed, groups),
        _wechat(302, "福建省尤溪县公安局", "fj_youxi_gaj", again, groups, status=AccountStatus.closed),
    ]
    assert _same_unit_findings(accounts) == []
