"""Who may do what: API keys, roles (admin, editor, reader) and region scope."""
import pytest
from sqlalchemy import select

from service.auth import ApiKey, hash_key
from tests import factories


def test_without_a_key_or_with_a_wrong_one_the_api_answers_401(client):
    for headers in ({"X-API-Key": ""}, {"X-API-Key": "zw_not-a-key"}):
        response = client.get("/v1/accounts", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "密钥" in response.json()["detail"]


def test_probes_need_no_key(client):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path, headers={"X-API-Key": ""}).status_code == 200


def test_keys_are_stored_only_as_hashes(client, session):
    created = client.post("/v1/apikeys", json={"name": "尤溪只读", "role": "reader", "region_code": "350426"})
    assert created.status_code == 201
    plain = created.json()["key"]
    stored = session.scalars(select(ApiKey)).one()
    assert stored.key_hash == hash_key(plain) and plain not in (stored.key_hash, stored.prefix)
    listed = client.get("/v1/apikeys").json()["items"]
    assert "key" not in listed[0] and listed[0]["region_code"] == "350426"


def test_a_revoked_key_is_refused(client):
    created = client.post("/v1/apikeys", json={"name": "temp", "role": "editor"}).json()
    headers = {"X-API-Key": created["key"]}
    assert client.get("/v1/units", headers=headers).status_code == 200
    assert client.delete(f"/v1/apikeys/{created['id']}").json()["revoked_at"] is not None
    assert client.get("/v1/units", headers=headers).status_code == 401


# What each role may do: (method, path template, body builder, roles allowed)
OPERATIONS = [
    ("GET", "/v1/units", None, {"reader", "editor", "admin"}),
    ("GET", "/v1/accounts/{account}", None, {"reader", "editor", "admin"}),
    ("POST", "/v1/units", lambda ids: {"name": "新单位", "region_code": "350426"}, {"editor", "admin"}),
    ("PATCH", "/v1/accounts/{account}", lambda ids: {"status": "suspended"}, {"editor", "admin"}),
    ("POST", "/v1/accounts/{account}/activity", lambda ids: {"posts": []}, {"editor", "admin"}),
    ("POST", "/v1/apikeys", lambda ids: {"name": "k", "role": "reader", "region_code": "350426"}, {"admin"}),
    ("GET", "/v1/apikeys", None, {"admin"}),
]


@pytest.fixture
def youxi_account(client):
    unit = factories.unit(client, "尤溪县公安局", "350426")
    return factories.account(client, unit["id"], "youxi_jingcha")


@pytest.mark.parametrize("role", ["reader", "editor", "admin"])
@pytest.mark.parametrize(("method", "path", "body", "allowed"), OPERATIONS, ids=[f"{m} {p}" for m, p, *_ in OPERATIONS])
def test_each_role_may_do_what_its_role_allows(client, make_key, youxi_account, role, method, path, body, allowed):
    headers = make_key(role)
    url = path.format(account=youxi_account["id"])
    response = client.request(method, url, json=body(youxi_account) if body else None, headers=headers)
    if role in allowed:
        assert response.status_code < 300, response.text
    else:
        assert response.status_code == 403
        assert "权限不足" in response.json()["detail"]


@pytest.fixture
def two_regions(client):
    youxi = factories.unit(client, "尤溪县公安局", "350426")
    tianjin = factories.unit(client, "天津市公安局", "120000")
    return {
        "inside": youxi,
        "outside": tianjin,
        "inside_account": factories.account(client, youxi["id"], "youxi_jingcha"),
        "outside_account": factories.account(client, tianjin["id"], "pingan_tianjin", platform="weibo"),
    }


@pytest.mark.parametrize("scope", ["350426", "350400", "350000"])
def test_a_region_key_sees_only_its_region(client, make_key, two_regions, scope):
    headers = make_key("reader", scope)
    units = client.get("/v1/units", headers=headers).json()["items"]
    assert [u["id"] for u in units] == [two_regions["inside"]["id"]]
    accounts = client.get("/v1/accounts", headers=headers).json()["items"]
    assert [a["id"] for a in accounts] == [two_regions["inside_account"]["id"]]
    assert client.get(f"/v1/units/{two_regions['inside']['id']}", headers=headers).status_code == 200
    assert client.get(f"/v1/units/{two_regions['outside']['id']}", headers=headers).status_code == 403
    assert client.get(f"/v1/accounts/{two_regions['outside_account']['id']}", headers=headers).status_code == 403
    # asking for another region is refused, asking for a wider one is narrowed to the key's
    assert client.get("/v1/accounts", params={"region_code": "120000"}, headers=headers).status_code == 403
    wider = client.get("/v1/accounts", params={"region_code": "350000"}, headers=headers).json()["items"]
    assert [a["id"] for a in wider] == [two_regions["inside_account"]["id"]]


def test_a_region_editor_changes_nothing_outside_its_region(client, make_key, two_regions):
    headers = make_key("editor", "350426")
    outside, inside = two_regions["outside_account"], two_regions["inside_account"]
    attempts = [
        client.post("/v1/units", json={"name": "天津某局", "region_code": "120000"}, headers=headers),
        client.post("/v1/accounts", json={"platform": "wechat", "name": "x", "handle": "x", "unit_id": two_regions["outside"]["id"]}, headers=headers),
        client.patch(f"/v1/accounts/{outside['id']}", json={"status": "closed"}, headers=headers),
        client.patch(f"/v1/accounts/{inside['id']}", json={"unit_id": two_regions["outside"]["id"]}, headers=headers),
        client.delete(f"/v1/accounts/{outside['id']}", headers=headers),
        client.post(f"/v1/accounts/{outside['id']}/activity", json={"posts": []}, headers=headers),
        client.patch(f"/v1/units/{two_regions['outside']['id']}", json={"name": "改名"}, headers=headers),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert all("地区" in r.json()["detail"] for r in attempts)
    assert client.get(f"/v1/accounts/{outside['id']}").json()["status"] == "active"
    assert client.get(f"/v1/accounts/{inside['id']}").json()["unit_id"] == two_regions["inside"]["id"]
    assert len(client.get("/v1/units").json()["items"]) == 2
    # inside its region it works
    ok = client.patch(f"/v1/accounts/{inside['id']}", json={"status": "suspended"}, headers=headers)
    assert ok.status_code == 200


def test_a_region_admin_creates_keys_only_inside_its_region(client, make_key):
    headers = make_key("admin", "350400")
    assert client.post("/v1/apikeys", json={"name": "k", "role": "reader", "region_code": "350426"}, headers=headers).status_code == 201
    assert client.post("/v1/apikeys", json={"name": "k", "role": "reader", "region_code": "120000"}, headers=headers).status_code == 403
    assert client.post("/v1/apikeys", json={"name": "k", "role": "reader"}, headers=headers).status_code == 403


def test_swagger_ui_offers_the_api_key_to_authorize(client):
    spec = client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["APIKeyHeader"]
    assert scheme == {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "API 密钥"}
    assert spec["paths"]["/v1/accounts"]["get"]["security"] == [{"APIKeyHeader": []}]
    assert "persistAuthorization" in client.get("/docs").text
