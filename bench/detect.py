"""Detection benchmark (issue 7): a synthetic registry, a full run, an incremental run after 1% of
the accounts change, and a second full run for the steady state.

    .venv/bin/python bench/detect.py                                  # 100,000 accounts, 5,000,000 rows, both databases
    .venv/bin/python bench/detect.py --accounts 10000 --rows 500000 --database sqlite
    .venv/bin/python bench/detect.py --database postgresql --profile /tmp/zw-prof --keep

What it builds (relative to the time it starts, so that `as_of` = now sees a realistic picture):
- units (accounts / 4) under ~3,000 six-digit region codes in every mainland province, a few listed twice
  under another spelling (and no credit code), as real registries do;
- accounts spread over every platform, some units with two or three accounts on one platform, ~3% not
  filed, ~3% suspended, ~3% closed, ~3% entered in the last 20 days;
- posts (80% of --rows) and interactions (20%): most accounts posted in the last 14 days, some are silent
  14–90 days, some more than 90 days, some never posted; a few hundred end on a stop notice
  ("关于本公众号停止更新的声明"), some accounts rarely answer their messages, and some accounts of one unit
  on one platform re-post each other's recent posts nearly verbatim. Account.last_post_at is exactly
  the latest post's time, as ingest keeps it.

The schema is built by the migrations on a fresh database (PostgreSQL: CREATE DATABASE zw_bench_detect_<pid>,
dropped at the end unless --keep; SQLite: a file in a temporary directory). Rows are loaded with COPY on
PostgreSQL and with executemany in large transactions on SQLite; that load time is printed on its own.

Each detection run happens in a fresh process (forked from a small fork server) (so that its memory figures are its own and no cache is
warm from an earlier run): first, for the phases --tracemalloc names (all by default), the same run under tracemalloc, rolled back;
then the timed run, committed. The printed seconds are the timed run's, untraced. Memory figures:
- "tracemalloc peak": the Python heap's high-water mark during the run (traced rerun);
- "max RSS": resource.getrusage(RUSAGE_SELF).ru_maxrss of the timed run's process (whole process, with
  the interpreter and imports, which the "baseline" figure shows before the run starts).
With --profile DIR (and --profile-phases) a third, cProfiled and rolled-back pass writes DIR/<database>-<phase>.prof and prints the
top functions by cumulative time (profiling slows the run down: those seconds are not the timed ones).
"""
import argparse
import cProfile
import io
import os
import pstats
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from multiprocessing import forkserver, get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

TARGET_FULL_SECONDS = 60.0  # issue 7, on PostgreSQL
TARGET_INCREMENTAL_SECONDS = 5.0
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

PLATFORM_WEIGHTS = {
    "wechat": 34, "weibo": 20, "douyin": 16, "toutiao": 10, "kuaishou": 6,
    "bilibili": 3, "xiaohongshu": 3, "baijiahao": 4, "app": 2, "other": 2,
}  # fmt: skip
DEPARTMENTS = (
    "人民政府", "人民政府办公室", "公安局", "教育局", "人力资源和社会保障局", "生态环境局", "卫生健康委员会", "市场监督管理局",
    "应急管理局", "交通运输局", "住房和城乡建设局", "自然资源局", "农业农村局", "水利局", "文化和旅游局", "民政局",
    "司法局", "财政局", "税务局", "商务局", "统计局", "审计局", "退役军人事务局", "医疗保障局", "林业局", "城市管理局",
    "融媒体中心", "政务服务数据管理局", "发展和改革委员会", "科学技术局", "工业和信息化局", "体育局", "档案馆", "图书馆",
    "气象局", "消防救援大队", "交警大队", "人民法院", "人民检察院", "团委", "妇联", "总工会", "残疾人联合会", "科协",
    "供销合作社", "疾病预防控制中心", "人民医院", "中医院", "妇幼保健院", "第一中学", "实验小学", "职业技术学校",
    "公共资源交易中心", "住房公积金管理中心", "不动产登记中心", "医疗保险服务中心", "就业服务中心", "博物馆", "文化馆", "信访局",
)  # fmt: skip
NAME_CHARS = "安宁平昌和兴华东西南北阳山川河湖海江城林丰泰康永福德清新武文明云龙凤台金玉长乐远定宜顺嘉宝泉溪岭峰"
# Post text: sentences combined from these; none holds a stop phrase (checked at start-up).
SUBJECTS = (
    "我县", "我区", "我市", "全县", "全区", "各乡镇", "各街道", "市场监管部门", "卫生健康部门", "教育系统", "公安机关", "交通部门",
    "社区工作人员", "志愿者", "税务部门", "农业部门", "应急管理部门", "文旅部门", "医保部门", "人社部门", "环保部门", "住建部门",
    "消防救援人员", "基层干部", "驻村工作队", "执法人员", "网格员", "科技特派员", "法律顾问", "医护人员",
)  # fmt: skip
ACTIONS = (
    "召开专题会议部署", "开展集中检查", "组织专项培训", "推进重点项目", "发布最新通知", "深入一线调研", "启动宣传月活动",
    "举行签约仪式", "完成年度考核", "开展安全隐患排查", "落实惠民政策", "召开新闻发布会", "组织应急演练", "开展入户走访",
    "发放补贴资金", "开展义诊服务", "召开座谈会研究", "推进乡村振兴", "优化营商环境", "开展法律宣传", "启动招聘工作",
    "开展防汛检查", "推进垃圾分类", "开展食品安全抽检", "组织消防演练", "开展文明创建", "发布出行提示", "开展反诈宣传",
    "推进老旧小区改造", "开展春季植树",
)  # fmt: skip
OBJECTS = (
    "进一步提升群众满意度", "确保各项任务落到实处", "切实保障群众生命财产安全", "助力经济社会高质量发展", "营造良好社会氛围",
    "不断增强群众获得感", "扎实推动工作取得新成效", "为群众办实事解难题", "筑牢安全生产防线", "持续改善人居环境",
    "推动政策红利直达基层", "有效防范化解各类风险", "打通服务群众最后一公里", "促进农民持续增收", "提升公共服务水平",
    "保障重点人群就业", "守护人民群众健康", "弘扬社会主义核心价值观", "提升城市精细化管理水平", "推动文旅产业融合发展",
)  # fmt: skip
TIMES = ("近日", "日前", "本周", "昨天", "今天上午", "今天下午", "连日来", "近期", "本月以来", "上周")
QUESTIONS = (
    "请问社保卡怎么补办", "小区路灯坏了很久没人修", "孩子入学需要准备哪些材料", "公积金提取要多久到账", "楼下噪音扰民怎么办",
    "医保报销比例是多少", "营业执照变更在哪里办理", "路口红绿灯时间太短", "村里的道路什么时候硬化", "养老保险断缴了如何补缴",
    "垃圾清运不及时", "办理居住证需要什么材料", "供暖费标准是多少", "施工工地晚上还在作业", "退役军人优待证何时发放",
)  # fmt: skip
STOP_NOTICES = (
    ("关于本公众号停止更新的声明", "因机构改革，本公众号自即日起停止更新，相关信息请关注上级部门官方账号。感谢大家一直以来的关注与支持！"),
    ("停更公告", "根据工作安排，本账号即日起停止更新，后续信息将在区融媒体中心账号发布。"),
    ("账号迁移公告", "本公众号即将迁移至新的政务服务号，请广大群众关注新账号。"),
    ("关于本号暂停更新的说明", "因单位合并，本号已合并至县人民政府门户网站，不再更新。"),
)


@dataclass
class Plan:
    """What to generate, decided up front (small: one entry per unit and per account)."""

    now: datetime
    units: list[tuple] = field(default_factory=list)  # (id, name, region_code, region_name, credit_code)
    accounts: list[dict] = field(default_factory=list)
    post_count: int = 0
    interaction_count: int = 0
    copies: list[tuple[int, int, float]] = field(default_factory=list)  # (from account, to account, published ts)


# --- the synthetic registry ----------------------------------------------------------------------


def _regions(rng: random.Random) -> list[tuple[str, str, str]]:
    """(code, region_name as registries write it, the name a unit of that level uses)."""
    import json

    from service.detection.unit_identity import PROVINCES_FILE

    provinces = {code: names[0] for code, names in json.loads(PROVINCES_FILE.read_text("utf-8")).items() if code not in ("71", "81", "82")}
    regions = []
    used: set[str] = set()

    def place(suffix: str) -> str:
        while True:
            name = "".join(rng.sample(NAME_CHARS, 2)) + suffix
            if name not in used:
                used.add(name)
                return name

    for code, province in provinces.items():
        regions.append((f"{code}0000", province, province))
        for p in range(1, rng.randint(8, 14)):
            prefecture = place("市")
            pcode = f"{code}{p:02d}00"
            regions.append((pcode, f"{province}{prefecture}", prefecture))
            for c in range(1, rng.randint(5, 12)):
                county = place(rng.choice("县区"))
                regions.append((f"{code}{p:02d}{c:02d}", f"{province}{prefecture}{county}", county))
    return regions


def _credit_code(region_code: str, serial: int) -> str:
    from service.registry.codes import credit_code_check_character

    first17 = f"11{region_code}{serial:09d}"
    return first17 + credit_code_check_character(first17)


def plan_registry(*, accounts: int, rows: int, seed: int, now: datetime) -> Plan:
    rng = random.Random(seed)
    plan = Plan(now=now)
    regions = _regions(rng)
    county_level = [r for r in regions if not r[0].endswith("00")]
    higher = [r for r in regions if r[0].endswith("00")]
    n_units = max(accounts // 4, 10)
    taken: set[tuple[str, str]] = set()
    province_of = {r[0][:2]: r[2] for r in regions if r[0].endswith("0000")}
    originals = []
    while len(plan.units) < n_units:
        region = rng.choice(county_level) if rng.random() < 0.75 else rng.choice(higher)
        dept = rng.choice(DEPARTMENTS)
        if (region[0], dept) in taken:
            continue
        taken.add((region[0], dept))
        uid = len(plan.units) + 1
        own = region[2] + dept
        # One in ten registries write the province before the unit's own name (福建省尤溪县公安局).
        name = province_of[region[0][:2]] + own if rng.random() < 0.1 and not region[0].endswith("0000") else own
        credit = _credit_code(region[0], uid) if rng.random() < 0.9 else None
        plan.units.append((uid, name, region[0], region[1], credit))
        originals.append(uid)
    # 1% of units listed a second time under another spelling and without a credit code.
    for original in rng.sample(originals, max(n_units // 100, 1)):
        _, name, code, region_name, _ = plan.units[original - 1]
        province = province_of[code[:2]]
        spelling = rng.choice([f"（{province}）{name}", f"{name[:2]} {name[2:]}", name if name.startswith(province) else province + name])
        plan.units.append((len(plan.units) + 1, spelling, code, region_name, None))

    # Accounts: every unit has at least one, the rest go to units with a heavy tail.
    unit_ids = [u[0] for u in plan.units]
    weights = [rng.paretovariate(1.6) for _ in unit_ids]
    owners = unit_ids[:] + rng.choices(unit_ids, weights=weights, k=max(accounts - len(unit_ids), 0))
    owners = sorted(owners[:accounts])
    platforms, platform_weights = list(PLATFORM_WEIGHTS), list(PLATFORM_WEIGHTS.values())
    used_by_unit: dict[int, list[str]] = {}
    day = 86400.0
    now_ts = now.timestamp()
    for index, unit_id in enumerate(owners):
        used = used_by_unit.setdefault(unit_id, [])
        if used and rng.random() < 0.06:
            platform = "wechat" if "wechat" in used and rng.random() < 0.7 else rng.choice(used)  # a second (third) account
        else:
            free = [(p, w) for p, w in zip(platforms, platform_weights, strict=True) if p not in used] or list(zip(platforms, platform_weights, strict=True))
            platform = rng.choices([p for p, _ in free], weights=[w for _, w in free])[0]
        used.append(platform)
        aid = index + 1
        r = rng.random()
        status = "active" if r < 0.94 else ("suspended" if r < 0.97 else "closed")
        recent = rng.random() < 0.03
        entered = now_ts - (rng.uniform(1, 20) if recent else rng.uniform(200, 500)) * day
        r = rng.random()
        if r < 0.05:
            activity, last = "never", None
        elif r < 0.053:
            activity, last = "stop_notice", now_ts - rng.uniform(20, 200) * day
        elif r < 0.0535:
            activity, last = "stop_notice", now_ts - rng.uniform(1, 10) * day  # still inside its notice period
        elif r < 0.1335:
            activity, last = "zombie", now_ts - rng.uniform(90.5, 400) * day
        elif r < 0.2535:
            activity, last = "silent", now_ts - rng.uniform(14.2, 89.5) * day
        else:
            activity, last = "active", now_ts - rng.uniform(0.01, 13.8) * day
        if last is not None and recent:
            last = max(last, entered + 3600)
            last = min(last, now_ts - 600)
        plan.accounts.append({
            "id": aid, "unit_id": unit_id, "platform": platform, "status": status,
            "name": f"{plan.units[unit_id - 1][1][-8:]}{'发布' if rng.random() < 0.5 else ''}{len(used) if len(used) > 1 else ''}",
            "handle": f"bench_{platform}_{aid}", "level": "main" if rng.random() < 0.15 else "sub",
            "filed": rng.random() >= 0.03, "entered": entered,
            "opened": now_ts - rng.uniform(400, 3000) * day if rng.random() < 0.5 else None,
            "activity": activity, "last": last, "posts": 0, "interactions": 0, "unresponsive": rng.random() < 0.05,
        })  # fmt: skip

    # Posts: 80% of the rows over the accounts that post, with a heavy tail; interactions: 20% over 60%.
    posters = [a for a in plan.accounts if a["last"] is not None]
    budget_posts = int(rows * 0.8)
    budget_interactions = rows - budget_posts
    # Near-identical re-posts: in 40% of (unit, platform) pairs with several active, posting accounts.
    groups: dict[tuple[int, str], list[dict]] = {}
    for a in plan.accounts:
        if a["status"] == "active" and a["activity"] == "active":
            groups.setdefault((a["unit_id"], a["platform"]), []).append(a)
    for members in groups.values():
        if len(members) > 1 and rng.random() < 0.4:
            source, target = rng.sample(members, 2)
            latest = min(source["last"], target["last"]) - 3600
            for _ in range(rng.randint(3, 6)):
                plan.copies.append((source["id"], target["id"], rng.uniform(now_ts - 28 * day, latest)))
    budget_posts -= 2 * len(plan.copies)
    if posters:
        w = [rng.lognormvariate(0, 1) for _ in posters]
        total = sum(w)
        assigned = 0
        for a, weight in zip(posters, w, strict=True):
            a["posts"] = max(1, int(weight / total * budget_posts))
            assigned += a["posts"]
        for a in rng.choices(posters, k=max(budget_posts - assigned, 0)):
            a["posts"] += 1
    talkers = [a for a in plan.accounts if rng.random() < 0.6]
    if talkers:
        w = [rng.lognormvariate(0, 1) for _ in talkers]
        total = sum(w)
        assigned = 0
        for a, weight in zip(talkers, w, strict=True):
            a["interactions"] = int(weight / total * budget_interactions)
            assigned += a["interactions"]
        for a in rng.choices(talkers, k=max(budget_interactions - assigned, 0)):
            a["interactions"] += 1
    plan.post_count = sum(a["posts"] for a in plan.accounts) + 2 * len(plan.copies)
    plan.interaction_count = sum(a["interactions"] for a in plan.accounts)
    return plan


def _check_pools() -> None:
    from service.detection.stop_notice import find_stop_notice, sql_prefilter_phrases

    phrases = sql_prefilter_phrases()
    for fragment in (*SUBJECTS, *ACTIONS, *OBJECTS, *TIMES):
        bad = [p for p in phrases if p in fragment]
        assert not bad, f"{fragment} holds stop phrase {bad}"
    for title, body in STOP_NOTICES:
        assert find_stop_notice(title, body), title


_EPOCH = datetime(1970, 1, 1)


def _stamp(ts: float) -> str:
    """Naive UTC with microseconds: how SQLAlchemy stores a DateTime on SQLite, and COPY-able into
    timestamptz with a +00 suffix."""
    return (_EPOCH + timedelta(seconds=ts)).isoformat(" ", "microseconds")


def generate_activity(plan: Plan, seed: int):
    """Yields ("post", row) and ("interaction", row) tuples account by account, ids ascending.
    Post row: (id, account_id, external_id, published, title, text, url, created);
    interaction row: (id, account_id, external_id, received, replied or None, text, created)."""
    rng = random.Random(seed + 1)
    now_ts = plan.now.timestamp()
    day = 86400.0
    copies_from: dict[int, list[tuple[int, float]]] = {}
    for source, target, ts in plan.copies:
        copies_from.setdefault(source, []).append((target, ts))
    copied_into: dict[int, list[tuple[str, str, float]]] = {}
    post_id = 0
    interaction_id = 0

    def sentence() -> tuple[str, str]:
        s, a, o, t = rng.choice(SUBJECTS), rng.choice(ACTIONS), rng.choice(OBJECTS), rng.choice(TIMES)
        s2, a2, o2 = rng.choice(SUBJECTS), rng.choice(ACTIONS), rng.choice(OBJECTS)
        return f"{s}{a}", f"{t}，{s}{a}，{o}。{s2}{a2}，{o2}。"

    for account in plan.accounts:
        aid = account["id"]
        n = account["posts"]
        created = _stamp(max(account["entered"], now_ts - 400 * day))
        if n:
            last = account["last"]
            times = [last] + [last - rng.uniform(60, 365 * day) for _ in range(n - 1)]
            for k, ts in enumerate(times):
                post_id += 1
                if k == 0 and account["activity"] == "stop_notice":
                    title, body = rng.choice(STOP_NOTICES)
                else:
                    title, body = sentence()
                yield "post", (post_id, aid, f"p{k}", _stamp(ts), title, body, f"https://example.cn/{aid}/{k}", created)
        for k, (target, ts) in enumerate(copies_from.get(aid, ())):
            post_id += 1
            title, body = sentence()
            body = body + "（" + rng.choice(TIMES) + "报道）" + body  # long enough to be compared
            yield "post", (post_id, aid, f"c{k}", _stamp(ts), title, body, None, created)
            copied_into.setdefault(target, []).append((title, body, ts))
        m = account["interactions"]
        if m:
            reply_rate = 0.5 if account["unresponsive"] else 0.99
            for k in range(m):
                interaction_id += 1
                received = now_ts - rng.uniform(0.01, 180) * day
                replied = received + rng.uniform(0.05, 4) * day if rng.random() < reply_rate else None
                if replied is not None and replied > now_ts:
                    replied = None  # not answered yet
                question = rng.choice(QUESTIONS)
                yield "interaction", (interaction_id, aid, f"m{k}", _stamp(received), None if replied is None else _stamp(replied), question, created)
    # Copies go to accounts that may come earlier in id order: emit them once every source is done.
    for account in plan.accounts:
        for k, (title, body, ts) in enumerate(copied_into.get(account["id"], ())):
            post_id += 1
            tweak = body.replace("。", "！", 1)  # near-identical, not identical
            yield "post", (post_id, account["id"], f"r{k}", _stamp(ts + rng.uniform(600, 3000)), title, tweak, None, _stamp(max(account["entered"], now_ts - 400 * day)))


def _account_row(a: dict, now_stamp: str) -> tuple:
    last = a["last"]
    return (
        a["id"], a["platform"], a["name"], a["handle"], a["unit_id"], a["level"], a["filed"], a["status"], "push", None,
        None if last is None else _stamp(last), 0, None if a["opened"] is None else _stamp(a["opened"]), None,
        _stamp(a["entered"]), _stamp(a["entered"]),
    )  # fmt: skip


ACCOUNT_COLUMNS = (
    "id, platform, name, handle, unit_id, level, filed, status, source_kind, source_url, last_post_at, source_failures, "
    "opened_at, activity_changed_at, created_at, updated_at"
)
UNIT_COLUMNS = "id, name, region_code, region_name, credit_code, created_at, updated_at"
POST_COLUMNS = "id, account_id, external_id, published_at, title, text, url, created_at, updated_at"
INTERACTION_COLUMNS = "id, account_id, external_id, received_at, replied_at, text, created_at, updated_at"


# --- loading -------------------------------------------------------------------------------------


def load_sqlite(path: str, plan: Plan, seed: int) -> dict:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-1000000")
    connection.execute("PRAGMA temp_store=MEMORY")
    connection.execute("PRAGMA foreign_keys=OFF")  # ids are consistent by construction
    # Secondary (non-unique) indexes of the activity tables are rebuilt once after the load.
    indexes = connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name IN ('posts','interactions') AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        connection.execute(f'DROP INDEX "{name}"')
    now_stamp = _stamp(plan.now.timestamp())
    connection.execute("BEGIN")
    connection.executemany(
        f"INSERT INTO units ({UNIT_COLUMNS}) VALUES (?,?,?,?,?,?,?)", [(*u, now_stamp, now_stamp) for u in plan.units]
    )
    connection.executemany(
        f"INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ({','.join('?' * 16)})",
        [_account_row(a, now_stamp) for a in plan.accounts],
    )
    posts, interactions = [], []
    batch = 100_000

    def flush() -> None:
        if posts:
            connection.executemany(f"INSERT INTO posts ({POST_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", posts)
            posts.clear()
        if interactions:
            connection.executemany(f"INSERT INTO interactions ({INTERACTION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", interactions)
            interactions.clear()

    for kind, row in generate_activity(plan, seed):
        if kind == "post":
            posts.append((*row, row[-1]))
        else:
            interactions.append((*row, row[-1]))
        if len(posts) + len(interactions) >= batch:
            flush()
    flush()
    connection.execute("COMMIT")
    for _, sql in indexes:
        connection.execute(sql)
    connection.execute("PRAGMA journal_mode=WAL")  # as the service's engine leaves it
    connection.close()
    return {"indexes_rebuilt": [name for name, _ in indexes]}


def load_postgresql(url: str, plan: Plan, seed: int) -> dict:
    import psycopg

    parsed = make_url(url)
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=False) as connection:
        cursor = connection.cursor()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        # Constraints and indexes of the activity tables (bar the primary keys) are dropped for the
        # COPY and recreated from their own definitions afterwards.
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid IN ('posts'::regclass, 'interactions'::regclass) AND contype IN ('u', 'f')"
        )
        constraints = cursor.fetchall()
        for table, name, _ in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('posts', 'interactions') AND indexname NOT LIKE 'pk_%'"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        now_stamp = _stamp(plan.now.timestamp()) + "+00"

        def tz(value):
            return None if value is None else value + "+00"

        with cursor.copy(f"COPY units ({UNIT_COLUMNS}) FROM STDIN") as copy:
            for u in plan.units:
                copy.write_row((*u, now_stamp, now_stamp))
        with cursor.copy(f"COPY accounts ({ACCOUNT_COLUMNS}) FROM STDIN") as copy:
            for a in plan.accounts:
                row = list(_account_row(a, now_stamp))
                for i in (10, 12, 14, 15):
                    row[i] = tz(row[i])
                copy.write_row(row)
        # Posts and interactions interleave in the generator: posts go straight to COPY, interactions
        # wait in a temporary file. Text never holds a tab, newline or backslash, so lines are written as is.
        spill = tempfile.TemporaryFile("w+", encoding="utf-8")
        with cursor.copy(f"COPY posts ({POST_COLUMNS}) FROM STDIN") as copy:
            lines = []
            for kind, row in generate_activity(plan, seed):
                if kind == "post":
                    pid, aid, ext, published, title, body, link, created = row
                    lines.append(f"{pid}\t{aid}\t{ext}\t{published}+00\t{title}\t{body}\t{link or chr(92) + 'N'}\t{created}+00\t{created}+00\n")
                    if len(lines) >= 20_000:
                        copy.write("".join(lines))
                        lines.clear()
                else:
                    iid, aid, ext, received, replied, body, created = row
                    spill.write(f"{iid}\t{aid}\t{ext}\t{received}+00\t{replied + '+00' if replied else chr(92) + 'N'}\t{body}\t{created}+00\t{created}+00\n")
            if lines:
                copy.write("".join(lines))
        spill.seek(0)
        with cursor.copy(f"COPY interactions ({INTERACTION_COLUMNS}) FROM STDIN") as copy:
            while chunk := spill.read(1 << 20):
                copy.write(chunk)
        spill.close()
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table in ("units", "accounts", "posts", "interactions"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.commit()
    # Autovacuum would analyse tables this size soon after; the runner should meet planned queries.
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return {"indexes_rebuilt": [n for n, _ in indexes] + [n for _, n, _ in constraints]}


# --- the runs ------------------------------------------------------------------------------------


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MB"


def run_phase(url: str, *, incremental: bool, mode: str, profile_path: str | None = None) -> dict:
    """One detection run in this (fresh) process. mode: "timed" (committed), "traced" (tracemalloc,
    rolled back) or "profiled" (cProfile, rolled back)."""
    from service.config import Settings
    from service.db import make_engine, make_sessionmaker
    from service.detection.runner import run_detection

    settings = Settings(database_url=url, scheduler_enabled=False)
    engine = make_engine(url, application_name="zw-bench")
    Session = make_sessionmaker(engine)
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result: dict = {"mode": mode}
    with Session() as session:
        session.execute(text("SELECT 1"))  # connect outside the timing
        profiler = cProfile.Profile() if mode == "profiled" else None
        if mode == "traced":
            tracemalloc.start()
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        run = run_detection(session=session, settings=settings, incremental=incremental, trigger="bench")
        ran = time.perf_counter()
        if mode == "timed":
            session.commit()
        else:
            session.rollback()
        if profiler:
            profiler.disable()
        finished = time.perf_counter()
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        if mode == "traced":
            result["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        result.update(
            seconds=finished - started,
            cpu_seconds=(cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime),
            run_seconds=ran - started, commit_seconds=finished - ran,
            accounts_checked=run.accounts_checked, incremental=run.incremental, counts=run.counts,
            transitions=run.transitions, baseline_rss=baseline_rss,
            max_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        )  # fmt: skip
        if profiler and profile_path:
            profiler.dump_stats(profile_path)
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
            result["profile_top"] = out.getvalue()
    engine.dispose()
    return result


def _in_fresh_process(fn, *args, **kwargs):
    # forkserver, started before the plan is built: a child forked from this process would inherit
    # its ru_maxrss high-water mark.
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("forkserver")) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def change_accounts(url: str, *, fraction: float, seed: int) -> dict:
    """Changes `fraction` of the accounts through the service's own functions, as pushes and registry
    edits would: new posts (ingest sets activity_changed_at and last_post_at), new unanswered
    messages (ingest sets activity_changed_at), registry edits (update_account; updated_at moves)."""
    from service import clock
    from service.activity.schemas import InteractionIn, PostIn
    from service.activity.service import ingest
    from service.db import make_engine, make_sessionmaker
    from service.registry.models import Account
    from service.registry.schemas import AccountUpdate
    from service.registry.service import update_account

    rng = random.Random(seed + 2)
    engine = make_engine(url, application_name="zw-bench")
    started = time.perf_counter()
    counts = {"new_posts": 0, "new_unanswered_messages": 0, "registry_edits": 0}
    with make_sessionmaker(engine)() as session:
        ids = list(session.scalars(select(Account.id).where(Account.status != "closed")))
        chosen = rng.sample(ids, max(1, int(len(ids) / (1 - 0.03) * fraction)))
        now = clock.now()
        for k, account_id in enumerate(chosen):
            kind = k % 10
            if kind < 4:
                account = session.get(Account, account_id)
                post = PostIn(external_id=f"bench-new-{account_id}", published_at=now - timedelta(hours=rng.uniform(1, 20)),
                              title="我县召开专题会议部署安全生产工作", text="近日，我县召开专题会议部署安全生产工作，确保各项任务落到实处。")
                ingest(session=session, account=account, posts=[post], interactions=[])
                counts["new_posts"] += 1
            elif kind < 7:
                account = session.get(Account, account_id)
                message = InteractionIn(external_id=f"bench-new-{account_id}", received_at=now - timedelta(days=rng.uniform(9, 20)),
                                        text="请问社保卡怎么补办")
                ingest(session=session, account=account, posts=[], interactions=[message])
                counts["new_unanswered_messages"] += 1
            else:
                change = rng.choice(("name", "filed", "status"))
                account = session.get(Account, account_id)
                data = {
                    "name": AccountUpdate(name=account.name + "新"),
                    "filed": AccountUpdate(filed=not account.filed),
                    "status": AccountUpdate(status="suspended" if account.status == "active" else "active"),
                }[change]
                update_account(session=session, account_id=account_id, data=data, scope=None)
                counts["registry_edits"] += 1
        session.commit()
    engine.dispose()
    counts["accounts"] = len(chosen)
    counts["seconds"] = time.perf_counter() - started
    return counts


def _report(database: str, label: str, timed: dict, traced: dict | None, target: float | None) -> None:
    seconds = timed["seconds"]
    rate = timed["accounts_checked"] / seconds if seconds else 0
    verdict = ""
    if target is not None:
        verdict = f"  target ≤ {target:g} s{' (PostgreSQL)' if database != 'postgresql' else ''}: {'MET' if seconds <= target else 'MISSED'}"
    print(f"[{database}] {label}: {seconds:.2f} s (run {timed['run_seconds']:.2f} s + commit {timed['commit_seconds']:.2f} s), "
          f"{timed['accounts_checked']:,} accounts checked, {rate:,.0f} accounts/s{verdict}")  # fmt: skip
    # On a shared machine wall time swells with the load; the Python process's own CPU time does not
    # (the database server's CPU is not in it).
    print(f"    CPU time of the run's Python process: {timed['cpu_seconds']:.2f} s; load average now {os.getloadavg()[0]:.2f}")
    print(f"    findings by rule: {dict(sorted(timed['counts']['by_rule'].items()))}")
    print(f"    findings by type: {dict(sorted(timed['counts']['by_type'].items()))}")
    print(f"    transitions: {dict(sorted(timed['transitions'].items()))}")
    memory = f"    memory: max RSS of the run's process (ru_maxrss, whole process) {_mb(timed['max_rss'])}, of which {_mb(timed['baseline_rss'])} before the run"
    if traced:
        memory += f"; tracemalloc peak (Python heap, traced rerun rolled back) {_mb(traced['tracemalloc_peak'])}, traced run took {traced['seconds']:.1f} s"
    print(memory, flush=True)


def bench(database: str, url: str, plan: Plan, args) -> None:
    from service import schema

    started = time.perf_counter()
    schema.upgrade(url)
    migrated = time.perf_counter()
    info = (load_postgresql if database == "postgresql" else load_sqlite)(
        url if database == "postgresql" else make_url(url).database, plan, args.seed
    )
    loaded = time.perf_counter()
    print(f"[{database}] schema by migrations {migrated - started:.1f} s; generate + load {loaded - migrated:.1f} s "
          f"({len(plan.units):,} units, {len(plan.accounts):,} accounts, {plan.post_count:,} posts, {plan.interaction_count:,} interactions; "
          f"rebuilt after load: {', '.join(info['indexes_rebuilt'])})", flush=True)  # fmt: skip
    if database == "sqlite":
        print(f"[{database}] file size {_mb(os.path.getsize(make_url(url).database))}")

    phases = [("full run 1 (first, findings opened)", False, TARGET_FULL_SECONDS, "full1")]
    for label, incremental, target, tag in phases:
        _phase(database, url, label, incremental, target, tag, args)
    changes = change_accounts(url, fraction=args.change, seed=args.seed)
    print(f"[{database}] changed {changes['accounts']:,} accounts in {changes['seconds']:.1f} s: {changes['new_posts']:,} with a new post, "
          f"{changes['new_unanswered_messages']:,} with a new unanswered message, {changes['registry_edits']:,} registry edits", flush=True)  # fmt: skip
    _phase(database, url, "incremental run (after the change)", True, TARGET_INCREMENTAL_SECONDS, "incremental", args)
    _phase(database, url, "full run 2 (steady state, no change)", False, TARGET_FULL_SECONDS, "full2", args)


def _phase(database: str, url: str, label: str, incremental: bool, target: float, tag: str, args) -> None:
    if args.profile and tag in args.profile_phases.split(","):
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        path = str(Path(args.profile) / f"{database}-{tag}.prof")
        profiled = _in_fresh_process(run_phase, url, incremental=incremental, mode="profiled", profile_path=path)
        print(f"[{database}] {label}, cProfiled (rolled back) {profiled['seconds']:.1f} s → {path}; top by cumulative time:")
        print(profiled["profile_top"], flush=True)
    traced = None if tag not in args.tracemalloc.split(",") else _in_fresh_process(run_phase, url, incremental=incremental, mode="traced")
    timed = _in_fresh_process(run_phase, url, incremental=incremental, mode="timed")
    _report(database, label, timed, traced, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=5_000_000, help="posts and interactions in total (80%% / 20%%)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="a PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--keep", action="store_true", help="keep the bench database (printed) instead of dropping it")
    parser.add_argument("--change", type=float, default=0.01, help="fraction of accounts changed before the incremental run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tracemalloc", default="full1,incremental,full2", metavar="PHASES",
                        help="phases (full1, incremental, full2) also rerun under tracemalloc, which slows a run 5-10 times; '' for none")
    parser.add_argument("--profile", metavar="DIR", help="also run phases under cProfile and write DIR/<db>-<phase>.prof")
    parser.add_argument("--profile-phases", default="full1,incremental", metavar="PHASES", help="the phases --profile profiles")
    args = parser.parse_args()

    forkserver.ensure_running()
    _check_pools()
    print(f"machine: {os.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    plan = plan_registry(accounts=args.accounts, rows=args.rows, seed=args.seed, now=now)
    print(f"plan: {len(plan.units):,} units, {len(plan.accounts):,} accounts, {plan.post_count:,} posts, "
          f"{plan.interaction_count:,} interactions, {len(plan.copies):,} near-identical re-posts ({time.perf_counter() - started:.1f} s)", flush=True)  # fmt: skip
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    for database in databases:
        if database == "sqlite":
            directory = tempfile.mkdtemp(prefix="zw-bench-detect-")
            url = f"sqlite:///{directory}/bench.db"
            try:
                bench(database, url, plan, args)
            finally:
                if args.keep:
                    print(f"[sqlite] kept {url}")
                else:
                    shutil.rmtree(directory, ignore_errors=True)
        else:
            _bench_postgresql(plan, args)
    print(f"machine load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _bench_postgresql(plan: Plan, args) -> None:
    from sqlalchemy import create_engine

    base = make_url(args.pg_url)
    name = f"zw_bench_detect_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        bench("postgresql", url, plan, args)
    finally:
        if args.keep:
            print(f"[postgresql] kept {base.set(database=name).render_as_string(hide_password=True)}")
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
