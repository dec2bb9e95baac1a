import pytest

from tests import factories


@pytest.fixture
def youxi(client):
    return factories.unit(client, "尤溪县公安局", "350426", credit_code=factories.credit_code("350426", 1))


def test_an_account_is_registered_with_the_pinned_fields(client, youxi):
    body = {
        "platform": "wechat",
        "name": "尤溪警察蜀黍",
        "handle": "youxi_jingcha",
        "unit_id": youxi["id"],
        "level": "main",
        "filed": True,
        "status": "active",
        "source": {"kind": "rss", "url": "https://rsshub.example.gov.cn/wechat/youxi"},
    }
    response = client.post("/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    account = response.json()
    for field, value in body.items():
        assert account[field] == value
    assert account["last_post_at"] is None
    assert account["source_status"]["state"] == "pending"
    assert account["created_at"].endswith("+08:00")
    assert client.get(f"/v1/accounts/{account['id']}").json() == account


def test_one_handle_is_registered_once_per_platform(client, youxi):
    first = factories.account(client, youxi["id"], "youxi_jingcha")
    again = client.post("/v1/accounts", json={"platform": "wechat", "name": "x", "handle": "youxi_jingcha", "unit_id": youxi["id"]})
    assert again.status_code == 409
    assert again.json()["account_id"] == first["id"]
    # the same handle on another platform is another account
    factories.account(client, youxi["id"], "youxi_jingcha", platform="weibo")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"platform": "wechat-mp"}, "platform"),
        ({"level": "top"}, "level"),
        ({"status": "zombie"}, "status"),
        ({"source": {"kind": "rss"}}, "source"),
        ({"source": {"kind": "push", "url": "https://example.gov.cn"}}, "source"),
        ({"source": {"kind": "json", "url": "ftp://example.gov.cn/feed"}}, "source"),
        ({"handle": "   "}, "handle"),
    ],
)
def test_a_bad_account_field_is_a_422_naming_it(client, youxi, change, field):
    body = {"platform": "wechat", "name": "尤溪警察蜀黍", "handle": "youxi", "unit_id": youxi["id"], **change}
    response = client.post("/v1/accounts", json=body)
    assert response.status_code == 422
    assert any(error["field"].startswith(field) for error in response.json()["errors"])
    assert client.get("/v1/accounts").json()["items"] == []


def test_an_account_of_an_unknown_unit_is_refused(client):
    response = client.post("/v1/accounts", json={"platform": "wechat", "name": "x", "handle": "x", "unit_id": 987654})
    assert response.status_code == 422
    assert "主办单位 987654 不存在" in response.json()["detail"]


def test_accounts_are_filtered_as_the_registry_is_read(client, youxi):
    zhenghe = factories.unit(client, "政和县司法局", "350725")
    tianjin = factories.unit(client, "天津市公安局", "120000")
    a = factories.account(client, youxi["id"], "youxi_jingcha", name="尤溪警察蜀黍", level="main")
    b = factories.account(client, zhenghe["id"], "farun_zhenghe", name="法润政和", filed=False)
    c = factories.account(client, tianjin["id"], "pingan_tianjin", platform="weibo", name="平安天津", status="suspended")

    def ids(**params):
        return {item["id"] for item in client.get("/v1/accounts", params=params).json()["items"]}

    assert ids(region_code="350000") == {a["id"], b["id"]}  # the province covers its counties
    assert ids(region_code="350700") == {b["id"]}
    assert ids(platform="weibo") == {c["id"]}
    assert ids(unit_id=youxi["id"]) == {a["id"]}
    assert ids(status="suspended") == {c["id"]}
    assert ids(filed="false") == {b["id"]}
    assert ids(level="main") == {a["id"]}
    assert ids(name="政和") == {b["id"]}
    assert ids(q="pingan") == {c["id"]}


def test_a_list_is_walked_page_by_page_with_its_cursor(client, youxi):
    created = [factories.account(client, youxi["id"], f"acct_{n:02d}")["id"] for n in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/accounts", params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created


def test_a_forged_cursor_is_a_clear_422(client):
    response = client.get("/v1/accounts", params={"cursor": "not-a-cursor!"})
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]


def test_an_account_is_changed_field_by_field(client, youxi):
    account = factories.account(client, youxi["id"], "youxi_jingcha", source={"kind": "rss", "url": "https://a.example/feed"})
    other = factories.unit(client, "尤溪县人民政府办公室", "350426")
    changed = client.patch(f"/v1/accounts/{account['id']}", json={"status": "closed", "unit_id": other["id"]}).json()
    assert changed["status"] == "closed"
    assert changed["unit_name"] == "尤溪县人民政府办公室"
    assert changed["source"] == account["source"]  # untouched fields stay
    cleared = client.patch(f"/v1/accounts/{account['id']}", json={"source": None}).json()
    assert cleared["source"] is None and cleared["source_status"]["state"] == "none"
    refused = client.patch(f"/v1/accounts/{account['id']}", json={"name": None})
    assert refused.status_code == 422


def test_a_handle_cannot_be_changed_into_anothers(client, youxi):
    factories.account(client, youxi["id"], "taken")
    mine = factories.account(client, youxi["id"], "mine")
    response = client.patch(f"/v1/accounts/{mine['id']}", json={"handle": "taken"})
    assert response.status_code == 409


def test_a_wrongly_entered_account_is_deleted_with_its_activity(client, youxi):
    account = factories.account(client, youxi["id"], "mistake")
    pushed = client.post(
        f"/v1/accounts/{account['id']}/activity",
        json={"posts": [{"external_id": "p1", "published_at": "2020-06-01T10:00:00"}]},
    )
    assert pushed.status_code == 200
    assert client.delete(f"/v1/accounts/{account['id']}").status_code == 204
    assert client.get(f"/v1/accounts/{account['id']}").status_code == 404
    assert client.delete(f"/v1/accounts/{account['id']}").status_code == 404


def test_deleting_an_account_removes_its_posts_verdicts_and_no_one_elses(client, youxi, db):
    from sqlalchemy import func, select

    from service.activity.models import Post
    from service.db import make_sessionmaker
    from service.detection.classifier.models import PostClassification

    kept, mistake = (factories.account(client, youxi["id"], handle) for handle in ("kept", "mistake"))
    for account in (kept, mistake):
        posts = [{"external_id": "p1", "published_at": "2020-06-20T10:00:00", "text": "县政府召开常务会议，研究部署防汛工作。"}]
        assert client.post(f"/v1/accounts/{account['id']}/activity", json={"posts": posts}).status_code == 200
    client.post("/v1/detection/runs", json={"as_of": "2020-06-30T23:59:59+08:00"})  # classifies both posts

    def verdict_owners() -> tuple[list[int], int]:  # the owners of verdicts with a post, and all verdicts
        with make_sessionmaker(db)() as session:
            query = select(Post.account_id).join(PostClassification, PostClassification.post_id == Post.id)
            return sorted(session.scalars(query)), session.scalar(select(func.count()).select_from(PostClassification))

    assert verdict_owners() == (sorted([kept["id"], mistake["id"]]), 2)
    assert client.delete(f"/v1/accounts/{mistake['id']}").status_code == 204
    assert verdict_owners() == ([kept["id"]], 1)  # no verdict left behind without its post
