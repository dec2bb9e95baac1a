"""openapi/openapi.json is exactly what the app serves: other systems build from that file."""
import json
from pathlib import Path

from service.app import create_app
from service.config import Settings

SPEC = Path(__file__).parents[1] / "openapi" / "openapi.json"
PLATFORMS = {"wechat", "weibo", "douyin", "toutiao", "kuaishou", "bilibili", "xiaohongshu", "baijiahao", "app", "other"}


def live_spec() -> dict:
    return create_app(Settings(scheduler_enabled=False)).openapi()


def test_the_exported_spec_has_not_drifted_from_the_app():
    assert json.loads(SPEC.read_text(encoding="utf-8")) == live_spec(), (
        "openapi/openapi.json is stale: run `make openapi` (zombiewatch openapi --out openapi/openapi.json)"
    )


def test_the_pinned_registry_operations_are_there():
    paths = live_spec()["paths"]
    pinned = [
        ("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics"),
        ("post", "/v1/units"), ("get", "/v1/units"), ("get", "/v1/units/{id}"),
        ("post", "/v1/accounts"), ("get", "/v1/accounts"), ("get", "/v1/accounts/{id}"),
        ("patch", "/v1/accounts/{id}"), ("delete", "/v1/accounts/{id}"),
        ("post", "/v1/accounts/import"), ("post", "/v1/accounts/{id}/activity"),
    ]  # fmt: skip
    assert [(m, p) for m, p in pinned if m not in paths.get(p, {})] == []


def test_the_platform_vocabulary_is_the_pinned_one():
    platform = live_spec()["components"]["schemas"]["Platform"]
    assert set(platform["enum"]) == PLATFORMS


def test_every_operation_has_a_summary_a_tag_and_a_clean_id():
    operations = [op for ops in live_spec()["paths"].values() for op in ops.values()]
    assert all(op.get("summary") and op.get("tags") for op in operations)
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) and all("__" not in i for i in ids)
