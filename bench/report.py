"""Report benchmark (issue 5): the inspection report of a quarter over 100,000 accounts with
their findings, on PostgreSQL (target ≤ 5 s) and optionally SQLite.

    .venv/bin/python bench/report.py                          # 100,000 accounts, PostgreSQL
    .venv/bin/python bench/report.py --database sqlite --accounts 20000
    .venv/bin/python bench/report.py --keep                   # leave the database for a look

What it builds, straight into a fresh, migrated database (PostgreSQL: a new database on the
server of --url, dropped at the end unless --keep; SQLite: a temporary file):
- units (accounts / 4) under ~3,000 six-digit region codes across 31 provinces;
- accounts over every platform, 15% main accounts, 3% closed;
- three completed full detection runs, at the ends of 2020 Q1, Q2 and Q3, each with the
  findings it left (detection_run_findings, as run_detection records them): ~12% of the accounts
  silent (a single veto), ~3% with unanswered messages, ~1% with a stop notice, a duplicate
  finding for units with two accounts on one platform; most problems persist from one quarter
  to the next, so rectification and the annual review have work to do.
Rows are loaded with COPY on PostgreSQL and executemany on SQLite; that time is printed apart.

Timed, each in a new session: the report of 2020Q3 (what GET /v1/reports/inspection computes,
comparison with Q2 and rectification over Q1–Q3 included), its JSON serialisation, the
bulletin draft, and the XLSX export. The report is the figure held against the target."""
import argparse
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

TARGET_SECONDS = 5.0
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PLATFORMS = ["wechat", "weibo", "douyin", "toutiao", "kuaishou", "bilibili", "xiaohongshu", "baijiahao", "app", "other"]
PLATFORM_WEIGHTS = [34, 20, 16, 10, 6, 3, 3, 4, 2, 2]
SHANGHAI = timezone(timedelta(hours=8))
TIME_POINTS = [datetime(2020, 3, 31, 23, 59, 59, tzinfo=SHANGHAI), datetime(2020, 6, 30, 23, 59, 59, tzinfo=SHANGHAI),
               datetime(2020, 9, 30, 23, 59, 59, tzinfo=SHANGHAI)]  # fmt: skip


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def plan(accounts: int, seed: int) -> dict:
    rng = random.Random(seed)
    provinces = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
                 "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"]  # fmt: skip
    regions = []
    for p in provinces:
        regions.append(f"{p}0000")
        for city in range(1, 10):
            regions.append(f"{p}{city:02d}00")
            regions += [f"{p}{city:02d}{county:02d}" for county in range(1, rng.randint(6, 12))]
    n_units = max(accounts // 4, 10)
    units = [(u, f"单位{u}", rng.choice(regions)) for u in range(1, n_units + 1)]
    owners = list(range(1, n_units + 1)) + [rng.randint(1, n_units) for _ in range(accounts - n_units)]
    rows, seen = [], set()
    for a, unit in enumerate(sorted(owners[:accounts]), start=1):
        platform = rng.choices(PLATFORMS, weights=PLATFORM_WEIGHTS)[0]
        status = "closed" if rng.random() < 0.03 else "active"
        rows.append((a, platform, f"账号{a}", f"bench_{a}", unit, "main" if rng.random() < 0.15 else "sub", status))
        seen.add((unit, platform))
    # What each account suffers from, quarter by quarter: most problems persist.
    problems = {}
    for a, platform, *_ in rows:
        r = rng.random()
        kind = "silent" if r < 0.12 else "unresponsive" if r < 0.15 else "stop" if r < 0.16 else None
        if kind:
            start = rng.choice([0, 0, 1, 2])
            end = rng.choice([start + 1, 3, 3])
            problems[a] = (kind, start, end)
    by_unit_platform: dict[tuple[int, str], list[int]] = {}
    for a, platform, _name, _handle, unit, _level, status in rows:
        if status == "active":
            by_unit_platform.setdefault((unit, platform), []).append(a)
    duplicates = [(unit, platform, ids) for (unit, platform), ids in by_unit_platform.items() if len(ids) > 1]
    return {"units": units, "accounts": rows, "problems": problems, "duplicates": duplicates}


RULES = {"silent": ("dormant", "dormant.no_update_14d", "medium", "dormant.silence"),
         "unresponsive": ("unresponsive", "unresponsive.overdue_replies", "high", "unresponsive.overdue_replies"),
         "stop": ("dormant", "dormant.stop_declared", "high", "dormant.stop_declared")}  # fmt: skip


def rows_of(world: dict) -> dict[str, list[tuple]]:
    now = utc(datetime.now(timezone.utc))
    created = "2019-01-01 00:00:00"
    unit_region = {u: region for u, _, region in world["units"]}
    units = [(u, name, region, None, created, created) for u, name, region in world["units"]]
    accounts = [(a, p, n, h, u, level, True, status, 0, created, created) for a, p, n, h, u, level, status in world["accounts"]]
    platform_of = {a[0]: a[1] for a in world["accounts"]}
    unit_of = {a[0]: a[4] for a in world["accounts"]}
    runs = [(q + 1, utc(tp), False, "bench", "completed", now, now, len(accounts), "{}", "{}") for q, tp in enumerate(TIME_POINTS)]
    findings, links, held = [], [], []
    fid = 0
    for a, (kind, start, end) in world["problems"].items():
        fid += 1
        finding_type, rule, severity, problem = RULES[kind]
        status = "open" if end == 3 else "resolved"
        findings.append((fid, f"{problem}:account:{a}", finding_type, rule, severity, ["low", "medium", "high"].index(severity),
                         status, unit_of[a], unit_region[unit_of[a]], platform_of[a], f"「账号{a}」{rule}", "{}",
                         utc(TIME_POINTS[start]), utc(TIME_POINTS[end - 1]), 0, end, now, now))  # fmt: skip
        links.append((fid, a))
        held += [(q + 1, fid, rule, severity, f"「账号{a}」{rule}") for q in range(start, end)]
    for unit, platform, ids in world["duplicates"]:
        fid += 1
        findings.append((fid, f"duplicate.same_unit_platform:unit:{unit}:{platform}", "duplicate", "duplicate.same_unit_platform",
                         "medium", 1, "open", unit, unit_region[unit], platform, f"单位{unit}在同一平台开设 {len(ids)} 个账号", "{}",
                         utc(TIME_POINTS[0]), utc(TIME_POINTS[2]), 0, 3, now, now))  # fmt: skip
        links += [(fid, a) for a in ids]
        held += [(q + 1, fid, "duplicate.same_unit_platform", "medium", f"单位{unit}在同一平台开设 {len(ids)} 个账号") for q in range(3)]
    return {
        "units (id, name, region_code, region_name, created_at, updated_at)": units,
        "accounts (id, platform, name, handle, unit_id, level, filed, status, source_failures, created_at, updated_at)": accounts,
        "detection_runs (id, as_of, incremental, trigger, status, started_at, finished_at, accounts_checked, counts, transitions)": runs,
        "findings (id, fingerprint, type, rule, severity, severity_rank, status, unit_id, region_code, platform, title, evidence, "
        "first_seen, last_seen, reopen_count, last_run_id, created_at, updated_at)": findings,
        "finding_accounts (finding_id, account_id)": links,
        "detection_run_findings (run_id, finding_id, rule, severity, title)": held,
    }


def load(url: str, tables: dict[str, list[tuple]]) -> None:
    from service.db import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        for target, rows in tables.items():
            if engine.dialect.name == "postgresql":
                with raw.cursor().copy(f"COPY {target} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                columns = target[target.index("(") :]
                marks = ",".join("?" * len(rows[0])) if rows else ""
                if rows:
                    raw.executemany(f"INSERT INTO {target.split(' ')[0]} {columns} VALUES ({marks})", rows)
        if engine.dialect.name == "postgresql":
            for table in ("units", "accounts", "detection_runs", "findings"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
            connection.execute(text("ANALYZE"))
    engine.dispose()


def timed(label: str, action):
    """Wall-clock seconds, and this process's CPU seconds: on a shared machine the first
    includes waiting for a core, the second does not (nor the database server's work)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = action()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    print(f"  {label:<52} {seconds:7.2f} s wall  {cpu_seconds:7.2f} s CPU")
    return result, seconds


def bench(url: str, accounts: int, seed: int) -> float:
    from service import schema
    from service.config import Settings
    from service.db import make_engine, make_sessionmaker
    from service.reports import bulletin, exports, periods
    from service.reports import service as reports

    schema.upgrade(url)
    world = plan(accounts, seed)
    tables = rows_of(world)
    _, seconds = timed("load (COPY / executemany)", lambda: load(url, tables))
    print(f"  {len(world['units']):,} units, {accounts:,} accounts, {len(tables[list(tables)[3]]):,} findings, "
          f"{len(tables[list(tables)[5]]):,} run-finding rows")  # fmt: skip
    settings = Settings(database_url=url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    period = periods.parse("2020Q3")

    def report():
        with sessions() as session:
            return reports.inspection_report(session=session, settings=settings, period=period)

    timed("warm-up report (first connection, imports)", report)
    result, report_seconds = timed("report 2020Q3 (with Q2 comparison, rectification)", report)
    body, _ = timed("report as JSON (what the endpoint sends)", lambda: reports.to_json(result))
    timed("bulletin draft (Markdown + HTML)", lambda: bulletin.html(bulletin.markdown(result), result["title"]))
    timed("XLSX export", lambda: exports.to_xlsx(result))
    totals = result["totals"]
    print(f"  totals: checked {totals['checked']:,}, unqualified {totals['unqualified']:,}, pass rate {totals['pass_rate']:.2f}% "
          f"(Q2 {totals['previous']['pass_rate']:.2f}%); {len(result['units']):,} units, {len(result['regions']):,} regions, "
          f"{len(result['not_rectified']):,} not rectified, {len(result['annual_review_units']):,} units for the annual review; "
          f"JSON {len(body) / 1e6:.1f} MB")  # fmt: skip
    engine.dispose()
    return report_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--url", default=os.environ.get("ZW_BENCH_DATABASE_URL", DEFAULT_PG_URL), help="PostgreSQL server to create the bench database on")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    print(f"report benchmark: {args.accounts:,} accounts on {args.database}")
    if args.database == "sqlite":
        directory = tempfile.mkdtemp(prefix="zw-bench-report-")
        seconds = bench(f"sqlite:///{directory}/bench.db", args.accounts, args.seed)
        print(f"report: {seconds:.2f} s on SQLite ({'kept in ' + directory if args.keep else 'file removed'})")
        if not args.keep:
            import shutil

            shutil.rmtree(directory)
        return 0
    from sqlalchemy import create_engine

    name = f"zw_bench_report_{os.getpid()}"
    server = create_engine(make_url(args.url), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    try:
        seconds = bench(url, args.accounts, args.seed)
    finally:
        if not args.keep:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
    verdict = "within" if seconds <= TARGET_SECONDS else "OVER"
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores: wall time includes waiting for a core; the CPU figures do not")
    print(f"report: {seconds:.2f} s on PostgreSQL for {args.accounts:,} accounts — {verdict} the {TARGET_SECONDS:.0f} s target"
          + (f" (database {name} kept)" if args.keep else ""))
    return 0 if seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
