"""Learning from editors: labels that win over the model, training on them, and a new model
picked up without a restart."""
import pytest
from sqlalchemy import select

from service import cli
from service.activity.models import Post
from service.config import get_settings
from service.detection.classifier import training
from service.detection.classifier.models import PostClassification
from service.detection.classifier.store import ModelStore, newest_file
from tests import factories

AS_OF = "2020-06-30T23:59:59+08:00"
NOTICE = "【通知】关于调整政务服务大厅办公时间的通知：6月起工作日延长至晚上7点，欢迎办事群众错峰前来。"
SOUP = "【夜读】愿你历尽千帆，归来仍是少年。晚安，好梦🌙"


@pytest.fixture
def posted(client, session):
    """An account in 尤溪县 with one notice and one chicken-soup post in June 2020: post ids by kind."""
    unit = factories.unit(client, credit_code=factories.credit_code("350426", 1))
    account = factories.account(client, unit["id"], "youxi_fabu", name="尤溪发布")
    posts = [
        {"external_id": "n1", "published_at": "2020-06-20T09:00:00+08:00", "title": None, "text": NOTICE},
        {"external_id": "s1", "published_at": "2020-06-21T22:00:00+08:00", "title": None, "text": SOUP},
    ]
    assert client.post(f"/v1/accounts/{account['id']}/activity", json={"posts": posts}).status_code == 200
    ids = dict(session.execute(select(Post.external_id, Post.id)).all())
    return {"account": account, "notice": ids["n1"], "soup": ids["s1"]}


def off_topic_findings(client) -> list[dict]:
    assert client.post("/v1/detection/runs", json={"as_of": AS_OF}).status_code == 201
    return client.get("/v1/findings", params={"type": "off_topic", "status": "open"}).json()["items"]


def test_an_editor_label_is_stored_and_shown_beside_the_model_verdict(client, posted, make_key):
    response = client.post(f"/v1/posts/{posted['notice']}/label", json={"label": "off_topic"}, headers=make_key("editor"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["label"] == "off_topic" and body["effective_label"] == "off_topic" and body["labelled_by"] == "editor "
    assert body["model"]["label"] == "on_topic" and body["model"]["reasons"]
    assert client.get(f"/v1/posts/{posted['notice']}/label").json()["label"] == "off_topic"


def test_a_human_label_wins_over_the_model_in_detection(client, posted):
    [finding] = off_topic_findings(client)
    assert [p["post_id"] for p in finding["evidence"]["posts"]] == [posted["soup"]]
    client.post(f"/v1/posts/{posted['soup']}/label", json={"label": "on_topic"})
    client.post(f"/v1/posts/{posted['notice']}/label", json={"label": "off_topic"})
    [finding] = off_topic_findings(client)
    [listed] = finding["evidence"]["posts"]
    assert listed["post_id"] == posted["notice"] and listed["decided_by"] == "editor"
    assert listed["reasons"][0]["kind"] == "human"


def test_withdrawing_a_label_gives_the_post_back_to_the_model(client, posted):
    client.post(f"/v1/posts/{posted['soup']}/label", json={"label": "on_topic"})
    assert off_topic_findings(client) == []
    assert client.delete(f"/v1/posts/{posted['soup']}/label").status_code == 204
    assert len(off_topic_findings(client)) == 1
    assert client.delete(f"/v1/posts/{posted['soup']}/label").status_code == 404


def test_labelling_needs_the_editor_role_and_the_post_s_region(client, posted, make_key):
    url = f"/v1/posts/{posted['soup']}/label"
    assert client.post(url, json={"label": "on_topic"}, headers=make_key("reader")).status_code == 403
    outside = client.post(url, json={"label": "on_topic"}, headers=make_key("editor", "120000"))
    assert outside.status_code == 403 and "地区" in outside.json()["detail"]
    assert client.post(url, json={"label": "on_topic"}, headers=make_key("editor", "350426")).status_code == 200


def test_an_unknown_post_or_label_is_refused_and_nothing_is_stored(client, posted):
    assert client.post("/v1/posts/999999/label", json={"label": "on_topic"}).status_code == 404
    bad = client.post(f"/v1/posts/{posted['soup']}/label", json={"label": "maybe"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/v1/posts/{posted['soup']}/label").json()["label"] is None
    assert client.get("/v1/classifier").json()["human_labels"] == 0


def test_training_learns_from_human_labels(client, posted, session, tmp_path):
    client.post(f"/v1/posts/{posted['notice']}/label", json={"label": "off_topic"})
    human = training.human_examples(session=session)
    assert [(e.text, e.label) for e in human] == [(NOTICE, "off_topic")]
    model = training.train_model(backend="transparent", model_dir=tmp_path, human=human * 40, threshold=0.5)
    assert model.meta["training"]["human_labels"] == 40
    assert model.meta["held_out"]["f1"] >= 0.9
    [verdict] = model.classify([NOTICE], threshold=0.5)
    assert verdict.label == "off_topic"  # it learnt what the editor said
    assert newest_file("transparent", tmp_path).stem == model.version


def test_a_new_model_is_used_without_a_restart_and_posts_are_classified_again(client, posted, session, settings):
    off_topic_findings(client)
    before = client.get("/v1/classifier").json()["model_version"]
    shipped = ModelStore(backend="transparent", model_dir=None).current()
    shipped.meta = {**shipped.meta, "version": "transparent-29990101000000"}
    shipped.version = "transparent-29990101000000"
    shipped.save(settings_dir(settings) / "transparent-29990101000000.npz")
    about = client.get("/v1/classifier").json()
    assert before != about["model_version"] == "transparent-29990101000000"
    off_topic_findings(client)
    session.expire_all()
    assert set(session.scalars(select(PostClassification.model_version))) == {"transparent-29990101000000"}


def test_an_edited_post_is_classified_again(client, posted, session):
    off_topic_findings(client)
    account_id = posted["account"]["id"]
    edited = {"external_id": "n1", "published_at": "2020-06-20T09:00:00+08:00", "title": None, "text": "今晚某明星演唱会门票秒光，你抢到了吗？"}
    client.post(f"/v1/accounts/{account_id}/activity", json={"posts": [edited]})
    [finding] = off_topic_findings(client)
    assert {p["post_id"] for p in finding["evidence"]["posts"]} == {posted["notice"], posted["soup"]}
    session.expire_all()
    assert session.get(PostClassification, posted["notice"]).label == "off_topic"


def settings_dir(settings):
    from pathlib import Path

    path = Path(settings.classifier_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_the_train_command_writes_a_versioned_model_with_the_labels(client, posted, settings, monkeypatch, tmp_path):
    client.post(f"/v1/posts/{posted['soup']}/label", json={"label": "off_topic"})
    monkeypatch.setenv("ZW_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ZW_CLASSIFIER_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    try:
        assert cli.main(["classifier", "train"]) == 0
    finally:
        get_settings.cache_clear()
    [written] = (tmp_path / "models").glob("transparent-*.npz")
    model = ModelStore(backend="transparent", model_dir=tmp_path / "models").current()
    assert model.version == written.stem and model.meta["training"]["human_labels"] == 1
