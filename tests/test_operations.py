"""What operators and every client meet: probes, metrics, logs, and errors as problem+json."""
import json
import logging

from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from service.observability import JsonFormatter
from tests.conftest import ADMIN_KEY


def test_readyz_answers_200_when_the_database_is_reachable(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["database"] == "ok"


def test_readyz_answers_503_when_the_database_is_not(tmp_path):
    unreachable = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", scheduler_enabled=False)
    with TestClient(create_app(unreachable)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["detail"] == "数据库不可达，服务暂不可用"
        assert client.get("/healthz").status_code == 200


def test_metrics_count_requests_by_route_template(client):
    client.get("/v1/units/123")
    text = client.get("/metrics").text
    assert 'zw_http_requests_total{method="GET",route="/v1/units/{id}",status="404"}' in text
    assert "zw_http_request_duration_seconds_bucket" in text


def test_each_answer_carries_a_request_id(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32


def test_log_lines_are_json_with_the_request_id_and_never_the_key(client, caplog):
    caplog.set_level(logging.INFO, logger="service.access")
    client.get("/v1/units?limit=5", headers={"X-Request-ID": "req-42"})
    client.get("/v1/units", headers={"X-API-Key": "zw_wrong-secret"})
    lines = [json.loads(JsonFormatter().format(record)) for record in caplog.records]
    assert lines[0]["request_id"] == "req-42"
    assert lines[0]["route"] == "/v1/units" and lines[0]["status"] == 200
    assert lines[1]["status"] == 401
    assert not any(ADMIN_KEY in caplog.text or "zw_wrong-secret" in caplog.text for _ in lines)


def test_an_unknown_path_and_method_are_problems_in_chinese(client):
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json() == {"type": "about:blank", "title": "未找到", "status": 404, "detail": "未找到"}
    wrong_method = client.put("/v1/units")
    assert wrong_method.status_code == 405 and wrong_method.json()["title"] == "不支持的请求方法"


def test_a_validation_error_lists_every_field(client):
    response = client.post("/v1/units", json={"region_code": "12", "credit_code": 5})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("请求参数校验失败")
    assert {e["field"] for e in body["errors"]} == {"name", "region_code", "credit_code"}
    assert "必填" in next(e["message"] for e in body["errors"] if e["field"] == "name")


def test_malformed_json_is_a_problem_not_a_crash(client):
    response = client.post("/v1/units", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]


def test_an_unexpected_error_is_a_500_problem_without_internals(settings):
    app = create_app(settings)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in response.text and "服务器内部错误" in response.json()["detail"]
