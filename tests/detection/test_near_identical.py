"""Where the near-identical threshold comes from (duplicate.near_identical_content).

Two accounts of one unit on one platform that copy each other's posts are one account too many.
The similarity is the Jaccard index of character 5-shingles. This test measures it on posts
written for it: copies with the edits a second account makes (an emoji, a hashtag, a source
line, a shortened ending, other punctuation) and different posts that share a unit's boilerplate
(two weather warnings, two meeting reports, two notices of one template). The setting
`near_identical_similarity` must separate the two groups, with room on both sides."""
from datetime import datetime, timedelta

from service.clock import SHANGHAI
from service.config import Settings
from service.detection.duplicate import jaccard, near_identical_pairs, shingles
from service.detection.facts import PostFacts

POSTS = [
    "【防汛提醒】县气象台7月12日10时发布暴雨橙色预警信号：预计未来6小时内我县北部乡镇将出现50毫米以上强降水，"
    "请广大群众减少外出，远离河道、山塘和地质灾害隐患点，注意防范山洪和城乡积涝。",
    "6月28日上午，县委常委会召开会议，传达学习全省政法工作会议精神，研究部署下半年平安建设、扫黑除恶常态化和"
    "矛盾纠纷排查化解等工作。会议强调，要坚持和发展新时代“枫桥经验”，把矛盾化解在基层。",
    "反诈提醒：近期出现冒充“医保局工作人员”的诈骗电话，以医保卡异常、需要解冻为由，诱导群众下载会议软件并开启屏幕共享。"
    "医保部门不会通过电话要求转账，接到此类电话请立即挂断并拨打96110咨询。",
    "关于2020年端午节放假安排的通知：根据国务院办公厅通知精神，端午节放假时间为6月25日至27日，共3天，6月28日（星期日）上班。"
    "节日期间各办事窗口暂停对外服务，网上办事大厅正常受理。",
    "普法小课堂｜民法典规定，居住权人有权按照合同约定，对他人的住宅享有占有、使用的用益物权，以满足生活居住的需要。"
    "设立居住权，当事人应当采用书面形式订立居住权合同，并向登记机构申请居住权登记。",
    "县人社局2020年公开招聘社区专职工作者公告：招聘岗位共35个，报名时间为7月1日至7月7日，报名方式为网上报名，"
    "报考人员须具有大专及以上学历、年龄在35周岁以下，具体条件详见附件岗位表。",
]


def copies_of(post: str) -> list[str]:
    """What a second account of the same unit posts when it re-posts `post`."""
    return [
        post,
        "🔔" + post + "👍",
        "#平安尤溪# " + post + " 来源：尤溪县公安局",
        post.replace("，", ",").replace("。", ". "),
        post[: int(len(post) * 0.85)] + "……（详见原文）",
        "转自“法润政和”：" + post,
    ]


# Different posts that share a unit's wording: the same template with other facts.
DISTINCT_PAIRS = [
    (POSTS[0], "【防汛提醒】县气象台7月15日16时发布雷电黄色预警信号：预计未来3小时内我县南部将出现雷阵雨并伴有短时大风，"
               "请在户外作业的群众及时到安全场所躲避，切勿在大树下避雨，注意防范雷电灾害。"),
    (POSTS[1], "7月3日下午，县政府常务会议召开，听取上半年经济运行情况汇报，研究部署防汛救灾、安全生产和项目建设等工作。"
               "会议强调，要坚持稳中求进工作总基调，确保完成全年目标任务。"),
    (POSTS[2], "反诈提醒：近期出现冒充“快递客服”的诈骗电话，以快递丢失、需要理赔为由，诱导群众提供银行卡号和验证码。"
               "快递公司不会索要验证码，接到此类电话请立即挂断并拨打96110咨询。"),
    (POSTS[3], "关于2020年中秋节、国庆节放假安排的通知：根据国务院办公厅通知精神，10月1日至8日放假调休，共8天，9月27日（星期日）、"
               "10月10日（星期六）上班。节日期间各办事窗口暂停对外服务，网上办事大厅正常受理。"),
    (POSTS[5], "县卫健局2020年公开招聘乡镇卫生院医务人员公告：招聘岗位共20个，报名时间为7月10日至7月16日，报名方式为现场报名，"
               "报考人员须具有中专及以上学历、取得相应执业资格，具体条件详见附件岗位表。"),
]  # fmt: skip


def similarity(a: str, b: str) -> float:
    return jaccard(shingles(a), shingles(b))


def test_the_configured_threshold_separates_copies_from_different_posts_in_one_template():
    threshold = Settings().near_identical_similarity
    copied = [similarity(post, copy) for post in POSTS for copy in copies_of(post)[1:]]
    distinct = [similarity(a, b) for a, b in DISTINCT_PAIRS]
    distinct += [similarity(a, b) for i, a in enumerate(POSTS) for b in POSTS[i + 1 :]]
    print(f"\ncopies: min {min(copied):.3f}  different posts: max {max(distinct):.3f}  threshold {threshold}")
    # Room on both sides: a copy edited a little more, or a template filled a little less, stays on its side.
    assert min(copied) >= threshold + 0.1
    assert max(distinct) <= threshold - 0.2


def posts_of(account_id: int, texts: list[str], first_id: int) -> list[PostFacts]:
    start = datetime(2020, 6, 1, 9, tzinfo=SHANGHAI)
    return [PostFacts(first_id + i, account_id, f"x{first_id + i}", start + timedelta(hours=i), None, t, None) for i, t in enumerate(texts)]


def test_sketch_candidates_find_every_copied_pair_and_no_different_one():
    threshold = Settings().near_identical_similarity
    originals = posts_of(1, POSTS, first_id=100)
    copies = posts_of(2, [copies_of(p)[2] for p in POSTS], first_id=200)
    templated = posts_of(3, [b for _a, b in DISTINCT_PAIRS], first_id=300)
    pairs = near_identical_pairs(originals + copies + templated, threshold)
    found = {(left.id, right.id) for left, right, _score in pairs}
    assert found == {(100 + i, 200 + i) for i in range(len(POSTS))}
    assert all(score >= threshold for *_posts, score in pairs)


def test_posts_of_one_account_are_never_paired_with_each_other():
    same_account = posts_of(1, [POSTS[0], copies_of(POSTS[0])[1]], first_id=1)
    assert near_identical_pairs(same_account, Settings().near_identical_similarity) == []
