"""The demo registry holds the units and accounts the 2020 bulletins name (DOMAIN.md)."""
from collections import Counter

import pytest

from service import demo


@pytest.fixture
def loaded(client, session):
    demo.load(session=session)
    session.commit()
    items, cursor = [], None
    while True:
        page = client.get("/v1/accounts", params={"limit": 500, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


BULLETIN_ACCOUNTS = [
    "东莞市人社局洪梅分局", "榕城区环境保护局", "滨海商旅", "天津三农", "天津合作交流",
    "蓟州发布", "天津应急", "天津市场监管", "平安和平", "投资汕尾", "茂名市电白区政务服务数据管理局",
    "江苏教育发布", "精彩江苏", "江苏滨海发布", "丹徒发布", "美丽王集",
    "网信天津", "天津教育", "平安天津", "天津交通运输",
]  # fmt: skip


def test_every_account_the_bulletins_name_is_registered(loaded):
    names = {a["name"] for a in loaded}
    assert [n for n in BULLETIN_ACCOUNTS if n not in names] == []


def test_the_three_units_each_run_three_wechat_accounts(loaded):
    per_unit = Counter((a["unit_name"], a["platform"]) for a in loaded)
    for unit in ("尤溪县公安局", "政和县司法局", "松溪县司法局"):
        assert per_unit[(unit, "wechat")] == 3


def test_the_unfiled_accounts_are_marked_unfiled(loaded):
    assert {a["name"] for a in loaded if not a["filed"]} == {"投资汕尾", "茂名市电白区政务服务数据管理局"}


def test_jingcai_jiangsu_is_on_wechat_and_weibo(loaded):
    assert sorted(a["platform"] for a in loaded if a["name"] == "精彩江苏") == ["wechat", "weibo"]
