from datetime import datetime, timezone

import pytest

from tests import factories


@pytest.fixture
def account(client):
    unit = factories.unit(client, "江苏省教育厅", "320000")
    return factories.account(client, unit["id"], "jiangsu_jiaoyu", platform="weibo", name="江苏教育发布")


def push(client, account_id, **body):
    return client.post(f"/v1/accounts/{account_id}/activity", json=body)


POSTS = [
    {"external_id": "w1", "published_at": "2020-06-01T09:30:00", "title": "高考报名须知", "text": "考生请注意……", "url": "https://weibo.com/1/w1"},
    {"external_id": "w2", "published_at": "2020-06-02T10:00:00+08:00", "text": "今日教育要闻"},
]
MESSAGES = [
    {"external_id": "m1", "received_at": "2020-06-01T12:00:00", "replied_at": None, "text": "请问报名截止时间？"},
    {"external_id": "m2", "received_at": "2020-06-01T13:00:00", "replied_at": "2020-06-02T09:00:00", "text": "谢谢"},
]


def test_a_push_stores_posts_and_messages_and_moves_last_post_at(client, account):
    response = push(client, account["id"], posts=POSTS, interactions=MESSAGES)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["posts"] == {"inserted": 2, "updated": 0, "unchanged": 0}
    assert result["interactions"] == {"inserted": 2, "updated": 0, "unchanged": 0}
    assert result["last_post_at"] == "2020-06-02T10:00:00+08:00"
    assert client.get(f"/v1/accounts/{account['id']}").json()["last_post_at"] == "2020-06-02T10:00:00+08:00"


def test_the_same_batch_twice_changes_nothing(client, account, session):
    push(client, account["id"], posts=POSTS, interactions=MESSAGES)
    again = push(client, account["id"], posts=POSTS, interactions=MESSAGES).json()
    assert again["posts"] == {"inserted": 0, "updated": 0, "unchanged": 2}
    assert again["interactions"] == {"inserted": 0, "updated": 0, "unchanged": 2}
    from sqlalchemy import func, select

    from service.activity.models import Interaction, Post

    assert session.scalar(select(func.count()).select_from(Post)) == 2
    assert session.scalar(select(func.count()).select_from(Interaction)) == 2


def test_an_edited_post_and_a_late_reply_are_updated(client, account, session):
    push(client, account["id"], posts=POSTS, interactions=MESSAGES)
    edited = [{**POSTS[0], "text": "考生请注意：报名时间调整"}, POSTS[1]]
    replied = [{**MESSAGES[0], "replied_at": "2020-06-03T08:00:00+08:00"}]
    result = push(client, account["id"], posts=edited, interactions=replied).json()
    assert result["posts"] == {"inserted": 0, "updated": 1, "unchanged": 1}
    assert result["interactions"] == {"inserted": 0, "updated": 1, "unchanged": 0}
    from sqlalchemy import select

    from service.activity.models import Interaction, Post

    assert session.scalar(select(Post.text).where(Post.external_id == "w1")) == "考生请注意：报名时间调整"
    reply = session.scalar(select(Interaction.replied_at).where(Interaction.external_id == "m1"))
    assert reply == datetime(2020, 6, 3, 0, 0, tzinfo=timezone.utc)


def test_a_naive_time_is_beijing_time_and_an_offset_keeps_its_instant(client, account, session):
    posts = [
        {"external_id": "naive", "published_at": "2020-06-01T08:00:00"},
        {"external_id": "utc", "published_at": "2020-06-01T08:00:00Z"},
        {"external_id": "tokyo", "published_at": "2020-06-01T08:00:00+09:00"},
    ]
    push(client, account["id"], posts=posts)
    from sqlalchemy import select

    from service.activity.models import Post

    stored = dict(session.execute(select(Post.external_id, Post.published_at)).all())
    assert stored["naive"] == datetime(2020, 6, 1, 0, 0, tzinfo=timezone.utc)
    assert stored["utc"] == datetime(2020, 6, 1, 8, 0, tzinfo=timezone.utc)
    assert stored["tokyo"] == datetime(2020, 5, 31, 23, 0, tzinfo=timezone.utc)
    # the latest instant is the UTC one: 16:00 in Beijing
    assert client.get(f"/v1/accounts/{account['id']}").json()["last_post_at"] == "2020-06-01T16:00:00+08:00"


def test_moving_a_post_back_in_time_moves_last_post_at_back(client, account):
    push(client, account["id"], posts=POSTS)
    result = push(client, account["id"], posts=[{**POSTS[1], "published_at": "2020-05-01T10:00:00"}]).json()
    assert result["last_post_at"] == "2020-06-01T09:30:00+08:00"


def test_a_late_reply_alone_marks_the_account_for_detection_and_keeps_its_last_post(client, account, session):
    from sqlalchemy import update

    from service.registry.models import Account

    push(client, account["id"], posts=POSTS, interactions=MESSAGES)
    session.execute(update(Account).values(activity_changed_at=None))  # as if detection had seen it
    session.commit()
    replied = [{**MESSAGES[0], "replied_at": "2020-06-03T08:00:00+08:00"}]
    result = push(client, account["id"], interactions=replied).json()
    assert result["interactions"] == {"inserted": 0, "updated": 1, "unchanged": 0}
    assert result["last_post_at"] == "2020-06-02T10:00:00+08:00"
    session.expire_all()
    stored = session.get(Account, account["id"])
    assert stored.activity_changed_at is not None
    assert stored.last_post_at == datetime(2020, 6, 2, 2, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"posts": [POSTS[0], POSTS[0]]}, "external_id 重复"),
        ({"posts": [{"external_id": "x", "published_at": "昨天"}]}, "posts[0].published_at"),
        ({"posts": [{"external_id": "", "published_at": "2020-06-01T00:00:00"}]}, "posts[0].external_id"),
        ({"interactions": [{"external_id": "m", "received_at": "2020-06-02T00:00:00", "replied_at": "2020-06-01T00:00:00"}]}, "回复不能早于留言"),
        ({"posts": [{"external_id": "x", "published_at": "2020-06-01T00:00:00", "likes": 3}]}, "不允许的字段"),
    ],
)
def test_a_bad_batch_is_refused_whole_and_writes_nothing(client, account, body, reason):
    response = push(client, account["id"], posts=body.get("posts", []) + [POSTS[1]], interactions=body.get("interactions", []))
    assert response.status_code == 422
    assert reason in response.json()["detail"]
    assert client.get(f"/v1/accounts/{account['id']}").json()["last_post_at"] is None


def test_a_push_to_an_unknown_account_is_a_404(client):
    assert push(client, 31337, posts=POSTS).status_code == 404


def test_a_push_larger_than_the_limit_is_refused(client, account, app):
    app.state.settings.push_max_items = 1
    response = push(client, account["id"], posts=POSTS)
    assert response.status_code == 413
    assert "分批" in response.json()["detail"]
