"""发布停止更新声明后未及时清理注销: recognising the stop notice in one post.

Each case is a post as an account publishes it (title, text). The must-match list is what bulletins
mean by 停更声明; the must-not list is what a government account posts every day with the same words."""
import json
import re
from importlib import resources

import pytest

from service.detection.stop_notice import StopNotice, find_stop_notice, sql_prefilter_phrases

MUST_MATCH = [
    pytest.param("关于本公众号停止更新的声明", "", id="title-only notice of a WeChat account"),
    pytest.param(None, "本号即日起停更，感谢关注", id="stops from today"),
    pytest.param(None, "因机构改革，本账号将迁移至「揭阳榕城发布」，请移步关注", id="moves after institutional reform"),
    pytest.param(None, "本微博不再更新，相关信息请关注@东莞人社", id="Weibo no longer updated"),
    pytest.param(None, "本公众号已合并至“东莞人社”", id="merged into the bureau's account"),
    pytest.param(None, "本订阅号即将注销，感谢大家一直以来的支持", id="subscription account about to be closed"),
    pytest.param(None, "本公众号自２０２０年１月１日起停止更新！", id="full-width digits and punctuation"),
    pytest.param("關於 本 公眾號 停止更新 的 聲明", "", id="traditional title spaced out"),
    pytest.param(None, "本帳號即日起停止運營，感謝各位長期以來的關注與支持。", id="traditional, Taiwan spelling 帳號"),
    pytest.param(None, "本 号 即 日 起 停 更", id="every character spaced"),
    pytest.param("停更声明", "感谢一路相伴。", id="bare standalone title"),
    pytest.param("账号迁移公告", "各位粉丝：新账号为「洪梅发布」，欢迎关注。", id="account migration announcement"),
    pytest.param(None, "根据机构改革工作安排，本服务号将于2019年3月31日停止运营。", id="service account stops operating"),
    pytest.param(None, "因系统整合，本头条号停止发布信息。", id="another subject earlier in the sentence"),
    pytest.param(None, "鉴于本局职能已划转，本账号不再维护，将予以注销。", id="functions transferred, account closed"),
    pytest.param(None, "本号停止更新后，相关政务信息将在「洪梅发布」持续更新，敬请关注。", id="updates continue elsewhere"),
    pytest.param(None, "温馨提示：本抖音号即将停止更新，请关注新账号", id="Douyin account"),
    pytest.param(None, "该账号已迁至「天津发布」，本页面信息仅供查阅", id="该账号 moved"),
    pytest.param(None, "经研究决定，即日起停止更新本公众号。", id="the account named after the verb"),
    pytest.param(None, "特此声明：本公众号暂停更新。", id="suspended"),
    pytest.param(None, "本賬號將遷移至「南沙發佈」，敬請關注", id="Hong Kong spelling 賬號"),
    pytest.param(None, "本公众号将于2020年12月31日注销，届时将无法查看历史消息", id="closing date announced"),
    pytest.param("致广大粉丝的一封信", "多年来承蒙厚爱。\n本 微 博 将 于 近 日 正 式 关 停。\n再见！", id="notice in the middle of a letter"),
]

MUST_NOT_MATCH = [
    pytest.param(None, "受台风影响，部分公交线路停止运营", id="bus lines stop"),
    pytest.param(None, "本号提醒：受台风影响，地铁3号线部分线路停止运营", id="account reports a metro line stopping"),
    pytest.param(None, "疫情数据暂停更新一天", id="data paused"),
    pytest.param(None, "本平台发布的疫情数据暂停更新一天", id="account's data paused"),
    pytest.param(None, "旧版客户端将于6月30日停止更新，请升级", id="old client version"),
    pytest.param("关于东莞市某某贸易有限公司即将注销的公告", "", id="company deregistration notice"),
    pytest.param(None, "医保系统暂停更新维护", id="insurance system maintenance"),
    pytest.param(None, "本号将持续更新防汛信息", id="keeps updating"),
    pytest.param("关于做好2020年防汛工作的通知", "各单位要加强值班值守，及时报送汛情信息。", id="ordinary notice"),
    pytest.param(None, "热播剧《山海情》宣布停更一周，网友热议", id="TV show pauses"),
    pytest.param(None, "本号转载：某网络小说作者发布停更声明，读者纷纷留言", id="novelist's stop notice reposted"),
    pytest.param(None, "本号恢复更新啦，感谢大家的耐心等待", id="resumes updating"),
    pytest.param(None, "本号国庆期间暂停更新，10月8日恢复更新", id="holiday pause"),
    pytest.param(None, "本号不会停更，请大家放心", id="denies stopping"),
    pytest.param(None, "网传本号即将停更，系谣言", id="rumour denied"),
    pytest.param(None, "本公众号「每日一练」栏目即日起停止更新", id="one column stops"),
    pytest.param(None, "本号讯：受台风影响，轮渡停止运营", id="news item about ferries"),
    pytest.param(
        None,
        "通报指出，榕城区环境保护局等账号存在发布停止更新声明后未及时清理注销的问题",
        id="quoting a bulletin about other accounts",
    ),
    pytest.param(None, "本号提醒：企业可在线申请注销", id="enterprise deregistration service"),
    pytest.param(None, "本平台12345服务热线将于今晚停止运行两小时", id="hotline maintenance"),
    pytest.param(None, "本号即日起停止更新「每日一练」栏目", id="a column named after the verb"),
    pytest.param(None, "本号将停止更新防汛专题，转入日常信息发布", id="a special topic ends"),
    pytest.param(None, "本号不再发布商业广告", id="no more advertising"),
    pytest.param(None, "本号教你如何注销手机号", id="how-to about closing a phone number"),
    pytest.param(None, "", id="empty post"),
]


@pytest.mark.parametrize(("title", "text"), MUST_MATCH)
def test_a_post_announcing_the_account_stops_is_a_stop_notice(title, text):
    assert find_stop_notice(title, text) is not None


@pytest.mark.parametrize(("title", "text"), MUST_NOT_MATCH)
def test_a_post_about_something_else_stopping_is_not_a_stop_notice(title, text):
    assert find_stop_notice(title, text) is None


def test_the_evidence_is_the_sentence_that_holds_the_phrase():
    text = "各位读者：\n感谢多年来的关注与支持！因机构改革，本账号将迁移至「揭阳榕城发布」，请移步关注。祝好"

    assert find_stop_notice(None, text) == StopNotice(
        phrase="迁移至", sentence="因机构改革，本账号将迁移至「揭阳榕城发布」，请移步关注"
    )


def test_the_evidence_quotes_the_sentence_as_written_and_names_the_phrase_as_listed():
    notice = find_stop_notice(None, "本帳號即日起停止運營，感謝各位長期以來的關注與支持。")

    assert notice == StopNotice(phrase="停止运营", sentence="本帳號即日起停止運營，感謝各位長期以來的關注與支持")


def test_a_title_only_notice_is_quoted_from_the_title():
    notice = find_stop_notice("关于本公众号停止更新的声明", "感谢一路相伴。")

    assert notice == StopNotice(phrase="停止更新的声明", sentence="关于本公众号停止更新的声明")


def test_a_long_sentence_is_cut_around_the_phrase_to_120_characters():
    reasons = "根据上级关于政务新媒体规范整合的统一部署和要求，结合我局机构职能调整和人员变动的实际情况，" * 3
    text = f"{reasons}经研究，本公众号自2020年6月1日起停止更新，{reasons}"

    notice = find_stop_notice(None, text)

    assert notice is not None and notice.phrase == "停止更新"
    assert len(notice.sentence) <= 120
    assert "本公众号自2020年6月1日起停止更新" in notice.sentence


def _prefilter_sees(title: str | None, text: str) -> bool:
    # What the caller's SQL compares: replace(text, ' ', '') LIKE '%' || phrase || '%'.
    post = re.sub(r"\s", "", f"{title or ''}\n{text}")
    return any(phrase in post for phrase in sql_prefilter_phrases())


@pytest.mark.parametrize(("title", "text"), MUST_MATCH)
def test_every_stop_notice_passes_the_sql_prefilter(title, text):
    assert _prefilter_sees(title, text)


def test_the_sql_prefilter_is_short_and_has_no_redundant_phrase():
    phrases = sql_prefilter_phrases()

    assert "停更" in phrases and "停更声明" not in phrases  # LIKE '%停更%' already finds 停更声明
    assert "停止運營" in phrases  # traditional spellings are stored as written
    assert not any(p != q and p in q for p in phrases for q in phrases)


def _listed_phrases(node) -> list[str]:
    if isinstance(node, dict):
        return [p for key, value in node.items() if key != "traditional_to_simplified" for p in _listed_phrases(value)]
    return node if isinstance(node, list) else []


def test_every_listed_phrase_reads_the_same_in_traditional_characters():
    """The folding table covers every list: 停止運營, 帳號 and 賬號 read as 停止运营 and 账号."""
    opencc = pytest.importorskip("opencc")
    data = json.loads(resources.files("service.detection").joinpath("data/stop_notice.json").read_text("utf-8"))
    to_simplified = str.maketrans(data["traditional_to_simplified"]["characters"])
    phrases = _listed_phrases(data)
    assert len(phrases) > 150

    for config in ("s2t", "s2tw", "s2hk"):
        converter = opencc.OpenCC(config)
        for phrase in phrases:
            assert converter.convert(phrase).translate(to_simplified) == phrase, (config, phrase)
