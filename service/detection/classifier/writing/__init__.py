"""Writes the labelled corpus (data/corpus.jsonl) from hand-written templates and slot values.

Every template, slot value and sentence here was written for this project. A template is
one *group*: its variants share wording, so the held-out split is drawn by group (about one
template in five of every genre) and no near-duplicate of a test post is ever trained on.

Template syntax: `[a|b|c]` picks one alternative (innermost first, so they nest) and
`{slot}` takes a value from SLOTS or from the agency the post is written for.

    python -m service.detection.classifier.writing   # rewrites data/corpus.jsonl
"""
import hashlib
import json
import random
import re
from dataclasses import dataclass

from service.detection.classifier.corpus import CORPUS_PATH

VARIANTS = 9  # posts written from each template
TEST_EVERY = 5  # one template in five of every genre is held out
LENGTHENINGS = (0, 0, 0, 0, 0, 1, 1, 1, 2, 3)  # further sentences a post runs on with
SEED = "zombiewatch-corpus-1"

# (主办单位, 账号, 城市, 区县, 街道或乡镇) — one agency speaks in one post
AGENCIES = [
    ("天津市应急管理局", "天津应急", "天津", "河西区", "友谊路街道"),
    ("天津市市场监督管理委员会", "天津市场监管", "天津", "南开区", "万兴街道"),
    ("天津市蓟州区人民政府", "蓟州发布", "天津", "蓟州区", "渔阳镇"),
    ("天津市公安局和平分局", "平安和平", "天津", "和平区", "小白楼街道"),
    ("福州市公安局", "平安福州", "福州", "鼓楼区", "东街街道"),
    ("厦门市思明区人民政府", "思明发布", "厦门", "思明区", "鹭江街道"),
    ("杭州市卫生健康委员会", "杭州卫健", "杭州", "西湖区", "北山街道"),
    ("南京市人力资源和社会保障局", "南京人社", "南京", "秦淮区", "夫子庙街道"),
    ("成都市交通运输局", "成都交通", "成都", "武侯区", "玉林街道"),
    ("武汉市生态环境局", "武汉生态环境", "武汉", "江汉区", "民族街道"),
    ("国家税务总局长沙市税务局", "长沙税务", "长沙", "岳麓区", "望月湖街道"),
    ("广州市司法局", "广州司法", "广州", "越秀区", "北京街道"),
    ("深圳市南山区人民政府", "南山发布", "深圳", "南山区", "粤海街道"),
    ("昆明市文化和旅游局", "昆明文旅", "昆明", "五华区", "华山街道"),
    ("兰州市城关区人民政府", "城关发布", "兰州", "城关区", "张掖路街道"),
    ("贵阳市气象局", "贵阳气象", "贵阳", "云岩区", "中华中路街道"),
    ("西安市教育局", "西安教育", "西安", "雁塔区", "小寨路街道"),
    ("合肥市医疗保障局", "合肥医保", "合肥", "蜀山区", "三里庵街道"),
    ("济南市住房和城乡建设局", "济南住建", "济南", "历下区", "泉城路街道"),
    ("郑州市消防救援支队", "郑州消防", "郑州", "金水区", "花园路街道"),
    ("沈阳市民政局", "沈阳民政", "沈阳", "和平区", "太原街街道"),
    ("哈尔滨市农业农村局", "哈尔滨农业农村", "哈尔滨", "呼兰区", "康金街道"),
    ("南宁市应急管理局", "南宁应急", "南宁", "青秀区", "新竹街道"),
    ("石家庄市市场监督管理局", "石家庄市场监管", "石家庄", "长安区", "育才街道"),
    ("太原市退役军人事务局", "太原退役军人", "太原", "小店区", "坞城街道"),
    ("呼和浩特市公安局交通管理支队", "呼和浩特交警", "呼和浩特", "新城区", "海拉尔东路街道"),
    ("乌鲁木齐市卫生健康委员会", "乌鲁木齐卫健", "乌鲁木齐", "天山区", "燕儿窝街道"),
    ("海口市水务局", "海口水务", "海口", "龙华区", "滨海街道"),
    ("三亚市旅游和文化广电体育局", "三亚旅文", "三亚", "吉阳区", "榆红社区"),
    ("宁波市鄞州区人民政府", "鄞州发布", "宁波", "鄞州区", "中河街道"),
    ("苏州市公安局", "苏州公安", "苏州", "姑苏区", "平江街道"),
    ("晋江市人民政府", "晋江发布", "泉州", "晋江市", "陈埭镇"),
    ("青岛市城市管理局", "青岛城管", "青岛", "市南区", "八大关街道"),
    ("大连市人民检察院", "大连检察", "大连", "中山区", "青泥洼桥街道"),
    ("重庆市渝中区人民政府", "渝中发布", "重庆", "渝中区", "解放碑街道"),
    ("上海市浦东新区人民政府", "浦东发布", "上海", "浦东新区", "陆家嘴街道"),
    ("北京市朝阳区人民政府", "朝阳发布", "北京", "朝阳区", "三里屯街道"),
    ("泗阳县王集镇人民政府", "美丽王集", "宿迁", "泗阳县", "王集镇"),
    ("尤溪县公安局", "尤溪警察蜀黍", "三明", "尤溪县", "城关镇"),
    ("松溪县司法局", "松溪普法", "南平", "松溪县", "松源街道"),
    ("拉萨市城关区人民政府", "城关区发布", "拉萨", "城关区", "八廓街道"),
    ("银川市兴庆区人民政府", "兴庆发布", "银川", "兴庆区", "凤凰北街街道"),
    ("赣州市章贡区人民政府", "章贡发布", "赣州", "章贡区", "赣江街道"),
    ("丽江市古城区人民政府", "古城区发布", "丽江", "古城区", "大研街道"),
    ("延边州市场监督管理局", "延边市场监管", "延吉", "延吉市", "进学街道"),
    ("黔东南州人民政府", "黔东南发布", "凯里", "凯里市", "大十字街道"),
]  # fmt: skip


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"


def _time(rng: random.Random) -> str:
    return rng.choice(["上午9:00", "上午9:30", "上午10时", "下午2:30", "下午3时", "晚上7:30", "14时", "8:30", "15:00"])


SLOTS = {
    "date": _date,
    "date2": _date,
    "time": _time,
    "n": lambda r: str(r.randint(2, 12)),
    "n2": lambda r: str(r.randint(13, 98)),
    "big": lambda r: str(r.randint(120, 9800)),
    "wan": lambda r: str(r.choice([1.2, 2, 3.5, 5, 8, 12, 20, 36, 50, 120])),
    "pct": lambda r: f"{r.randint(3, 96)}%",
    "money": lambda r: str(r.choice([19.9, 29, 39.9, 68, 99, 128, 199, 299, 399, 688, 1280, 2980])),
    "year": lambda r: r.choice(["2024", "2025", "2026"]),
    "weekday": lambda r: r.choice(["周一", "周二", "周三", "周四", "周五", "周六", "周日"]),
    "phone": lambda r: r.choice(["12345", "12315", "12348", "12366", "12333", "110", "119", "120", "96110", "12319"]),
    "road": lambda r: r.choice(["解放路", "人民路", "中山路", "建设大道", "长江路", "和平路", "新华路", "滨河路", "友谊路", "东风路", "迎宾大道", "学府路"]),
    "village": lambda r: r.choice(["东营村", "李家庄", "下庄村", "石桥村", "新河村", "柳沟村", "杨柳村", "前进村", "白塔村", "枣园村"]),
    "weather": lambda r: r.choice(["暴雨", "大风", "暴雪", "高温", "寒潮", "雷电", "大雾", "冰雹", "道路结冰"]),
    "color": lambda r: r.choice(["蓝色", "黄色", "橙色", "红色"]),
    "season": lambda r: r.choice(["春季", "夏季", "秋季", "冬季", "汛期", "节假日", "开学季", "暑期"]),
    "festival": lambda r: r.choice(["春节", "元宵节", "清明节", "五一", "端午节", "中秋节", "国庆", "元旦"]),
    "person": lambda r: r.choice(["王女士", "李先生", "张阿姨", "刘大爷", "陈同学", "赵先生", "孙女士", "周师傅", "吴大姐", "郑先生"]),
    "star": lambda r: r.choice(["林小北", "周一然", "苏沐晴", "陈嘉禾", "顾南星", "江屿白", "许知夏", "沈亦舟", "宋念念", "唐一鸣"]),
    "show": lambda r: r.choice(["《星光之夜》", "《逐梦少年》", "《心动的夏天》", "《长风渡远》", "《我们的小院》", "《追光吧》", "《云上的日子》"]),
    "sign": lambda r: r.choice(["白羊座", "金牛座", "双子座", "巨蟹座", "狮子座", "处女座", "天秤座", "天蝎座", "射手座", "摩羯座", "水瓶座", "双鱼座"]),
    "sign2": lambda r: r.choice(["白羊座", "金牛座", "双子座", "巨蟹座", "狮子座", "处女座", "天秤座", "天蝎座", "射手座", "摩羯座", "水瓶座", "双鱼座"]),
    "shop": lambda r: r.choice(["悦享生活馆", "鲜果时光", "小满烘焙", "茶语新饮", "佳美家居", "优品眼镜", "同福火锅", "星途驾校", "乐学教育", "美颜皮肤管理中心", "万家福超市", "青柠健身"]),
    "product": lambda r: r.choice(["奶茶", "蛋糕", "按摩椅", "空气炸锅", "护肤套装", "保健茶", "学区房", "课程", "眼镜", "羽绒服", "蜂蜜", "净水器"]),
    "food": lambda r: r.choice(["隔夜菜", "西红柿", "香蕉", "鸡蛋", "绿豆汤", "大蒜", "柠檬水", "红枣", "生姜", "木耳", "酸奶", "螃蟹"]),
    "disease": lambda r: r.choice(["癌症", "高血压", "糖尿病", "结石", "失眠", "脱发", "痛风", "心梗"]),
    "team": lambda r: r.choice(["天津队", "上海队", "北京队", "广州队", "山东队", "浙江队", "四川队", "辽宁队", "江苏队", "成都队"]),
    "team2": lambda r: r.choice(["武汉队", "河南队", "青岛队", "深圳队", "大连队", "长春队", "沧州队", "梅州队", "云南队", "南通队"]),
    "score": lambda r: f"{r.randint(0, 4)}:{r.randint(0, 3)}",
    "country": lambda r: r.choice(["某国", "欧洲某国", "南美某国", "澳大利亚", "美国某州", "日本", "巴西", "英国"]),
    "animal": lambda r: r.choice(["一只柯基", "一只橘猫", "一头野猪", "一只鹦鹉", "一只哈士奇", "一条金毛", "一只熊猫", "一只海豹"]),
    "course": lambda r: r.choice(["公务员考试", "事业单位考试", "教师资格证", "会计职称", "一级建造师", "考研", "专升本", "成人高考"]),
    "emoji": lambda r: r.choice(["🔥", "👉", "📢", "✅", "❗", "😂", "😍", "🌞", "🌙", "💪", "🎉", "🍀", "❤️", "👍", "⚠️", "📍", "☎️", "🌸", "🙏", "✨"]),
}  # fmt: skip

# Endings written by accounts of every kind, on- and off-topic alike: they must teach nothing.
NEUTRAL_TAILS = [
    "点击阅读原文了解详情。", "转发给身边的人吧！", "你怎么看？欢迎评论区留言。", "来源：{acct}", "编辑：{acct}",
    "（{acct}）", "关注{acct}，了解更多。", "欢迎转发。", "戳图了解👇", "一起来看看吧~", "记得收藏！",
    "#{city}身边事#", "#{city}#", "{emoji}{emoji}", "{emoji}", "更多内容请持续关注。", "小编整理，供参考。",
]  # fmt: skip

_CHOICE = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Genre:
    name: str
    label: str  # on_topic or off_topic
    hard: bool  # the hard cases: lively on-topic posts, off-topic posts in official words
    templates: tuple[str, ...]


def render(template: str, rng: random.Random) -> str:
    agency, acct, city, district, street = rng.choice(AGENCIES)
    known = {"agency": agency, "acct": acct, "city": city, "district": district, "street": street}
    text = template
    while (match := _CHOICE.search(text)) is not None:
        text = text[: match.start()] + rng.choice(match.group(1).split("|")) + text[match.end() :]

    def fill(match: re.Match) -> str:
        name = match.group(1)
        return known[name] if name in known else SLOTS[name](rng)

    text = _SLOT.sub(fill, text)
    if rng.random() < 0.3:  # a neutral ending, as real accounts add
        text += _SLOT.sub(fill, rng.choice(NEUTRAL_TAILS))
    return text


def _group_split(genre: str, index: int) -> str:
    # spread the held-out templates over each genre's list, not only its first entries
    offset = int(hashlib.sha1(genre.encode()).hexdigest(), 16) % TEST_EVERY
    return "test" if index % TEST_EVERY == offset else "train"


def write_corpus() -> list[dict]:
    from service.detection.classifier.writing.off_topic import OFF_TOPIC
    from service.detection.classifier.writing.on_topic import ON_TOPIC

    rng = random.Random(SEED)
    rows, seen = [], set()
    for genre in (*ON_TOPIC, *OFF_TOPIC):
        by_split: dict[str, list[str]] = {"train": [], "test": []}
        for index, template in enumerate(genre.templates):
            by_split[_group_split(genre.name, index)].append(template)
        for index, template in enumerate(genre.templates):
            group = f"{genre.name}-{index:02d}"
            split = _group_split(genre.name, index)
            written = 0
            for variant in range(VARIANTS * 3):
                if written == VARIANTS:
                    break
                text = render(template, rng)
                # longer posts run on with more of the same genre — from the same split only
                for _ in range(rng.choice(LENGTHENINGS)):
                    text += rng.choice(["", "\n", " "]) + render(rng.choice(by_split[split]), rng)
                if text in seen:
                    continue  # a template with few slots repeats itself: keep each text once
                seen.add(text)
                written += 1
                rows.append({
                    "id": f"{group}-{variant}", "text": text, "label": genre.label, "genre": genre.name,
                    "group": group, "split": split, "hard": genre.hard,
                })  # fmt: skip
    return rows


def main() -> None:
    rows = write_corpus()
    CORPUS_PATH.parent.mkdir(parents=True, exist_ok=True)
    with CORPUS_PATH.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} posts written to {CORPUS_PATH}")

