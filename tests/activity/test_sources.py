"""The rss and json sources against remote behaviour mocked with respx: formats, conditional
GET, broken and hostile feeds, limits, redirects and charsets."""
import asyncio
import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import respx

from service.activity.sources import Previous, SourceError
from service.activity.sources import json as json_source
from service.activity.sources import rss
from service.activity.sources.http import Fetcher
from service.config import Settings

FEEDS = Path(__file__).parent / "feeds"
URL = "https://rsshub.example.gov.cn/weibo/user/2614532121"
BEIJING = timezone(timedelta(hours=8))


def feed(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def run(coroutine):
    return asyncio.run(coroutine)


async def fetch_rss(url: str = URL, previous: Previous = Previous(), **settings):
    async with Fetcher(settings=Settings(**settings)) as fetcher:
        return (await rss.fetch(fetcher=fetcher, url=url, previous=previous)).parsed()


async def fetch_json(url: str, previous: Previous = Previous(), **settings):
    async with Fetcher(settings=Settings(**settings)) as fetcher:
        return await json_source.fetch(fetcher=fetcher, url=url, previous=previous)


def source_error(coroutine) -> SourceError:
    with pytest.raises(SourceError) as caught:
        run(coroutine)
    return caught.value


# ---------------------------------------------------------------- formats


@respx.mock
def test_an_rsshub_weibo_feed_becomes_posts_with_plain_text_and_beijing_times():
    respx.get(URL).respond(200, content=feed("weibo_rss2.xml"), headers={"Content-Type": "application/rss+xml; charset=utf-8"})
    fetched = run(fetch_rss())
    assert [p.external_id for p in fetched.posts] == [
        "https://weibo.com/2614532121/J5nX8bCdE", "https://weibo.com/2614532121/J5mA1aBcD", "https://weibo.com/2614532121/J5kZ9zYxW",
    ]  # fmt: skip
    first = fetched.posts[0]
    assert first.published_at == datetime(2020, 6, 2, 10, 30, tzinfo=BEIJING)  # 02:30 GMT
    assert first.title.startswith("【高考报名须知】")
    assert "<" not in first.text and "请登录江苏省教育考试院网站报名。" in first.text
    assert "报名时间为6月3日至6月10日； 2." in first.text  # <br> keeps the lines apart
    assert first.url == "https://weibo.com/2614532121/J5nX8bCdE"
    # an offset written in the feed is kept as that instant
    assert fetched.posts[1].published_at.utcoffset() == timedelta(hours=8)
    assert fetched.posts[1].published_at.hour == 9


@respx.mock
def test_an_atom_feed_of_a_wechat_account_reads_ids_published_times_and_html_titles():
    respx.get(URL).respond(200, content=feed("wechat_atom.xml"), headers={"Content-Type": "application/atom+xml"})
    posts = run(fetch_rss()).posts
    assert [p.external_id for p in posts] == ["https://mp.weixin.qq.com/s/AbCdEf123456", "https://mp.weixin.qq.com/s/ZyXwVu987654"]
    assert posts[0].title == "天津市开展“清朗”专项行动 & 网络生态治理"
    assert posts[0].published_at == datetime(2020, 6, 2, 15, 30, tzinfo=BEIJING)  # published, not updated
    assert posts[0].text.startswith("为营造清朗网络空间")
    assert posts[1].published_at == datetime(2020, 6, 1, 2, 0, tzinfo=timezone.utc)  # only updated given
    assert posts[1].text == "个人信息保护 从我做起"


def test_an_rss_1_0_government_feed_with_a_naive_dc_date_is_read_as_beijing_time():
    [post] = rss.parse_feed(feed("gov_rss1.rdf"))
    assert post.external_id == "http://www.fujian.gov.cn/zwgk/202006/t20200601_5283.htm"
    assert post.published_at == datetime(2020, 6, 1, 10, 0, tzinfo=BEIJING)
    assert post.title == "福建省人民政府办公厅关于做好政务新媒体检查工作的通知"


@pytest.mark.parametrize("name", ["weibo_rss2.xml", "wechat_atom.xml", "gov_rss1.rdf"])
def test_the_fast_parser_agrees_with_feedparser_on_every_fixture(name):
    fast = rss.parse_fast(feed(name))
    lenient = rss.parse_lenient(feed(name))
    assert [(p.external_id, p.published_at, p.title, p.url) for p in fast] == [(p.external_id, p.published_at, p.title, p.url) for p in lenient]
    assert [p.text.replace(" ", "") for p in fast] == [p.text.replace(" ", "") for p in lenient]


def test_repeated_guids_keep_the_first_entry_and_undated_entries_are_skipped():
    document = """<rss version="2.0"><channel><title>平安天津</title>
      <item><guid>a</guid><title>新的</title><pubDate>Tue, 02 Jun 2020 10:00:00 +0800</pubDate></item>
      <item><guid>a</guid><title>旧的</title><pubDate>Mon, 01 Jun 2020 10:00:00 +0800</pubDate></item>
      <item><guid>b</guid><title>没有日期</title></item></channel></rss>""".encode()
    posts = rss.parse_feed(document)
    assert [(p.external_id, p.title) for p in posts] == [("a", "新的")]


def test_a_feed_with_unescaped_ampersands_is_read_by_the_lenient_parser():
    document = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>天津三农</title>
      <item><guid>x1</guid><title>农业 & 农村工作会议</title><link>http://example.gov.cn/a?x=1&y=2</link>
      <pubDate>Tue, 02 Jun 2020 10:00:00 +0800</pubDate></item></channel></rss>""".encode()
    assert rss.parse_fast(document) is None  # not well-formed
    [post] = rss.parse_feed(document)
    assert post.title == "农业 & 农村工作会议"


# ---------------------------------------------------------------- conditional GET


@respx.mock
def test_validators_are_sent_back_and_304_means_nothing_new():
    route = respx.get(URL)
    route.side_effect = [
        httpx.Response(200, content=feed("weibo_rss2.xml"), headers={"ETag": 'W/"abc"', "Last-Modified": "Tue, 02 Jun 2020 03:05:11 GMT"}),
        httpx.Response(304),
    ]
    first = run(fetch_rss())
    assert (first.etag, first.last_modified) == ('W/"abc"', "Tue, 02 Jun 2020 03:05:11 GMT")
    assert "if-none-match" not in route.calls[0].request.headers
    second = run(fetch_rss(previous=Previous(etag=first.etag, last_modified=first.last_modified)))
    sent = route.calls[1].request.headers
    assert sent["if-none-match"] == 'W/"abc"'
    assert sent["if-modified-since"] == "Tue, 02 Jun 2020 03:05:11 GMT"
    assert second.not_modified and second.posts == [] and second.etag == 'W/"abc"'
    assert sent["user-agent"].startswith("zombiewatch/")


@respx.mock
def test_a_gzip_answer_is_decoded():
    respx.get(URL).respond(200, content=gzip.compress(feed("weibo_rss2.xml")), headers={"Content-Encoding": "gzip"})
    assert len(run(fetch_rss()).posts) == 3


# ---------------------------------------------------------------- broken and hostile feeds


@respx.mock
def test_malformed_xml_is_a_source_error_in_chinese():
    respx.get(URL).respond(200, content=b"<rss><channel><item><title>\x00\x01</tit", headers={"Content-Type": "text/xml"})
    error = source_error(fetch_rss())
    assert "不是有效的 RSS/Atom" in error.message


@respx.mock
def test_an_html_page_is_not_a_feed():
    respx.get(URL).respond(200, content="<html><body><h1>网站维护中</h1></body></html>".encode(), headers={"Content-Type": "text/html"})
    assert "RSS" in source_error(fetch_rss()).message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><item><guid>x</guid><title>&lol4;</title><pubDate>Tue, 02 Jun 2020 10:00:00 +0800</pubDate></item></channel></rss>"""


@respx.mock
def test_an_xml_bomb_is_refused_without_expanding_it():
    respx.get(URL).respond(200, content=BILLION_LAUGHS)
    assert "XML 实体" in source_error(fetch_rss()).message


def test_an_external_entity_is_refused_too():
    document = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
    <rss version="2.0"><channel><item><guid>x</guid><title>&xxe;</title></item></channel></rss>"""
    with pytest.raises(SourceError, match="XML 实体"):
        rss.parse_feed(document)


@respx.mock
def test_a_response_over_the_size_cap_is_cut_off_and_recorded_as_an_error():
    big = b"<rss>" + b" " * 2048 + b"</rss>"
    respx.get(URL).respond(200, content=big)  # respx sends a Content-Length
    assert "上限" in source_error(fetch_rss(poll_max_bytes=1024)).message


@respx.mock
def test_a_streamed_response_without_length_is_cut_off_at_the_cap():
    async def chunks():
        for _ in range(100):
            yield b"x" * 512

    respx.get(URL).mock(return_value=httpx.Response(200, content=chunks()))
    error = source_error(fetch_rss(poll_max_bytes=4096))
    assert "已中止读取" in error.message


@respx.mock
def test_a_timeout_is_a_source_error():
    respx.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    assert "超时" in source_error(fetch_rss()).message
    respx.get(URL).mock(side_effect=httpx.ConnectTimeout("no answer"))
    assert "连接数据源超时" in source_error(fetch_rss()).message


@respx.mock
def test_a_connection_refused_is_a_source_error():
    respx.get(URL).mock(side_effect=httpx.ConnectError("refused"))
    assert "无法连接" in source_error(fetch_rss()).message


@respx.mock
def test_404_and_410_are_source_errors_and_410_says_the_source_is_gone():
    respx.get(URL).respond(404)
    not_found = source_error(fetch_rss())
    assert not_found.status_code == 404 and "404" in not_found.message and not not_found.gone
    respx.get(URL).respond(410)
    gone = source_error(fetch_rss())
    assert gone.gone and "永久删除" in gone.message


@respx.mock
def test_429_carries_retry_after():
    respx.get(URL).respond(429, headers={"Retry-After": "120"})
    error = source_error(fetch_rss())
    assert error.retry_after_seconds == 120 and "限流" in error.message


@respx.mock
def test_a_redirect_is_followed_and_a_redirect_loop_is_stopped():
    moved = "https://rsshub.example.gov.cn/new"
    respx.get(URL).respond(301, headers={"Location": "/new"})
    respx.get(moved).respond(200, content=feed("weibo_rss2.xml"))
    assert len(run(fetch_rss()).posts) == 3

    loop = "https://loop.example.gov.cn/a"
    route = respx.get(loop).respond(302, headers={"Location": loop})
    error = source_error(fetch_rss(url=loop))
    assert "重定向超过 5 次" in error.message
    assert route.call_count == 6  # the first request and five redirects, then it stops


@respx.mock
def test_a_redirect_to_another_scheme_is_not_followed():
    respx.get(URL).respond(302, headers={"Location": "file:///etc/passwd"})
    assert "只跟随 http 和 https" in source_error(fetch_rss()).message


GBK_FEED = """<rss version="2.0"><channel><title>蓟州发布</title><item><guid>jz1</guid>
<title>蓟州区召开疫情防控工作部署会</title><description>会议强调，要坚决落实“四早”要求。</description>
<pubDate>Tue, 02 Jun 2020 10:00:00 +0800</pubDate></item></channel></rss>"""


@respx.mock
def test_gbk_bytes_labelled_utf_8_are_still_read_as_chinese():
    body = ('<?xml version="1.0" encoding="utf-8"?>' + GBK_FEED).encode("gbk")
    respx.get(URL).respond(200, content=body, headers={"Content-Type": "text/xml; charset=utf-8"})
    [post] = run(fetch_rss()).posts
    assert post.title == "蓟州区召开疫情防控工作部署会"


@respx.mock
def test_a_feed_declared_gb2312_with_gbk_only_characters_is_read():
    # 镕 is in GBK but not in GB2312: sites say gb2312 and mean GBK
    body = ('<?xml version="1.0" encoding="gb2312"?>' + GBK_FEED.replace("蓟州发布", "镕城发布")).encode("gbk")
    respx.get(URL).respond(200, content=body, headers={"Content-Type": "text/xml"})
    [post] = run(fetch_rss()).posts
    assert post.text == "会议强调，要坚决落实“四早”要求。"


@respx.mock
def test_undeclared_gbk_follows_the_http_charset():
    respx.get(URL).respond(200, content=GBK_FEED.encode("gbk"), headers={"Content-Type": "application/xml; charset=GBK"})
    assert run(fetch_rss()).posts[0].title == "蓟州区召开疫情防控工作部署会"


# ---------------------------------------------------------------- the json source

CONTRACT = json.loads((Path(__file__).parents[2] / "openapi" / "activity-source.json").read_text(encoding="utf-8"))
API = "https://zwfw.example.gov.cn/api/accounts/jsjy/activity"


def contract_example(name: str) -> dict:
    return CONTRACT["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]["examples"][name]["value"]


def test_the_contract_names_the_fields_the_client_reads():
    schemas = CONTRACT["components"]["schemas"]
    assert set(schemas["ActivityPage"]["properties"]) == set(json_source.ActivityPage.model_fields)
    assert set(schemas["Post"]["properties"]) == set(json_source.SourcePost.model_fields)
    assert set(schemas["Interaction"]["properties"]) == set(json_source.SourceInteraction.model_fields)
    for name, model in (("Post", json_source.SourcePost), ("Interaction", json_source.SourceInteraction)):
        required = {field for field, info in model.model_fields.items() if info.is_required()}
        assert set(schemas[name]["required"]) == required


@respx.mock
def test_the_json_client_pages_through_the_contract_examples_and_keeps_next_since():
    route = respx.get(url__startswith=API)
    route.side_effect = [httpx.Response(200, json=contract_example("first_page")), httpx.Response(200, json=contract_example("last_page"))]
    fetched = run(fetch_json(API + "?token=t1", previous=Previous(since="2020-05-31T00:00:00+08:00")))
    first, second = (call.request.url for call in route.calls)
    assert first.params["since"] == "2020-05-31T00:00:00+08:00" and first.params["token"] == "t1"
    assert second.params["since"] == "2020-06-02T10:00:00+08:00" and second.params["token"] == "t1"
    assert [p.external_id for p in fetched.posts] == ["w1", "w2"]
    [message] = fetched.interactions
    assert message.replied_at == datetime(2020, 6, 3, 8, 0, tzinfo=BEIJING)  # the later page's state wins
    assert fetched.since == "2020-06-03T08:00:00+08:00"
    assert fetched.posts[1].published_at == datetime(2020, 6, 2, 10, 0, tzinfo=BEIJING)  # naive: Beijing


@respx.mock
def test_the_first_json_poll_sends_no_since_and_unknown_fields_are_ignored():
    route = respx.get(API).respond(200, json={"posts": [{"external_id": "p1", "published_at": "2020-06-01T08:00:00Z", "likes": 3}], "cursor_hint": 1})
    fetched = run(fetch_json(API))
    assert "since" not in route.calls[0].request.url.params
    assert fetched.posts[0].external_id == "p1" and fetched.since is None


@respx.mock
def test_a_json_answer_that_breaks_the_contract_is_a_source_error_naming_the_field():
    respx.get(API).respond(200, json={"posts": [{"external_id": "p1"}]})
    error = source_error(fetch_json(API))
    assert "posts.0.published_at" in error.message and "不符合约定" in error.message
    respx.get(API).respond(200, content=b"<html>")
    assert "不是有效的 JSON" in source_error(fetch_json(API)).message


@respx.mock
def test_a_json_source_that_never_stops_paging_is_read_up_to_the_page_limit():
    pages = iter(range(1000))

    def page(_request):
        n = next(pages)
        return httpx.Response(200, json={"posts": [{"external_id": f"p{n}", "published_at": "2020-06-01T08:00:00+08:00"}], "next_since": f"2020-06-01T08:00:{n % 60:02d}+08:00", "has_more": True})

    route = respx.get(url__startswith=API).mock(side_effect=page)
    fetched = run(fetch_json(API, poll_json_max_pages=3))
    assert route.call_count == 3 and len(fetched.posts) == 3


def test_block_tags_separate_words_and_inline_tags_do_not_in_a_description():
    text = rss.plain_text('<P>通知</P><pre>附件</pre><strong>防汛</strong>工作<BR/>第二行<a href="x">链接</a><!-- 注释 --><img src="y">图&amp;文')
    assert text == "通知 附件 防汛工作 第二行链接 图&文"


def test_entries_written_with_one_offset_keep_it_and_other_offsets_keep_theirs():
    assert rss.parse_time("Tue, 30 Jun 2020 18:00:00 +0800").utcoffset() == timedelta(hours=8)
    assert rss.parse_time("Tue, 30 Jun 2020 18:00:00 -0530").utcoffset() == -timedelta(hours=5, minutes=30)
    assert rss.parse_time("Tue, 30 Jun 2020 18:00:00 +0800") == datetime(2020, 6, 30, 10, tzinfo=timezone.utc)
