"""Demo activity for the demo registry, generated relative to a monitoring time point so
that a detection run at that point shows what the 2020 bulletins criticised — and nothing
for the accounts they praised. Texts are written for this demo; the generator is seeded,
so a given monitoring time point always yields the same activity."""
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.activity.schemas import InteractionIn, PostIn
from service.activity.service import ingest
from service.demo import handles
from service.registry.models import Account

HISTORY_DAYS = 120  # of posting before each account's last post

TOPICS = [
    "防汛防台风工作部署", "夏季安全生产大检查", "企业开办“一网通办”", "城乡居民医保参保缴费", "垃圾分类进社区",
    "高校毕业生就业服务", "反诈宣传进校园", "文明城市创建", "农村人居环境整治", "政务服务“好差评”",
    "冬季森林防火", "疫苗接种安排", "老旧小区改造", "营商环境优化", "普法宣传月", "道路交通安全提示",
    "技能人才培训补贴", "政府信息公开年报", "重点项目建设推进会", "消费者权益保护",
]
FORMS = [
    "【通知】关于{topic}的通知：请各相关单位按要求做好{topic}相关工作，具体安排见附件（{n}）。",
    "【解读】一图读懂{topic}：哪些人可以办理、怎么办、到哪里办，{name}为您梳理要点（第{n}期）。",
    "【动态】{unit}召开{topic}专题会议，研究部署下一阶段重点任务，要求压实责任、抓好落实（{n}）。",
    "【提醒】{topic}温馨提示：近期请市民朋友关注官方发布的信息，如有疑问请拨打12345热线（{n}）。",
    "【服务】{topic}办事指南更新：材料精简为{n}项，可在政务服务网或“{name}”菜单在线办理。",
    "【公示】{topic}相关事项公示，公示期{n}个工作日，欢迎社会各界监督。",
]
# 心灵鸡汤 and unrelated social news, as the 2020 Tianjin bulletin found on these accounts
OFF_TOPIC = [
    "人生没有白走的路，每一步都算数。早安！",
    "心若向阳，何惧忧伤。愿你被这个世界温柔以待。",
    "【夜读】把日子过成诗，不慌不忙，不急不躁。晚安🌙",
    "送给正在努力的你：所有的坚持，终会开花结果。加油！",
    "外省一小伙求婚现场被前女友“截胡”，视频刷屏，网友直呼比电视剧还精彩。",
    "某地一男子养了一只会说方言的鹦鹉，每天准时叫主人起床，网友笑翻。",
    "今晚某明星演唱会门票秒光，你抢到了吗？",
    "本周星座运势：天蝎座财运亨通，双鱼座注意感情。",
]
QUESTIONS = [
    "请问{topic}什么时候开始办理？", "我的{topic}申请提交一周了还没有消息，请帮忙查一下。",
    "想咨询一下{topic}需要带哪些材料？", "反映一个问题：小区附近{topic}宣传的电话打不通。",
]
REPOSTED = [
    "【普法】民法典宣传月：遇到合同纠纷怎么办？先协商，协商不成可以申请调解，也可以依法向人民法院起诉。（{n}）",
    "【普法】法律援助申请指南：经济困难的群众可以向当地法律援助中心申请免费法律服务，拨打12348咨询。（{n}）",
    "【普法】防范养老诈骗：凡是以高额回报为诱饵的“养老项目”都要提高警惕，不轻信、不转账。（{n}）",
]


@dataclass(frozen=True)
class Profile:
    """How an account behaved up to the monitoring time point."""

    silent_days: int = 1  # days since its last post
    stop_notice: str | None = None  # its last post, a stop-update notice
    overdue_messages: int = 0  # messages left without reply
    off_topic_every: int = 0  # one post in this many is off-topic (0: none)
    reposts: bool = False  # reposts the unit's shared 普法 texts (near-identical content)


PROFILES = {
    # 不按期更新 (Tianjin 2020)
    "binhai_shanglv": Profile(silent_days=20),
    "tianjin_sannong": Profile(silent_days=100),
    "tj_hezuojiaoliu": Profile(silent_days=35),
    # 发布停止更新声明后未及时清理注销 (Guangdong 2020)
    "dgrs_hongmei": Profile(silent_days=40, stop_notice="关于本公众号停止更新的声明：因机构调整，本公众号即日起停止更新，感谢大家一直以来的关注与支持。"),
    "rongcheng_huanbao": Profile(silent_days=60, stop_notice="因机构改革，本公众号将迁移至「揭阳市生态环境局榕城分局」，即日起不再更新，请移步关注。"),
    # 未上报备案且长期不更新 (Guangdong 2020)
    "touzi_shanwei": Profile(silent_days=200),
    "dianbai_zwfw": Profile(silent_days=150),
    # 未对留言做出有效回复 (Jiangsu 2020)
    "jiangsu_jiaoyu_fabu": Profile(overdue_messages=4),
    "jingcai_jiangsu": Profile(overdue_messages=3),
    "jingcaijiangsu": Profile(overdue_messages=5),
    "js_binhai_fabu": Profile(overdue_messages=3),
    "dantu_fabu": Profile(overdue_messages=6),
    "meili_wangji": Profile(overdue_messages=3),
    # 发布与政务无关的社会信息、心灵鸡汤 (Tianjin 2020; flagged once off-topic detection lands)
    "jizhou_fabu": Profile(off_topic_every=6),
    "tianjin_yingji": Profile(off_topic_every=8),
    "tianjin_scjg": Profile(off_topic_every=7),
    "pingan_heping": Profile(off_topic_every=5),
    # two of 松溪县司法局's three WeChat accounts repost the same texts
    "songxi_pufa": Profile(reposts=True),
    "songxi_12348": Profile(reposts=True),
}


def _posts(account: Account, profile: Profile, monitoring_time: datetime, rng: random.Random) -> list[PostIn]:
    last = monitoring_time - timedelta(days=profile.silent_days, hours=rng.randint(1, 8))
    moment, n, posts = last, 0, []
    while moment > last - timedelta(days=HISTORY_DAYS):
        n += 1
        if profile.reposts and n % 2 == 0:
            text = REPOSTED[(n // 2) % len(REPOSTED)].format(n=n // 2)
        elif profile.off_topic_every and n % profile.off_topic_every == 0:
            text = rng.choice(OFF_TOPIC)
        else:
            text = rng.choice(FORMS).format(topic=rng.choice(TOPICS), name=account.name, unit=account.unit.name, n=n)
        posts.append(PostIn(external_id=f"demo-{account.handle}-{n}", published_at=moment, title=text.split("：")[0][:40], text=text))
        # reposting accounts publish the shared texts on the same days
        moment -= timedelta(days=2 if profile.reposts else rng.choice((1, 1, 2, 3)), hours=rng.randint(0, 5))
    if profile.stop_notice:
        posts[0] = PostIn(external_id=f"demo-{account.handle}-notice", published_at=last, title="停止更新声明", text=profile.stop_notice)
    return posts


def _messages(account: Account, profile: Profile, monitoring_time: datetime, rng: random.Random) -> list[InteractionIn]:
    messages = []
    for n in range(1, 13):  # answered within a day, as it should be
        received = monitoring_time - timedelta(days=10 * n, hours=rng.randint(0, 12))
        replied = received + timedelta(hours=rng.randint(2, 20))
        text = rng.choice(QUESTIONS).format(topic=rng.choice(TOPICS))
        messages.append(InteractionIn(external_id=f"demo-{account.handle}-m{n}", received_at=received, replied_at=replied, text=text))
    for n in range(1, profile.overdue_messages + 1):  # still waiting, weeks later
        received = monitoring_time - timedelta(days=14 + 6 * n, hours=rng.randint(0, 12))
        text = rng.choice(QUESTIONS).format(topic=rng.choice(TOPICS))
        messages.append(InteractionIn(external_id=f"demo-{account.handle}-w{n}", received_at=received, replied_at=None, text=text))
    return messages


def load_activity(*, session: Session, monitoring_time: datetime) -> int:
    """Posts and messages of every demo account as of `monitoring_time`; returns the posts written."""
    written = 0
    for account in session.scalars(select(Account).where(Account.handle.in_(handles())).order_by(Account.id)):
        profile = PROFILES.get(account.handle, Profile())
        rng = random.Random(f"{account.handle}:{monitoring_time.date()}")
        posts = _posts(account, profile, monitoring_time, rng)
        result = ingest(session=session, account=account, posts=posts, interactions=_messages(account, profile, monitoring_time, rng))
        written += result.posts.inserted + result.posts.updated
    return written
