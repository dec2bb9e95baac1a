"""Inspection reports: the figures a bulletin (通报) prints, computed from the findings that
held at the period's monitoring time point (the detection run made there), per region, per
unit and per kind of account, compared with the previous period, with rectification.

Arithmetic (DOMAIN.md): 合格率 = qualified ÷ checked, 抽查率 = checked ÷ registered, both in
percent with two decimals, rounded half up as bulletins print them (86 of 99 → 86.87)."""
import gc
from collections import Counter, defaultdict, namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import and_, case, literal, select
from sqlalchemy.orm import Session

from service import clock
from service.config import Settings
from service.detection.models import DetectionRun
from service.detection.rules import RULES
from service.errors import NotFound, Problem
from service.findings.models import Finding, FindingAccount, FindingType, Severity
from service.findings.schemas import TYPE_LABELS
from service.registry.codes import region_prefix
from service.registry.models import Account, AccountStatus, Unit
from service.reports import events, snapshots
from service.reports.models import PublishedReport, RunFinding, Sample, SampleAccount
from service.reports.periods import Period

CENT = Decimal("0.01")
TYPE_ORDER = list(FindingType)
PLATFORM_LABELS = {
    "wechat": "微信公众号", "weibo": "微博", "douyin": "抖音", "toutiao": "今日头条", "kuaishou": "快手",
    "bilibili": "哔哩哔哩", "xiaohongshu": "小红书", "baijiahao": "百家号", "app": "移动客户端", "other": "其他",
}  # fmt: skip


@lru_cache(maxsize=65536)  # the same few ratios recur across tens of thousands of units
def percent(part: int, whole: int) -> Decimal | None:
    """part ÷ whole in percent, two decimals, half up: percent(86, 99) == Decimal('86.87')."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP)


def single_veto_rules(settings: Settings) -> dict[str, Severity | None]:
    """rule → the lowest severity that vetoes (None: any)."""
    vetoes: dict[str, Severity | None] = {}
    for entry in settings.report_single_veto_rules:
        rule, _, severity = entry.partition("@")
        vetoes[rule] = Severity(severity) if severity else None
    return vetoes


def vetoes(rule: str, severity: str, rules: dict[str, Severity | None]) -> bool:
    if rule not in rules:
        return False
    floor = rules[rule]
    return floor is None or Severity(severity).rank >= floor.rank


def rule_title(rule: str) -> str:
    known = RULES.get(rule)
    return known.title if known else rule


# --- what the database holds at a time point ---------------------------------------------


@dataclass(slots=True)
class Held:
    """A finding as a run left it."""

    finding_id: int
    rule: str
    severity: str
    type: str
    unit_id: int | None
    region_code: str | None = None
    platform: str | None = None
    title: str = ""
    first_seen: str = ""  # ISO 8601, Beijing time
    account_ids: list[int] = field(default_factory=list)


@dataclass
class Scope:
    region_code: str | None = None
    platform: str | None = None
    sample_id: int | None = None


def _inspected_by(run: DetectionRun | None):
    """SQL: was the account in the registry that `run` inspected — entered before it ran and
    not closed? (Computed in the database: a report reads every account.)"""
    if run is None:
        return literal(False)
    return case((and_(Account.status != AccountStatus.closed, Account.created_at <= run.started_at), True), else_=False)


# Plain named tuples, not ORM objects: a report reads every account of the registry.
UnitRow = namedtuple("UnitRow", "id name region_code region_name")
AccountRow = namedtuple("AccountRow", "id name platform level unit_id now before")


def _registry(session: Session, scope: Scope, runs: tuple[DetectionRun, DetectionRun | None]):
    """Plain rows, not ORM objects: units (id, name, region_code, region_name) and accounts
    (id, name, platform, level, unit_id, now, before) where now/before say whether the run of
    this period / the previous one inspected it."""
    units_query = select(Unit.id, Unit.name, Unit.region_code, Unit.region_name)
    accounts_query = select(
        Account.id, Account.name, Account.platform, Account.level, Account.unit_id,
        _inspected_by(runs[0]).label("now"), _inspected_by(runs[1]).label("before"),
    )  # fmt: skip
    if scope.region_code:
        prefix = region_prefix(scope.region_code)
        units_query = units_query.where(Unit.region_code.startswith(prefix))
        accounts_query = accounts_query.join(Unit, Unit.id == Account.unit_id).where(Unit.region_code.startswith(prefix))
    if scope.platform:
        accounts_query = accounts_query.where(Account.platform == scope.platform)
    connection = session.connection()
    units = {row[0]: UnitRow(*row) for row in connection.execute(units_query).all()}
    accounts = {row[0]: AccountRow(*row) for row in connection.execute(accounts_query).all()}
    return accounts, units


@lru_cache(maxsize=4096)  # first_seen is a monitoring time point: few distinct values
def _iso(moment: datetime) -> str:
    return clock.to_beijing_iso(moment)


def _held(session: Session, run: DetectionRun, scope: Scope, *, details: bool = True) -> dict[int, Held]:
    """What `run` held in scope; without details, only what the tallies need."""
    columns = [RunFinding.finding_id, RunFinding.rule, RunFinding.severity, Finding.type, Finding.unit_id]
    if details:
        columns += [Finding.region_code, Finding.platform, RunFinding.title, Finding.first_seen]
    query = select(*columns).join(Finding, Finding.id == RunFinding.finding_id).where(RunFinding.run_id == run.id)
    links = (
        select(FindingAccount.finding_id, FindingAccount.account_id)
        .join(RunFinding, RunFinding.finding_id == FindingAccount.finding_id)
        .where(RunFinding.run_id == run.id)
    )
    if scope.region_code:
        in_region = Finding.region_code.startswith(region_prefix(scope.region_code))
        query = query.where(in_region)
        links = links.join(Finding, Finding.id == FindingAccount.finding_id).where(in_region)
    if scope.platform:
        query = query.where(Finding.platform == scope.platform)
    connection = session.connection()
    held = {row[0]: Held(*row[:8], _iso(row[8])) if details else Held(*row) for row in connection.execute(query).all()}
    for finding_id, account_id in connection.execute(links).all():
        if finding_id in held:
            held[finding_id].account_ids.append(account_id)
    return held


def _held_units(session: Session, run: DetectionRun | None, scope: Scope) -> dict[int, int | None]:
    """finding → unit of what a run held: all rectification needs of earlier periods."""
    if run is None:
        return {}
    query = select(RunFinding.finding_id, Finding.unit_id).join(Finding, Finding.id == RunFinding.finding_id)
    query = query.where(RunFinding.run_id == run.id)
    if scope.region_code:
        query = query.where(Finding.region_code.startswith(region_prefix(scope.region_code)))
    if scope.platform:
        query = query.where(Finding.platform == scope.platform)
    return dict(session.connection().execute(query).all())


def _sample_members(session: Session, sample_id: int | None) -> set[int] | None:
    if sample_id is None:
        return None
    if session.get(Sample, sample_id) is None:
        raise NotFound(f"抽查样本 {sample_id} ")
    return set(session.scalars(select(SampleAccount.account_id).where(SampleAccount.sample_id == sample_id)))


# --- the arithmetic ---------------------------------------------------------------------
# The report is built as plain dicts, shaped as schemas.InspectionReport documents it: a
# report over 100,000 accounts has tens of thousands of rows, and dicts cost a fraction of
# models to build and to write as JSON. Percentages are computed as Decimals, half up, and
# written as the two-decimal numbers bulletins print.

Report = dict[str, Any]


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@dataclass
class Tally:
    registered: Counter = field(default_factory=Counter)
    checked: Counter = field(default_factory=Counter)
    unqualified: Counter = field(default_factory=Counter)

    def figures(self, key) -> dict:
        registered, checked, unqualified = self.registered[key], self.checked[key], self.unqualified[key]
        return {
            "registered": registered, "checked": checked, "qualified": checked - unqualified, "unqualified": unqualified,
            "pass_rate": _number(percent(checked - unqualified, checked)), "spot_check_rate": _number(percent(checked, registered)),
        }  # fmt: skip


def _summed(pairs: Counter, index: int) -> Counter:
    summed: Counter = Counter()
    for key, n in pairs.items():
        summed[key[index]] += n
    return summed


def _rolled_up(by_unit: Tally, group: dict) -> Tally:
    """Unit tallies summed into wider keys (a unit's region, or everything)."""
    rolled = Tally()
    for source, target in ((by_unit.registered, rolled.registered), (by_unit.checked, rolled.checked),
                           (by_unit.unqualified, rolled.unqualified)):  # fmt: skip
        for unit_id, n in source.items():
            target[group[unit_id]] += n
    return rolled


@dataclass
class Inspected:
    """One period's accounts, what held on them, and the tallies."""

    by_total: Tally
    by_region: Tally
    by_unit: Tally
    by_kind: Tally
    checked: set[int]
    unqualified: dict[int, list[Held]]
    held: dict[int, Held]


def _inspect(
    flag: str, held: dict[int, Held], accounts: dict, units: dict, sample: set[int] | None, veto: dict[str, Severity | None]
) -> Inspected:
    named = {a for h in held.values() for a in h.account_ids}
    # The registry the run inspected (flag: "now" or "before") — and the accounts its findings
    # name, which it inspected although they were closed since.
    registered = [a for a in accounts.values() if a.unit_id in units and (getattr(a, flag) or a.id in named)]
    vetoing: dict[int, list[Held]] = defaultdict(list)
    for h in held.values():
        if vetoes(h.rule, h.severity, veto):
            for account_id in h.account_ids:
                vetoing[account_id].append(h)
    checked_accounts = registered if sample is None else [a for a in registered if a.id in sample]
    bad_accounts = [a for a in checked_accounts if a.id in vetoing]
    # counted once per (unit, platform), then summed up: a unit has an account or a few
    pairs = [Counter((a.unit_id, a.platform) for a in rows) for rows in (registered, checked_accounts, bad_accounts)]
    by_unit = Tally(*(_summed(counts, 0) for counts in pairs))
    by_kind = Tally(*(_summed(counts, 1) for counts in pairs))
    by_region = _rolled_up(by_unit, {u.id: u.region_code for u in units.values()})
    by_total = _rolled_up(by_unit, dict.fromkeys(units))
    checked = {a.id for a in checked_accounts}
    unqualified = {a.id: vetoing[a.id] for a in bad_accounts}
    # Findings on no account (a discovered, unregistered account) count when everything was checked.
    concerned = {
        fid: h for fid, h in held.items()
        if (h.account_ids and any(a in checked for a in h.account_ids)) or (not h.account_ids and sample is None)
    }  # fmt: skip
    return Inspected(by_total, by_region, by_unit, by_kind, checked=checked, unqualified=unqualified, held=concerned)


def _compared(now: dict, before: dict | None, **extra) -> dict:
    change = None
    if before is not None and now["pass_rate"] is not None and before["pass_rate"] is not None:
        # both already rounded to hundredths: their difference is exact in Decimal
        change = float(Decimal(str(now["pass_rate"])) - Decimal(str(before["pass_rate"])))
    return {**extra, **now, "previous": before, "pass_rate_change": change}


def _failures(inspected: Inspected, by_rule: bool) -> list[dict]:
    findings: Counter = Counter()
    accounts: dict = defaultdict(set)
    for h in inspected.held.values():
        key = (h.type, h.rule) if by_rule else (h.type, None)
        findings[key] += 1
        accounts[key].update(a for a in h.account_ids if a in inspected.checked)
    ordered = sorted(findings, key=lambda k: (_type_rank(k[0]), k[1] or ""))
    return [
        {"type": kind, "type_label": TYPE_LABELS.get(kind, kind), "rule": rule, "rule_title": rule_title(rule) if rule else None,
         "findings": findings[(kind, rule)], "accounts": len(accounts[(kind, rule)])}
        for kind, rule in ordered
    ]  # fmt: skip


def _type_rank(kind: str) -> int:
    return TYPE_ORDER.index(kind) if kind in TYPE_ORDER else len(TYPE_ORDER)


# --- the report -------------------------------------------------------------------------


def _period_read(period: Period) -> dict:
    return {"label": period.label, "name": period.name, "kind": period.kind, "start": clock.to_beijing_iso(period.start),
            "end": clock.to_beijing_iso(period.end), "time_point": clock.to_beijing_iso(period.time_point)}  # fmt: skip


def _run_ref(run: DetectionRun | None) -> dict | None:
    if run is None:
        return None
    return {"id": run.id, "as_of": clock.to_beijing_iso(run.as_of), "started_at": clock.to_beijing_iso(run.started_at),
            "region_code": run.region_code}  # fmt: skip


def _no_run(period: Period, time_point: datetime) -> Problem:
    moment = clock.to_beijing_iso(time_point)
    return Problem(
        409,
        f"{period.name}（{period.label}）内、监测时间点 {moment} 之前没有完成的全量检测记录，无法确定当时的问题。"
        f"请先在该时间点运行检测：POST /v1/detection/runs，请求体 {{\"as_of\": \"{moment}\"}}"
        f"（或命令行 zombiewatch detect --as-of {moment}），再生成报告。",
        time_point=moment,
    )


def chosen_run(*, session: Session, period: Period, time_point: datetime, region_code: str | None, run_id: int | None) -> DetectionRun:
    if run_id is None:
        run = snapshots.run_at(session=session, time_point=time_point, period_start=period.start, region_code=region_code)
        if run is None:
            raise _no_run(period, time_point)
        return run
    run = session.get(DetectionRun, run_id)
    if run is None:
        raise NotFound(f"检测记录 {run_id} ")
    if run.status != "completed" or run.incremental or run.unit_id is not None or not snapshots.covers(run, region_code):
        raise Problem(422, f"检测记录 {run_id} 不是覆盖报告范围的已完成全量检测，不能作为报告依据")
    if not period.start <= run.as_of <= time_point:
        raise Problem(422, f"检测记录 {run_id} 的监测时间点 {clock.to_beijing_iso(run.as_of)} 不在{period.name}之内")
    return run


def region_label(units: dict, region_code: str | None) -> str:
    if not region_code:
        return ""
    exact = [u.region_name for u in units.values() if u.region_code == region_code and u.region_name]
    return exact[0] if exact else region_code


def inspection_report(
    *,
    session: Session,
    settings: Settings,
    period: Period,
    as_of: datetime | None = None,
    region_code: str | None = None,
    platform: str | None = None,
    sample_id: int | None = None,
    run_id: int | None = None,
) -> Report:
    """The report of one period at its monitoring time point (its end unless `as_of`), as
    the dict schemas.InspectionReport describes."""
    with _collector_paused():
        return _report(session, settings, period, as_of, region_code, platform, sample_id, run_id)


def _report(session, settings, period, as_of, region_code, platform, sample_id, run_id) -> Report:
    time_point = clock.as_aware(as_of) if as_of else period.time_point
    scope = Scope(region_code=region_code, platform=platform, sample_id=sample_id)
    run = chosen_run(session=session, period=period, time_point=time_point, region_code=region_code, run_id=run_id)
    previous, earlier = period.previous(), period.previous().previous()
    previous_run = snapshots.run_at(session=session, time_point=previous.time_point, period_start=previous.start, region_code=region_code)
    earlier_run = snapshots.run_at(session=session, time_point=earlier.time_point, period_start=earlier.start, region_code=region_code)
    veto = single_veto_rules(settings)
    sample = _sample_members(session, sample_id)
    accounts, units = _registry(session, scope, (run, previous_run))

    now = _inspect("now", _held(session, run, scope), accounts, units, sample, veto)
    before = _inspect("before", _held(session, previous_run, scope, details=False), accounts, units, sample, veto) if previous_run else None

    def compare(tally_name: str, key, **extra) -> dict:
        figures = getattr(now, tally_name).figures(key)
        prior = getattr(before, tally_name).figures(key) if before and getattr(before, tally_name).registered[key] else None
        return _compared(figures, prior, **extra)

    # Rectification (整改): held at the previous time point and still held at this one.
    held_before = _held_units(session, previous_run, scope)
    held_earlier = _held_units(session, earlier_run, scope)
    not_rectified = [h for fid, h in now.held.items() if fid in held_before]
    still_before = {unit for fid, unit in held_before.items() if fid in held_earlier and unit is not None}
    review: dict[int, list[int]] = defaultdict(list)
    for h in not_rectified:
        if h.unit_id in still_before:
            review[h.unit_id].append(h.finding_id)
    rectification_by_unit = Counter(h.unit_id for h in not_rectified)

    def account_name(account_id: int) -> str:
        entry = accounts.get(account_id)
        return entry.name if entry else f"账号 {account_id}"

    def unit_name(unit_id: int | None) -> str | None:
        return units[unit_id].name if unit_id in units else None

    unit_rows = [
        compare("by_unit", unit.id, unit_id=unit.id, unit_name=unit.name, region_code=unit.region_code,
                not_rectified=rectification_by_unit[unit.id], annual_review=unit.id in review)
        for unit in sorted(units.values(), key=lambda u: (u.region_code, u.name, u.id))
        if now.by_unit.registered[unit.id]
    ]  # fmt: skip
    region_names: dict[str, str | None] = {}
    for unit in units.values():
        region_names.setdefault(unit.region_code, unit.region_name)
    region_rows = [
        compare("by_region", code, region_code=code, region_name=region_names.get(code)) for code in sorted(now.by_region.registered)
    ]
    kind_rows = [
        compare("by_kind", kind, platform=kind, platform_label=PLATFORM_LABELS.get(kind, kind))
        for kind in sorted(now.by_kind.registered, key=lambda k: list(PLATFORM_LABELS).index(k) if k in PLATFORM_LABELS else 99)
    ]
    unqualified_rows = [
        {"account_id": account.id, "name": account.name, "platform": account.platform, "unit_id": account.unit_id,
         "unit_name": units[account.unit_id].name, "region_code": units[account.unit_id].region_code,
         "reasons": [{"finding_id": h.finding_id, "rule": h.rule, "rule_title": rule_title(h.rule), "severity": h.severity,
                      "title": h.title} for h in sorted(reasons, key=lambda h: h.finding_id)]}
        for account_id, reasons in now.unqualified.items()
        for account in (accounts[account_id],)
    ]  # fmt: skip
    unqualified_rows.sort(key=lambda r: (r["region_code"], r["unit_name"], r["name"], r["account_id"]))
    finding_rows = [
        {"finding_id": h.finding_id, "type": h.type, "rule": h.rule, "rule_title": rule_title(h.rule), "severity": h.severity,
         "title": h.title, "unit_id": h.unit_id, "unit_name": unit_name(h.unit_id), "region_code": h.region_code,
         "platform": h.platform,
         "accounts": [{"account_id": a, "name": account_name(a), "platform": accounts[a].platform if a in accounts else None}
                      for a in h.account_ids],
         "first_seen": h.first_seen, "single_veto": vetoes(h.rule, h.severity, veto)}
        for h in sorted(now.held.values(), key=lambda h: (_type_rank(h.type), h.region_code or "", h.finding_id))
    ]  # fmt: skip
    not_rectified_rows = [
        {"finding_id": h.finding_id, "rule": h.rule, "rule_title": rule_title(h.rule), "title": h.title, "unit_id": h.unit_id,
         "unit_name": unit_name(h.unit_id), "account_names": [account_name(a) for a in h.account_ids],
         "first_seen": h.first_seen}
        for h in sorted(not_rectified, key=lambda h: (h.region_code or "", h.unit_id or 0, h.finding_id))
    ]  # fmt: skip
    review_rows = [
        {"unit_id": unit_id, "unit_name": units[unit_id].name, "region_code": units[unit_id].region_code,
         "periods": [previous.label, period.label], "finding_ids": sorted(ids)}
        for unit_id, ids in sorted(review.items())
        if unit_id in units
    ]  # fmt: skip

    notes = [
        f"监测时间点 {clock.to_beijing_iso(time_point)}；依据检测记录 #{run.id}（监测时间点 {clock.to_beijing_iso(run.as_of)}）。",
        "登记数为该次检测所检查的登记账号（检测前已录入、未关闭的账号，及被该次检测发现问题的账号）。",
        "不合格：命中任一单项否决规则（" + "、".join(settings.report_single_veto_rules) + "）。",
    ]
    if run.as_of != time_point:
        notes.append(f"周期内没有恰在监测时间点的检测，采用此前最近一次检测（{clock.to_beijing_iso(run.as_of)}）。")
    if previous_run is None:
        notes.append(f"上一周期（{previous.name}）没有全量检测记录：不作比较，也无法判断整改情况。")
    elif earlier_run is None:
        notes.append(f"{earlier.name}没有全量检测记录：无法判断是否连续两期未整改。")
    if sample_id is not None:
        notes.append(f"按抽查样本 #{sample_id} 计算：检查数为样本中的账号（主号必查），上一周期按同一样本比较。")
    return {
        "title": f"关于{period.name}{region_label(units, region_code)}政务新媒体检查情况的通报",
        "period": _period_read(period), "time_point": clock.to_beijing_iso(time_point), "run": _run_ref(run),
        "previous_period": _period_read(previous), "previous_run": _run_ref(previous_run),
        "coverage": "sample" if sample_id is not None else "full", "sample_id": sample_id, "region_code": region_code,
        "platform": platform, "single_veto_rules": list(settings.report_single_veto_rules),
        "totals": compare("by_total", None), "kinds": kind_rows, "regions": region_rows, "units": unit_rows,
        "failures_by_type": _failures(now, by_rule=False), "failures_by_rule": _failures(now, by_rule=True),
        "unqualified_accounts": unqualified_rows, "findings": finding_rows, "not_rectified": not_rectified_rows,
        "annual_review_units": review_rows, "notes": notes,
    }  # fmt: skip


def to_json(report: Report) -> bytes:
    return orjson.dumps(report)


@contextmanager
def _collector_paused():
    """A report builds a few hundred thousand small containers and keeps them all: the
    cyclic garbage collector would rescan them again and again for nothing (it doubled the
    time of a 100,000-account report). Reference counting still frees what is dropped."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- publishing -------------------------------------------------------------------------


def publish(*, session: Session, report: Report, bulletin_markdown: str, published_by: str | None) -> PublishedReport:
    """Freeze a report and announce it; units marked for the annual review escalate their
    not-rectified findings. One published report per period, time point and scope."""
    scope = f"{report['region_code'] or '*'}|{report['platform'] or '*'}|{report['sample_id'] or '*'}"
    time_point = datetime.fromisoformat(report["time_point"])
    existing = session.scalar(
        select(PublishedReport).where(
            PublishedReport.period == report["period"]["label"], PublishedReport.time_point == time_point,
            PublishedReport.scope == scope,
        )
    )  # fmt: skip
    if existing is not None:
        raise Problem(409, f"该报告已于 {clock.to_beijing_iso(existing.published_at)} 发布（编号 {existing.id}），已发布的报告不可更改",
                      published_id=existing.id)  # fmt: skip
    published = PublishedReport(
        period=report["period"]["label"], time_point=time_point, scope=scope, run_id=report["run"]["id"],
        region_code=report["region_code"], platform=report["platform"], sample_id=report["sample_id"], title=report["title"],
        content=report, bulletin_markdown=bulletin_markdown, published_by=published_by, published_at=clock.now(),
    )  # fmt: skip
    session.add(published)
    session.flush()
    totals = {k: v for k, v in report["totals"].items() if k != "previous"}
    events.emit(
        session=session, type="report.published", region_code=report["region_code"],
        data={"report_id": published.id, "title": report["title"], "period": report["period"]["label"],
              "time_point": report["time_point"], "run_id": report["run"]["id"], "totals": totals},
    )  # fmt: skip
    by_finding = {row["finding_id"]: row for row in report["not_rectified"]}
    for unit in report["annual_review_units"]:
        for finding_id in unit["finding_ids"]:
            row = by_finding[finding_id]
            events.emit(
                session=session, type="finding.escalated", region_code=unit["region_code"],
                # shaped like the detection's finding events (action, finding), with why it escalated
                data={"action": "not_rectified", "annual_review": True, "periods": unit["periods"], "report_id": published.id,
                      "finding": {"id": finding_id, "rule": row["rule"], "rule_title": row["rule_title"], "title": row["title"],
                                  "unit_id": unit["unit_id"], "account_names": row["account_names"],
                                  "first_seen": row["first_seen"]},
                      "unit": {"id": unit["unit_id"], "name": unit["unit_name"], "region_code": unit["region_code"]}},
            )  # fmt: skip
    return published


def published_reports(*, session: Session, region_code: str | None):
    query = select(PublishedReport)
    if region_code:
        query = query.where(PublishedReport.region_code.startswith(region_prefix(region_code)))
    return query


def get_published(*, session: Session, report_id: int, region_code: str | None) -> PublishedReport:
    published = session.get(PublishedReport, report_id)
    if published is None:
        raise NotFound(f"已发布报告 {report_id} ")
    if region_code and not (published.region_code and published.region_code.startswith(region_prefix(region_code))):
        raise Problem(403, f"本密钥仅限地区 {region_code}，无权查看该报告")
    return published

