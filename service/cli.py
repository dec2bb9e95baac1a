"""The `zombiewatch` command."""
import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from service.config import get_settings
from service.db import make_engine, make_sessionmaker
from service.errors import Problem

console = Console(stderr=True)


@contextmanager
def database_session() -> Iterator[Session]:
    """A session that commits when the command succeeds."""
    engine = make_engine(get_settings().database_url, application_name="zombiewatch-cli")
    try:
        with make_sessionmaker(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def progress_bar() -> Iterator:
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        tasks: dict[str, int] = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield advance


def _fail(problem: Problem) -> int:
    console.print(f"[red]错误：{problem.detail}[/red]")
    for error in (problem.errors or [])[:200]:
        where = f"第 {error['row']} 行 " if error.get("row") else ""
        console.print(f"  {where}{error.get('field') or ''}：{error['message']}")
    return 1


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host
    print(f"zombiewatch: Swagger UI at http://{host}:{args.port}/docs", flush=True)
    uvicorn.run("service.app:create_app", factory=True, host=args.host, port=args.port, log_config=None)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from service import schema

    url = get_settings().database_url
    if args.downgrade:
        schema.downgrade(url, args.downgrade)
    else:
        schema.upgrade(url, args.revision)
    console.print("数据库已迁移到 " + (args.downgrade or args.revision))
    return 0


def cmd_demo_load(args: argparse.Namespace) -> int:
    from service import demo

    with database_session() as session:
        if args.if_empty and not demo.is_empty(session=session):
            console.print("数据库已有数据，未加载演示数据")
            return 0
        with progress_bar() as advance:
            loaded = demo.load(session=session, settings=get_settings(), monitoring_time=args.as_of, progress=advance)
    registry = loaded.registry
    console.print(
        f"演示数据已加载：新建单位 {registry.units_created} 个，账号新增 {registry.accounts_created}、"
        f"更新 {registry.accounts_updated}、未变 {registry.accounts_unchanged}；动态 {loaded.posts_written} 条；"
        f"已在监测时间点 {loaded.monitoring_time:%Y-%m-%d %H:%M} 运行检测（检测记录 {loaded.detection_run_id}）"
    )
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    from service.detection.runner import run_detection

    with database_session() as session:
        with console.status("检测中…"):
            run = run_detection(
                session=session, settings=get_settings(), as_of=args.as_of, region_code=args.region,
                unit_id=args.unit, incremental=args.incremental, trigger="cli",
            )  # fmt: skip
    console.print(f"检测完成（记录 {run.id}）：监测时间点 {run.as_of:%Y-%m-%d %H:%M}，检查账号 {run.accounts_checked} 个")
    for rule, count in sorted(run.counts["by_rule"].items()):
        console.print(f"  {rule}: {count}")
    console.print("  状态变化：" + ("、".join(f"{k} {v}" for k, v in sorted(run.transitions.items())) or "无"))
    return 0


def _moment(text: str):
    from datetime import datetime

    from service import clock

    try:
        return clock.as_aware(datetime.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"时间格式无效：{text}（例：2020-06-30T23:59:59+08:00）") from None


def cmd_import(args: argparse.Namespace) -> int:
    from service.registry import importing

    content = Path(args.file).read_bytes()
    try:
        with database_session() as session, progress_bar() as advance:
            result = importing.import_accounts(session=session, content=content, scope=None, progress=advance)
    except Problem as problem:
        return _fail(problem)
    console.print(
        f"导入完成：{result.rows} 行；账号新增 {result.accounts_created}、更新 {result.accounts_updated}、"
        f"未变 {result.accounts_unchanged}；新建单位 {result.units_created}"
    )
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    """One poll pass (--once), or a pass every ZW_POLL_TICK_SECONDS until interrupted."""
    import asyncio
    import time

    from service.activity import poller

    settings = get_settings()
    engine = make_engine(settings.database_url, application_name="zombiewatch-poller")
    try:
        while True:
            with progress_bar() as advance:
                summary = asyncio.run(poller.run_pass(
                    sessionmaker=make_sessionmaker(engine), settings=settings, force=args.force,
                    progress=lambda done, total: advance("抓取账号动态", done, total),
                ))  # fmt: skip
            console.print(
                f"抓取完成：账号 {summary.accounts_polled} 个；新增帖子 {summary.new_posts}、更新 {summary.updated_posts}；"
                f"新增留言 {summary.new_interactions}、更新 {summary.updated_interactions}；"
                f"无新内容 {summary.not_modified}；失败 {summary.errors}"
                + (f"；已增量检测（检测记录 {summary.detection_run_id}）" if summary.detection_run_id else "")
            )
            if args.once:
                return 0
            time.sleep(settings.poll_tick_seconds)
    except KeyboardInterrupt:
        return 130
    finally:
        engine.dispose()


def cmd_report(args: argparse.Namespace) -> int:
    from service.reports import exports

    try:
        with database_session() as session:
            content = exports.render(
                session=session, settings=get_settings(), period=args.period, format=args.format, table=args.table,
                region_code=args.region, as_of=args.as_of,
            )  # fmt: skip
    except Problem as problem:
        return _fail(problem)
    if args.out:
        Path(args.out).write_bytes(content)
        console.print(f"报告已写入 {args.out}")
    elif args.format == "xlsx":
        console.print("[red]错误：XLSX 是二进制文件，请用 --out 指定输出文件[/red]")
        return 2
    else:
        sys.stdout.buffer.write(content)
    return 0


def cmd_apikey_create(args: argparse.Namespace) -> int:
    from service import auth
    from service.registry.codes import normalize_region_code

    try:
        region = normalize_region_code(args.region) if args.region else None
    except ValueError as error:
        console.print(f"[red]错误：{error}[/red]")
        return 2
    with database_session() as session:
        key, plain = auth.create_key(session=session, name=args.name, role=auth.Role(args.role), region_code=region)
    console.print(f"已创建 {key.role} 密钥 #{key.id}（{key.name}{'，限地区 ' + region if region else ''}）。完整密钥只显示这一次：")
    print(plain)
    return 0


def cmd_apikey_list(_args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from service.auth import ApiKey

    with database_session() as session:
        for key in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            state = "已吊销" if key.revoked_at else "有效"
            print(f"#{key.id}\t{key.prefix}…\t{key.role}\t{key.region_code or '全部地区'}\t{state}\t{key.name}")
    return 0


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    from service import auth

    try:
        with database_session() as session:
            auth.revoke_key(session=session, key_id=args.id)
    except Problem as problem:
        return _fail(problem)
    console.print(f"密钥 #{args.id} 已吊销")
    return 0


def cmd_apikey_ensure_admin(_args: argparse.Namespace) -> int:
    """Tells which admin key to use, creating one the first time if none is configured."""
    from service import auth

    if get_settings().admin_key:
        print("管理员密钥：使用环境变量 ZW_ADMIN_KEY 的值（在 Swagger UI 的 Authorize 中填入）")
        return 0
    with database_session() as session:
        if auth.has_admin_key(session=session):
            print("管理员密钥：使用首次启动时打印的密钥；如已遗失，运行 `zombiewatch apikey create --role admin` 新建一个，"
                  "或设置 ZW_ADMIN_KEY")
            return 0
        _key, plain = auth.create_key(session=session, name="make run", role=auth.Role.admin, region_code=None)
    print("已生成管理员密钥（只显示这一次，请保存；在 Swagger UI 的 Authorize 中填入）：")
    print(plain, flush=True)
    return 0


def cmd_classifier_train(args: argparse.Namespace) -> int:
    from service.detection.classifier import training

    settings = get_settings()
    out = Path(args.out or settings.classifier_dir)
    human = []
    if not args.corpus_only:
        with database_session() as session:
            human = training.human_examples(session=session)
    backends = ["transparent", "semantic"] if args.backend == "all" else [args.backend]
    for backend in backends:
        console.print(f"训练 {backend} 模型：语料训练集加人工标注 {len(human)} 条……")
        model = training.train_model(backend=backend, model_dir=out, human=human, threshold=settings.classifier_threshold)
        held_out = model.meta["held_out"]
        console.print(
            f"已写出 {out / (model.version + '.npz')}（版本 {model.version}）；留出测试集 {held_out['posts']} 条："
            f"off_topic 精确率 {held_out['precision']:.3f}、召回率 {held_out['recall']:.3f}、F1 {held_out['f1']:.3f}"
        )
    console.print("服务会在下一次分类时自动改用新模型，无需重启。")
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from service.app import create_app

    text = json.dumps(create_app().openapi(), ensure_ascii=False, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zombiewatch", description="政务新媒体常态化监测服务")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="运行 HTTP 服务（不会自动加载演示数据）")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="把数据库迁移到最新版本")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.add_argument("--downgrade", metavar="REVISION", help="回退到指定版本（base 为清空）")
    migrate.set_defaults(handler=cmd_migrate)

    demo = commands.add_parser("demo", help="演示数据").add_subparsers(dest="demo_command", required=True)
    load = demo.add_parser("load", help="加载 2020 年通报中的单位与账号")
    load.add_argument("--if-empty", action="store_true", help="仅在数据库没有任何单位时加载")
    load.add_argument("--as-of", type=_moment, help="演示动态所对应的监测时间点（如 2020-06-30T23:59:59+08:00），默认现在")
    load.set_defaults(handler=cmd_demo_load)

    detect = commands.add_parser("detect", help="立即运行检测")
    detect.add_argument("--as-of", type=_moment, help="监测时间点（ISO 8601，无时区按北京时间），默认现在")
    detect.add_argument("--region", help="只检查该地区（6 位行政区划代码，按前缀）")
    detect.add_argument("--unit", type=int, help="只检查该单位")
    detect.add_argument("--incremental", action="store_true", help="只检查上次检测以来有变化的账号")
    detect.set_defaults(handler=cmd_detect)

    report = commands.add_parser("report", help="检查报告：通报草稿（md/html）或报告表格（csv/xlsx）")
    report.add_argument("--period", required=True, help="检查周期：2020Q2、2020H1、2020-06 或 2020")
    report.add_argument("--format", choices=["md", "html", "csv", "xlsx"], default="md")
    report.add_argument("--table", default="units", help="CSV 导出哪张表：totals、kinds、regions、units、unqualified……")
    report.add_argument("--region", help="只统计该地区（6 位行政区划代码）")
    report.add_argument("--as-of", type=_moment, help="监测时间点，默认周期末")
    report.add_argument("--out", help="写入文件而不是标准输出")
    report.set_defaults(handler=cmd_report)

    importing = commands.add_parser("import", help="导入 CSV 或 XLSX 登记表（全部成功或全部不写）")
    importing.add_argument("file")
    importing.set_defaults(handler=cmd_import)

    poll = commands.add_parser("poll", help="抓取 rss/json 数据源的账号动态")
    poll.add_argument("--once", action="store_true", help="只抓取一轮（默认每 ZW_POLL_TICK_SECONDS 秒一轮，直到中断）")
    poll.add_argument("--force", action="store_true", help="抓取全部启用中的账号，不论是否到期")
    poll.set_defaults(handler=cmd_poll)

    apikey = commands.add_parser("apikey", help="API 密钥").add_subparsers(dest="apikey_command", required=True)
    create = apikey.add_parser("create", help="创建密钥，完整密钥只打印一次")
    create.add_argument("--role", choices=["admin", "editor", "reader"], required=True)
    create.add_argument("--region", help="限定地区（6 位行政区划代码）")
    create.add_argument("--name", default="cli")
    create.set_defaults(handler=cmd_apikey_create)
    apikey.add_parser("list", help="列出密钥").set_defaults(handler=cmd_apikey_list)
    revoke = apikey.add_parser("revoke", help="吊销密钥")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=cmd_apikey_revoke)
    apikey.add_parser("ensure-admin", help="说明使用哪个管理员密钥，必要时生成一个").set_defaults(
        handler=cmd_apikey_ensure_admin
    )

    classifier = commands.add_parser("classifier", help="内容分类模型").add_subparsers(dest="classifier_command", required=True)
    train = classifier.add_parser("train", help="用语料和人工标注重新训练，写出带版本号的模型文件")
    train.add_argument("--backend", choices=["transparent", "semantic", "all"], default="transparent")
    train.add_argument("--out", help="模型目录（默认 ZW_CLASSIFIER_DIR）")
    train.add_argument("--corpus-only", action="store_true", help="不读数据库中的人工标注")
    train.set_defaults(handler=cmd_classifier_train)

    openapi = commands.add_parser("openapi", help="输出 OpenAPI 规范")
    openapi.add_argument("--out", help="写入文件而不是标准输出")
    openapi.set_defaults(handler=cmd_openapi)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
