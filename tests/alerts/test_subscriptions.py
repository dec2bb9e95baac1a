"""Subscriptions through the API: the secret shown once, SSRF refusals, filters, region scope,
enable and disable, rotation."""
from sqlalchemy import select

from service.alerts.models import Subscription
from tests.factories import credit_code, unit

PUBLIC = "https://8.8.8.8/zombiewatch"  # an address literal: no DNS lookup in tests


def subscribe(client, headers=None, **body) -> dict:
    body = {"url": PUBLIC, "event_types": ["finding.opened"], **body}
    response = client.post("/v1/webhooks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_the_secret_is_shown_once_and_stored_only_encrypted(client, session):
    created = subscribe(client, description="省网信办值班系统", filters={"types": ["dormant"]})
    assert created["secret"].startswith("whsec_")
    assert created["status"] == "active" and created["enabled"] is True
    assert created["filters"]["types"] == ["dormant"]
    again = client.get(f"/v1/webhooks/{created['id']}").json()
    assert "secret" not in again
    assert [s["id"] for s in client.get("/v1/webhooks").json()["items"]] == [created["id"]]
    stored = session.scalar(select(Subscription))
    assert created["secret"] not in stored.secret_encrypted
    assert created["secret"] not in str(stored.__dict__)


def test_loopback_metadata_and_private_urls_are_refused_at_creation_and_nothing_is_created(client):
    # 127.0.0.0/8 is on these tests' allowlist (for the local receiver): IPv6 loopback is not
    for url in ("http://[::1]:9000/hook", "http://169.254.169.254/latest/meta-data", "http://172.16.0.5/hook",
                "file:///etc/passwd"):  # fmt: skip
        response = client.post("/v1/webhooks", json={"url": url, "event_types": ["finding.opened"]})
        assert response.status_code == 422, url
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == "url"
        assert "订阅地址不可用" in response.json()["detail"]
    assert client.get("/v1/webhooks").json()["items"] == []


def test_a_changed_url_is_checked_again(client):
    created = subscribe(client)
    response = client.patch(f"/v1/webhooks/{created['id']}", json={"url": "http://10.0.0.8/hook"})
    assert response.status_code == 422
    assert client.get(f"/v1/webhooks/{created['id']}").json()["url"] == PUBLIC


def test_bad_event_types_rules_and_digest_windows_are_422(client):
    for body in (
        {"url": PUBLIC, "event_types": []},
        {"url": PUBLIC, "event_types": ["finding.deleted"]},
        {"url": PUBLIC, "event_types": ["ping"]},
        {"url": PUBLIC, "event_types": ["finding.opened"], "filters": {"rules": ["dormant.sleepy"]}},
        {"url": PUBLIC, "event_types": ["finding.opened"], "filters": {"region_code": "99"}},
        {"url": PUBLIC, "event_types": ["finding.opened"], "digest_minutes": 0},
        {"url": PUBLIC, "event_types": ["finding.opened"], "secret": "whsec_mine"},
    ):
        response = client.post("/v1/webhooks", json=body)
        assert response.status_code == 422, body
    assert client.get("/v1/webhooks").json()["items"] == []


def test_a_region_scoped_key_manages_only_subscriptions_inside_its_region(client, make_key):
    fujian_admin = make_key("admin", "350000")
    mine = subscribe(client, headers=fujian_admin)
    assert mine["filters"]["region_code"] == "350000"  # the key's region by default
    county = subscribe(client, headers=fujian_admin, filters={"region_code": "350426"})
    refused = client.post("/v1/webhooks", json={"url": PUBLIC, "event_types": ["finding.opened"], "filters": {"region_code": "120000"}},
                          headers=fujian_admin)  # fmt: skip
    assert refused.status_code == 403
    national = subscribe(client)  # the unrestricted admin key
    listed = {s["id"] for s in client.get("/v1/webhooks", headers=fujian_admin).json()["items"]}
    assert listed == {mine["id"], county["id"]}
    assert client.get(f"/v1/webhooks/{national['id']}", headers=fujian_admin).status_code == 403
    assert client.delete(f"/v1/webhooks/{national['id']}", headers=fujian_admin).status_code == 403
    assert client.patch(f"/v1/webhooks/{county['id']}", json={"filters": {"region_code": "120000"}}, headers=fujian_admin).status_code == 403
    assert client.get(f"/v1/webhooks/{national['id']}").status_code == 200


def test_a_unit_filter_must_name_units_the_key_may_see(client, make_key):
    youxi = unit(client, "尤溪县公安局", "350426", credit_code=credit_code("350426", 1))
    tianjin = unit(client, "天津市农业农村委员会", "120000", credit_code=credit_code("120000", 1))
    fujian_admin = make_key("admin", "350000")
    assert subscribe(client, headers=fujian_admin, filters={"unit_ids": [youxi["id"]]})["filters"]["unit_ids"] == [youxi["id"]]
    response = client.post("/v1/webhooks", json={"url": PUBLIC, "event_types": ["finding.opened"], "filters": {"unit_ids": [tianjin["id"]]}},
                           headers=fujian_admin)  # fmt: skip
    assert response.status_code == 403
    response = client.post("/v1/webhooks", json={"url": PUBLIC, "event_types": ["finding.opened"], "filters": {"unit_ids": [999999]}})
    assert response.status_code == 422


def test_readers_may_look_but_not_subscribe(client, make_key):
    reader = make_key("reader")
    created = subscribe(client)
    assert client.get(f"/v1/webhooks/{created['id']}", headers=reader).status_code == 200
    assert client.post("/v1/webhooks", json={"url": PUBLIC, "event_types": ["finding.opened"]}, headers=reader).status_code == 403
    assert client.post(f"/v1/webhooks/{created['id']}/rotate-secret", headers=reader).status_code == 403
    assert client.get("/v1/webhooks", headers={"X-API-Key": ""}).status_code == 401


def test_disabling_and_enabling_shows_in_the_status(client):
    created = subscribe(client)
    disabled = client.patch(f"/v1/webhooks/{created['id']}", json={"enabled": False}).json()
    assert disabled["status"] == "disabled" and disabled["disabled_reason"] == "manual" and disabled["disabled_at"]
    enabled = client.patch(f"/v1/webhooks/{created['id']}", json={"enabled": True, "event_types": ["finding.resolved"]}).json()
    assert enabled["status"] == "active" and enabled["disabled_reason"] is None
    assert enabled["event_types"] == ["finding.resolved"]


def test_rotation_returns_a_new_secret_once_and_keeps_the_old_one_signing_for_24_hours(client):
    created = subscribe(client)
    rotated = client.post(f"/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != created["secret"]
    read = client.get(f"/v1/webhooks/{created['id']}").json()
    assert read["previous_secret_expires_at"] == rotated.json()["previous_secret_expires_at"]


def test_a_deleted_subscription_is_gone(client):
    created = subscribe(client)
    assert client.delete(f"/v1/webhooks/{created['id']}").status_code == 204
    assert client.get(f"/v1/webhooks/{created['id']}").status_code == 404
    assert client.delete(f"/v1/webhooks/{created['id']}").status_code == 404
