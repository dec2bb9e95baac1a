"""Registry import from the spreadsheets offices keep: CSV (UTF-8 with or without BOM,
UTF-16, or GBK as Excel in China saves it) or XLSX.

All rows or none: every row is checked first and one bad row rejects the file with every
bad row listed by its spreadsheet row number (the header is row 1). Accounts are upserted
on (platform, handle), so importing the same file again changes nothing."""
import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import Principal
from service.errors import Problem
from service.registry.codes import normalize_credit_code, normalize_region_code
from service.registry.models import Account, AccountStatus, Level, Unit
from service.registry.schemas import ImportResult, Source

Progress = Callable[[str, int, int], None]  # (phase, rows done, rows in all)

# Every header offices write, mapped to the field it fills; English field names work too.
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("账号名称", "账号名", "名称", "政务新媒体名称", "新媒体名称"),
    "platform": ("平台", "平台类型", "所在平台", "开设平台", "类型"),
    "unit_name": ("主办单位", "主办单位名称", "开办单位", "运营单位", "单位名称", "单位", "unit"),
    "credit_code": ("统一社会信用代码", "信用代码", "主办单位统一社会信用代码"),
    "region_code": ("地区代码", "行政区划代码", "区划代码"),
    "region_name": ("地区", "所属地区", "行政区划", "地区名称"),
    "handle": ("账号ID", "账号id", "账号Id", "账号", "账号标识", "微信号", "平台账号"),
    "level": ("级别", "账号级别", "是否主账号"),
    "filed": ("是否备案", "备案", "已备案", "备案情况"),
    "status": ("状态", "账号状态", "运行状态"),
    "source_url": ("数据源地址", "数据源", "RSS地址", "订阅地址"),
    "source_kind": ("数据源类型",),
}
HEADER_TO_FIELD = {alias.lower(): name for name, aliases in HEADERS.items() for alias in (name, *aliases)}
REQUIRED = ("name", "platform", "handle", "region_code")
# The widths of the registry's columns: longer cells are row errors, not database errors.
MAX_LENGTH = {"name": 200, "handle": 200, "unit_name": 200, "region_name": 100, "source_url": 2000}

PLATFORM_NAMES = {
    "wechat": ("微信", "微信公众号", "公众号", "微信公众平台", "微信服务号", "微信订阅号"),
    "weibo": ("微博", "新浪微博", "政务微博"),
    "douyin": ("抖音", "抖音号"),
    "toutiao": ("今日头条", "头条", "头条号"),
    "kuaishou": ("快手", "快手号"),
    "bilibili": ("哔哩哔哩", "b站", "bilibili"),
    "xiaohongshu": ("小红书",),
    "baijiahao": ("百家号",),
    "app": ("客户端", "app", "移动客户端", "政务app", "政务客户端"),
    "other": ("其他", "其它"),
}
PLATFORMS = {alias.lower(): key for key, aliases in PLATFORM_NAMES.items() for alias in (key, *aliases)}
LEVELS = {"main": Level.main, "主号": Level.main, "主账号": Level.main, "是": Level.main,
          "sub": Level.sub, "子号": Level.sub, "子账号": Level.sub, "普通": Level.sub, "否": Level.sub}
FILED = {"是": True, "已备案": True, "y": True, "yes": True, "true": True, "1": True,
         "否": False, "未备案": False, "n": False, "no": False, "false": False, "0": False}
STATUSES = {"active": AccountStatus.active, "正常": AccountStatus.active, "运行": AccountStatus.active,
            "运营中": AccountStatus.active, "suspended": AccountStatus.suspended, "暂停": AccountStatus.suspended,
            "暂停更新": AccountStatus.suspended, "停更": AccountStatus.suspended, "closed": AccountStatus.closed,
            "关闭": AccountStatus.closed, "已关闭": AccountStatus.closed, "注销": AccountStatus.closed,
            "已注销": AccountStatus.closed}
DEFAULTS = {"level": Level.sub, "filed": True, "status": AccountStatus.active}


@dataclass
class RowProblems:
    errors: list[dict] = field(default_factory=list)

    def add(self, row: int, field_name: str | None, message: str) -> None:
        self.errors.append({"row": row, "field": field_name, "message": message})


# --- reading the file ------------------------------------------------------------------------


def _decode(content: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if content.startswith(bom):
            return content.decode(encoding)
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030")  # a superset of GBK and GB2312
    except UnicodeDecodeError:
        raise Problem(422, "无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX") from None


def _csv_rows(content: bytes) -> list[list[str]]:
    text = _decode(content)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first_line.count) if first_line else ","
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 350426.0 → "350426"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _xlsx_rows(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # imported here: only uploads of XLSX pay for it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise Problem(422, f"XLSX 文件无法读取：{type(error).__name__}") from None
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_table(content: bytes) -> list[list[str]]:
    if not content.strip():
        raise Problem(422, "上传的文件为空")
    if content.startswith(b"PK\x03\x04"):  # every XLSX is a zip archive
        return _xlsx_rows(content)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        raise Problem(415, "不支持旧版 Excel（.xls）文件：请在 Excel 中另存为 .xlsx 或 CSV")
    return _csv_rows(content)


# --- checking the rows ----------------------------------------------------------------------


def _map_headers(header: list[str]) -> dict[int, str]:
    columns: dict[int, str] = {}
    for index, title in enumerate(header):
        key = "".join(title.split()).lower()
        if key in HEADER_TO_FIELD and HEADER_TO_FIELD[key] not in columns.values():
            columns[index] = HEADER_TO_FIELD[key]
    present = set(columns.values())
    missing = [HEADERS[name][0] for name in REQUIRED if name not in present]
    if "unit_name" not in present and "credit_code" not in present:
        missing.append("主办单位")
    if missing:
        raise Problem(
            422,
            f"表头缺少必需的列：{'、'.join(missing)}。可用的列名：" + "、".join(a[0] for a in HEADERS.values()),
            errors=[{"row": 1, "field": None, "message": f"缺少列：{m}"} for m in missing],
        )
    return columns


@dataclass
class ImportRow:
    row: int
    platform: str
    name: str
    handle: str
    region_code: str
    unit_name: str | None
    credit_code: str | None
    region_name: str | None
    account_fields: dict  # the optional account columns present in the file


def _lookup(value: str, table: dict, what: str, allowed: Iterable[str]):
    key = value.strip().lower()
    if key in table:
        return table[key]
    raise ValueError(f"无法识别的{what}「{value}」，可用：{'、'.join(allowed)}")


def _check_row(number: int, cells: dict[str, str], problems: RowProblems) -> ImportRow | None:
    before = len(problems.errors)
    for name in REQUIRED:
        if not cells.get(name):
            problems.add(number, name, f"{HEADERS[name][0]}不能为空")
    if not cells.get("unit_name") and not cells.get("credit_code"):
        problems.add(number, "unit_name", "主办单位与统一社会信用代码不能同时为空")
    for name, limit in MAX_LENGTH.items():
        if len(cells.get(name) or "") > limit:
            problems.add(number, name, f"{HEADERS[name][0]}过长：最多 {limit} 个字符，实际 {len(cells[name])} 个")

    def checked(name: str, check: Callable[[str], object]):
        if not cells.get(name):
            return None
        try:
            return check(cells[name])
        except ValueError as error:
            problems.add(number, name, str(error))
            return None

    platform = checked("platform", lambda v: _lookup(v, PLATFORMS, "平台", [a[0] for a in PLATFORM_NAMES.values()]))
    region_code = checked("region_code", normalize_region_code)
    credit_code = checked("credit_code", normalize_credit_code)
    fields: dict = {}
    for name, table, what in (("level", LEVELS, "级别"), ("filed", FILED, "备案情况"), ("status", STATUSES, "状态")):
        if name in cells:
            value = checked(name, lambda v, t=table, w=what: _lookup(v, t, w, [k for k in t if not k.isascii()]))
            fields[name] = DEFAULTS[name] if not cells[name] else value
    if "source_url" in cells or "source_kind" in cells:
        url = cells.get("source_url") or None
        kind = cells.get("source_kind") or ("rss" if url else None)
        try:
            source = Source(kind=kind, url=url) if kind else None
            fields["source_kind"], fields["source_url"] = (source.kind.value, source.url) if source else (None, None)
        except ValidationError as error:
            message = error.errors()[0]["msg"].removeprefix("Value error, ")
            problems.add(number, "source_url", f"数据源有误：{message}")
    if len(problems.errors) > before:
        return None
    return ImportRow(
        row=number,
        platform=platform,
        name=cells["name"],
        handle=cells["handle"],
        region_code=region_code,
        unit_name=cells.get("unit_name") or None,
        credit_code=credit_code,
        region_name=cells.get("region_name") or None,
        account_fields=fields,
    )


def check_rows(table: list[list[str]], progress: Progress | None = None) -> list[ImportRow]:
    """Every data row checked and turned into an ImportRow, or a 422 naming every bad row."""
    if not table:
        raise Problem(422, "上传的文件为空")
    columns = _map_headers(table[0])
    problems = RowProblems()
    rows: list[ImportRow] = []
    first_seen: dict[tuple[str, str], int] = {}
    total = len(table) - 1
    for number, raw in enumerate(table[1:], start=2):
        if progress:
            progress("检查", number - 1, total)
        if not any(cell.strip() for cell in raw):
            continue  # trailing blank lines that spreadsheets leave behind
        cells = {name: (raw[i].strip() if i < len(raw) else "") for i, name in columns.items()}
        row = _check_row(number, cells, problems)
        if row is None:
            continue
        key = (row.platform, row.handle)
        if key in first_seen:
            problems.add(number, "handle", f"与第 {first_seen[key]} 行重复：同一平台的账号ID {row.handle} 出现两次")
            continue
        first_seen[key] = number
        rows.append(row)
    if problems.errors:
        bad_rows = sorted({e["row"] for e in problems.errors})
        raise Problem(
            422,
            f"导入失败：共 {len(bad_rows)} 行有误（第 {'、'.join(map(str, bad_rows[:20]))}{' 等' if len(bad_rows) > 20 else ''} 行），未写入任何数据",
            errors=problems.errors,
        )
    if not rows:
        raise Problem(422, "文件中没有数据行")
    return rows


# --- writing --------------------------------------------------------------------------------


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _resolve_units(session: Session, rows: list[ImportRow], scope: Principal | None) -> tuple[dict[int, Unit], int]:
    """The unit of every row, found by credit code, else by name within its region, else created."""
    codes = sorted({r.credit_code for r in rows if r.credit_code})
    names = sorted({r.unit_name for r in rows if r.unit_name})
    by_code: dict[str, Unit] = {}
    by_name: dict[tuple[str, str], Unit] = {}
    for chunk in _chunks(codes):
        by_code.update((u.credit_code, u) for u in session.scalars(select(Unit).where(Unit.credit_code.in_(chunk))))
    for chunk in _chunks(names):
        for unit in session.scalars(select(Unit).where(Unit.name.in_(chunk))):
            by_name.setdefault((unit.name, unit.region_code), unit)
    created = 0
    problems = RowProblems()
    units: dict[int, Unit] = {}
    for row in rows:
        unit = (by_code.get(row.credit_code) if row.credit_code else None) or (
            by_name.get((row.unit_name, row.region_code)) if row.unit_name else None
        )
        if unit is not None and row.credit_code and unit.credit_code not in (None, row.credit_code):
            unit = None  # same name, another legal entity: a unit of its own
        if unit is None:
            if not row.unit_name:
                problems.add(row.row, "unit_name", f"统一社会信用代码 {row.credit_code} 未登记，新建单位需要填写主办单位名称")
                continue
            unit = Unit(name=row.unit_name, region_code=row.region_code, region_name=row.region_name, credit_code=row.credit_code)
            session.add(unit)
            created += 1
        elif row.credit_code and unit.credit_code is None:
            unit.credit_code = row.credit_code
        if row.credit_code:
            by_code[row.credit_code] = unit
        by_name.setdefault((unit.name, unit.region_code), unit)
        if scope is not None and not scope.covers(unit.region_code):
            problems.add(row.row, "region_code", f"超出本密钥的地区范围（{scope.region_code}）")
        units[row.row] = unit
    if problems.errors:
        out_of_scope = all("超出本密钥" in e["message"] for e in problems.errors)
        raise Problem(403 if out_of_scope else 422, f"导入失败：共 {len(problems.errors)} 行有误，未写入任何数据", errors=problems.errors)
    session.flush()
    return units, created


def _check_scope_of_existing(rows: list[ImportRow], existing: dict[tuple[str, str], Account], scope: Principal | None) -> None:
    """A scoped key may not take over another region's account by importing its handle."""
    if scope is None:
        return
    problems = RowProblems()
    for row in rows:
        account = existing.get((row.platform, row.handle))
        if account is not None and not scope.covers(account.unit.region_code):
            problems.add(row.row, "handle", f"该账号已登记在地区 {account.unit.region_code}，超出本密钥的地区范围（{scope.region_code}）")
    if problems.errors:
        raise Problem(403, f"导入失败：共 {len(problems.errors)} 行超出本密钥的地区范围，未写入任何数据", errors=problems.errors)


def import_accounts(
    *, session: Session, content: bytes, scope: Principal | None, progress: Progress | None = None
) -> ImportResult:
    rows = check_rows(read_table(content), progress)
    units, units_created = _resolve_units(session, rows, scope)
    existing: dict[tuple[str, str], Account] = {}
    for chunk in _chunks(sorted({r.handle for r in rows})):
        for account in session.scalars(select(Account).where(Account.handle.in_(chunk))):
            existing[(account.platform, account.handle)] = account
    _check_scope_of_existing(rows, existing, scope)
    result = ImportResult(rows=len(rows), accounts_created=0, accounts_updated=0, accounts_unchanged=0, units_created=units_created)
    for done, row in enumerate(rows, start=1):
        fields = {"name": row.name, "unit_id": units[row.row].id, **row.account_fields}
        account = existing.get((row.platform, row.handle))
        if account is None:
            session.add(Account(platform=row.platform, handle=row.handle, **{**DEFAULTS, **fields}))
            result.accounts_created += 1
        elif any(getattr(account, k) != v for k, v in fields.items()):
            for key, value in fields.items():
                setattr(account, key, value)
            result.accounts_updated += 1
        else:
            result.accounts_unchanged += 1
        if progress:
            progress("写入", done, len(rows))
    session.flush()
    return result
