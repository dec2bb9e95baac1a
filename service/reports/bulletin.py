"""The bulletin draft (通报草稿) in the style of the published ones (DOMAIN.md): totals and
pass rates per kind of account, one paragraph per problem naming the accounts as
单位“账号”, then rectification, for staff to edit. Built from the report alone, so a
published report's draft can always be rebuilt from what was frozen."""
from collections import defaultdict

from markdown_it import MarkdownIt

from datetime import datetime

from service.clock import SHANGHAI
from service.reports.service import PLATFORM_LABELS, Report

ORDINALS = "一二三四五六七八九十"

# One paragraph per problem, in the bulletins' own words (DOMAIN.md), in this order.
PROBLEMS = [
    ("silence", "内容不按期更新，存在“睡眠”“僵尸”账号"),
    ("stop_declared", "发布停止更新声明后未及时清理注销"),
    ("off_topic", "发布与政务工作无关的社会信息、心灵鸡汤"),
    ("duplicate", "同一平台开设多个政务新媒体，账号冗余"),
    ("unresponsive", "互动回应差，未对网民留言做出有效回复"),
    ("unregistered", "瞒报漏报，未上报备案"),
]
CLOSING = (
    "各地区、各部门要对照本通报指出的问题，逐条核查、限期整改：对长期不更新、已停止运维的账号及时清理注销并报备；"
    "对同一平台功能相近的多个账号予以整合；健全留言办理机制，及时回应网民关切；严格内容审核，不得发布与政务工作无关的信息。"
    "整改情况请按要求报送，下一{word}将对整改情况进行复查。"
)


def _problem_of(finding: dict) -> str:
    if finding['rule'] == "dormant.stop_declared":
        return "stop_declared"
    if finding['type'] == "dormant":
        return "silence"
    return finding['type']


def _md(text: str) -> str:
    """Account and unit names are data: Markdown must not read them as markup."""
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in text)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _change(figures: dict, word: str) -> str:
    if figures['previous'] is None or figures['pass_rate_change'] is None:
        return ""
    change = figures['pass_rate_change']
    direction = "提高" if change > 0 else "下降" if change < 0 else "持平"
    amount = f"{abs(change):.2f}个百分点" if change else ""
    return f"，较上{word}（{_pct(figures['previous']['pass_rate'])}）{direction}{amount}"


def _rule_phrase(title: str) -> str:
    return title.split("：", 1)[-1]


def _named(findings: list[dict]) -> list[str]:
    """单位“账号”（平台、平台）, one per unit and account name."""
    platforms: dict[tuple[str, str], list[str]] = defaultdict(list)
    for finding in findings:
        for account in finding['accounts']:
            key = (finding['unit_name'] or "", account['name'])
            label = PLATFORM_LABELS.get(account.get("platform") or "", "")
            if label and label not in platforms[key]:
                platforms[key].append(label)
    return [f"{_md(unit)}“{_md(name)}”" + (f"（{'、'.join(labels)}）" if labels else "") for (unit, name), labels in platforms.items()]


def _paragraph(problem: str, findings: list[dict]) -> str:
    if problem == "duplicate":
        by_place: dict[tuple, list[dict]] = defaultdict(list)
        for f in findings:
            by_place[(f['unit_name'] or "", f['platform'] or "")].append(f)
        parts = []
        for (unit, platform), group in by_place.items():
            where = PLATFORM_LABELS.get(platform, "同一平台")
            opened = [f for f in group if f['rule'] == "duplicate.same_unit_platform"]
            alike = [f for f in group if f['rule'] != "duplicate.same_unit_platform"]
            text = _md(unit)
            if opened:
                accounts = opened[0]['accounts']
                names = "".join(f"“{_md(a['name'])}”" for a in accounts)
                text += f"在{where}开设{names}{len(accounts)}个账号"
            for f in alike:
                names = "".join(f"“{_md(a['name'])}”" for a in f['accounts'])
                text += f"{'，其中' if opened else '在' + where + '的'}{names}发布内容高度雷同"
            parts.append(text)
        return "；".join(parts) + "。"
    sentences = []
    by_phrase: dict[str, list[dict]] = defaultdict(list)
    for f in findings:
        phrase = _rule_phrase(f['rule_title'])
        if f['rule'] == "unregistered.not_filed" and "长期未更新" in f['title']:
            phrase = "未上报备案且长期未更新"
        by_phrase[phrase].append(f)
    for phrase, group in by_phrase.items():
        with_accounts = [f for f in group if f['accounts']]
        names = _named(with_accounts)
        loose = [f for f in group if not f['accounts']]  # discovered on a platform, not in the registry
        if loose:
            names += [_md(f['title'].split("「", 1)[-1].rstrip("」")).join("“”") for f in loose]
        count = f"等{len(names)}个账号" if len(names) > 1 else ""
        sentences.append(f"{'、'.join(names)}{count}{phrase}")
    return "；".join(sentences) + "。"


def markdown(report: Report) -> str:
    period = report['period']
    word = {"quarter": "季度", "half": "半年", "month": "月", "year": "年"}.get(period['kind'], "期")
    moment = datetime.fromisoformat(report['time_point']).astimezone(SHANGHAI)
    totals = report['totals']
    lines = [f"# {_md(report['title'])}（草稿）", ""]
    scope = "抽查" if report['coverage'] == "sample" else "全面检查"
    lines.append(
        f"根据国务院办公厅《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）等要求，以{moment.year}年{moment.month}月{moment.day}日"
        f"{moment:%H:%M}为监测时间点，对登记在册的政务新媒体进行了{scope}。现将有关情况通报如下。"
    )
    lines += ["", "## 一、总体情况", ""]
    rate = f"，抽查率{_pct(totals['spot_check_rate'])}" if report['coverage'] == "sample" else ""
    lines.append(
        f"{period['name']}，共检查政务新媒体{totals['checked']}个（登记在册{totals['registered']}个{rate}），"
        f"合格{totals['qualified']}个、不合格{totals['unqualified']}个，总体合格率{_pct(totals['pass_rate'])}{_change(totals, word)}。"
    )
    kinds = [k for k in report['kinds'] if k['checked']]
    if kinds:
        parts = [f"{k['platform_label']}检查{k['checked']}个，合格率{_pct(k['pass_rate'])}{_change(k, word)}" for k in kinds]
        lines += ["", "其中，" + "；".join(parts) + "。"]
    if report['regions']:
        lines += ["", "| 地区 | 登记 | 检查 | 合格 | 不合格 | 合格率 | 上期合格率 |", "|---|---:|---:|---:|---:|---:|---:|"]
        for r in report['regions']:
            previous = _pct(r['previous']['pass_rate']) if r['previous'] else "—"
            lines.append(f"| {_md(r['region_name'] or r['region_code'])} | {r['registered']} | {r['checked']} | {r['qualified']} | "
                         f"{r['unqualified']} | {_pct(r['pass_rate'])} | {previous} |")  # fmt: skip

    lines += ["", "## 二、存在的主要问题", ""]
    grouped: dict[str, list[dict]] = defaultdict(list)
    for finding in report['findings']:
        grouped[_problem_of(finding)].append(finding)
    # Bulletins name an account once, for its most telling problem: a stop notice left up,
    # or not filed and long inactive, already says that the account is silent.
    told = {a['account_id'] for f in grouped['stop_declared'] for a in f['accounts']} | {
        a['account_id'] for f in grouped['unregistered'] if "长期未更新" in f['title'] for a in f['accounts']
    }
    grouped['silence'] = [f for f in grouped['silence'] if not {a['account_id'] for a in f['accounts']} <= told]
    n = 0
    for problem, heading in PROBLEMS:
        if grouped.get(problem):
            lines += [f"（{ORDINALS[n]}）**{heading}**。{_paragraph(problem, grouped[problem])}", ""]
            n += 1
    for problem, findings in grouped.items():  # a problem the wording table does not know yet
        if problem not in dict(PROBLEMS):
            lines += [f"（{ORDINALS[min(n, 9)]}）**{_md(findings[0]['rule_title'])}**。{_paragraph(problem, findings)}", ""]
            n += 1
    if n == 0:
        lines += ["本次检查未发现问题。", ""]

    lines += ["## 三、整改情况", ""]
    if report['previous_run'] is None:
        lines.append(f"{report['previous_period']['name']}无检测记录，本期不作整改情况复查。")
    elif not report['not_rectified']:
        lines.append(f"{report['previous_period']['name']}发现的问题均已整改。")
    else:
        # one entry per unit and accounts, listing its problems: “精彩江苏” once, not per platform
        problems: dict[tuple, list[str]] = defaultdict(list)
        for row in report['not_rectified']:
            key = (row['unit_name'] or "", tuple(dict.fromkeys(row['account_names'])))
            phrase = _rule_phrase(row['rule_title'])
            if phrase not in problems[key]:
                problems[key].append(phrase)
        named = [f"{_md(unit)}{''.join(f'“{_md(a)}”' for a in accounts)}（{_md('、'.join(phrases))}）"
                 for (unit, accounts), phrases in problems.items()]  # fmt: skip
        units = len({unit for unit, _ in problems})
        lines.append(f"{report['previous_period']['name']}发现的问题中，{units}个单位的{len(report['not_rectified'])}个问题至监测时间点仍未整改："
                     + "；".join(named) + "。")  # fmt: skip
    if report['annual_review_units']:
        units = "、".join(_md(u['unit_name']) for u in report['annual_review_units'])
        lines += ["", f"{units}连续两期存在未整改问题，予以再次通报，并纳入年度绩效考评。"]
    lines += ["", "## 四、工作要求", "", CLOSING.format(word=word), ""]
    return "\n".join(lines)


_renderer = MarkdownIt("commonmark", {"html": False}).enable("table")

PRINT_CSS = """
body{font-family:"FangSong","STFangsong","SimSun","Songti SC",serif;max-width:48em;margin:2em auto;line-height:1.9;color:#000;padding:0 1em}
h1{font-family:"SimHei","Heiti SC",sans-serif;text-align:center;font-size:1.5em}
h2{font-family:"SimHei","Heiti SC",sans-serif;font-size:1.15em}
p{text-indent:2em}
table{border-collapse:collapse;margin:1em auto}
th,td{border:1px solid #000;padding:.2em .6em}
@media print{body{margin:0;max-width:none}a{color:#000;text-decoration:none}}
"""


def body_html(markdown_text: str) -> str:
    return _renderer.render(markdown_text)


def html(markdown_text: str, title: str) -> str:
    body = body_html(markdown_text)
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{safe_title}</title><style>{PRINT_CSS}</style></head><body>\n{body}</body></html>\n"
    )
