"""A report's tables for offices: CSV (one table), XLSX (every table, one sheet each), both
with Chinese headers, and a printable HTML page with pass-rate bars by region drawn as
inline SVG — no scripts, no fonts fetched from anywhere."""
import csv
import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from service.clock import SHANGHAI
from service.config import Settings
from service.errors import Problem
from service.registry.codes import normalize_region_code
from service.reports import bulletin, periods
from service.reports import service as reports
from service.reports.service import Report

FIGURE_HEADERS = ["登记数", "检查数", "合格数", "不合格数", "合格率(%)", "抽查率(%)", "上期合格率(%)", "合格率变化(百分点)"]


def _number(value: float | None) -> Decimal | str:
    # a Decimal keeps the two places bulletins print: 75.00, not 75.0
    return "" if value is None else Decimal(f"{value:.2f}")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _figures(row: dict) -> list:
    previous = row['previous']['pass_rate'] if row['previous'] else None
    return [row['registered'], row['checked'], row['qualified'], row['unqualified'], _number(row['pass_rate']), _number(row['spot_check_rate']),
            _number(previous), _number(row['pass_rate_change'])]  # fmt: skip


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list]


def tables(report: Report) -> list[Table]:
    return [
        Table("totals", "总体", ["范围", *FIGURE_HEADERS], [[report['title'], *_figures(report['totals'])]]),
        Table("kinds", "按平台", ["平台", *FIGURE_HEADERS], [[k['platform_label'], *_figures(k)] for k in report['kinds']]),
        Table("regions", "按地区", ["地区代码", "地区", *FIGURE_HEADERS],
              [[r['region_code'], r['region_name'] or "", *_figures(r)] for r in report['regions']]),
        Table("units", "按单位", ["单位编号", "主办单位", "地区代码", *FIGURE_HEADERS, "未整改问题数", "纳入年度绩效考评"],
              [[u['unit_id'], u['unit_name'], u['region_code'], *_figures(u), u['not_rectified'], "是" if u['annual_review'] else "否"]
               for u in report['units']]),
        Table("unqualified", "不合格账号", ["账号编号", "账号名称", "平台", "主办单位", "地区代码", "不合格原因"],
              [[a['account_id'], a['name'], a['platform'], a['unit_name'], a['region_code'], "；".join(r['title'] for r in a['reasons'])]
               for a in report['unqualified_accounts']]),
        Table("failures_by_type", "问题类型", ["问题类型", "问题数", "涉及账号数"],
              [[f['type_label'], f['findings'], f['accounts']] for f in report['failures_by_type']]),
        Table("failures_by_rule", "问题规则", ["问题类型", "规则代码", "规则", "问题数", "涉及账号数"],
              [[f['type_label'], f['rule'], f['rule_title'], f['findings'], f['accounts']] for f in report['failures_by_rule']]),
        Table("not_rectified", "未整改问题", ["问题编号", "主办单位", "账号", "规则", "问题描述", "首次发现"],
              [[n['finding_id'], n['unit_name'] or "", "、".join(n['account_names']), n['rule_title'], n['title'],
                datetime.fromisoformat(n['first_seen']).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")] for n in report['not_rectified']]),
        Table("annual_review", "纳入年度绩效考评", ["单位编号", "主办单位", "地区代码", "连续未整改周期", "问题编号"],
              [[u['unit_id'], u['unit_name'], u['region_code'], "、".join(u['periods']), "、".join(map(str, u['finding_ids']))]
               for u in report['annual_review_units']]),
    ]  # fmt: skip


TABLE_KEYS = ["totals", "kinds", "regions", "units", "unqualified", "failures_by_type", "failures_by_rule", "not_rectified",
              "annual_review"]  # fmt: skip


def to_csv(report: Report, table: str = "units") -> bytes:
    """One table as UTF-8 CSV with a BOM, so that Excel opens the Chinese headers."""
    chosen = next(t for t in tables(report) if t.key == table)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(chosen.headers)
    writer.writerows(chosen.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    # write-only: a report over 100,000 accounts streams its rows instead of building a grid
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)

    def cell(sheet, value, **style):
        written = WriteOnlyCell(sheet, value=value)
        for name, setting in style.items():
            setattr(written, name, setting)
        return written

    for table in [*tables(report), Table("notes", "说明", ["说明"], [[note] for note in report['notes']])]:
        sheet = workbook.create_sheet(table.title)
        sheet.freeze_panes = "A2"
        sheet.append([cell(sheet, header, font=bold) for header in table.headers])
        for row in table.rows:
            sheet.append([cell(sheet, v, number_format="0.00") if isinstance(v, Decimal) else v for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the printable HTML view ----------------------------------------------------------------

BAR_WIDTH = 360
ROW_HEIGHT = 26
LABEL_WIDTH = 180


def pass_rate_bars(report: Report) -> str:
    """Pass rate per region as horizontal bars; the previous period's as a tick mark."""
    rows = [r for r in report['regions'] if r['checked']]
    height = ROW_HEIGHT * len(rows) + 30
    width = LABEL_WIDTH + BAR_WIDTH + 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-size="13"><title>各地区合格率</title>',
        f'<line x1="{LABEL_WIDTH}" y1="0" x2="{LABEL_WIDTH}" y2="{height - 24}" stroke="#000"/>',
    ]
    for tick in (0, 50, 100):
        x = LABEL_WIDTH + BAR_WIDTH * tick / 100
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{tick}%</text>')
    for i, row in enumerate(rows):
        y = i * ROW_HEIGHT + 4
        rate = float(row['pass_rate'] or 0)
        # shades of grey print legibly in black and white; low rates are darker
        shade = "#333" if rate < 80 else "#777" if rate < 95 else "#aaa"
        label = escape(row['region_name'] or row['region_code'])
        shown, before = _rate(row['pass_rate']), _rate(row['previous']['pass_rate']) if row['previous'] else "—"
        parts += [
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{label}</text>',
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{BAR_WIDTH * rate / 100:.1f}" height="{ROW_HEIGHT - 8}" fill="{shade}" stroke="#000">'
            f"<title>{label}：{shown}（{row['qualified']}/{row['checked']}）</title></rect>",
            f'<text x="{LABEL_WIDTH + BAR_WIDTH * rate / 100 + 6:.1f}" y="{y + 15}">{shown}</text>',
        ]
        if row['previous'] and row['previous']['pass_rate'] is not None:
            x = LABEL_WIDTH + BAR_WIDTH * float(row['previous']['pass_rate']) / 100
            parts.append(f'<line x1="{x:.1f}" y1="{y - 2}" x2="{x:.1f}" y2="{y + ROW_HEIGHT - 6}" stroke="#000" stroke-width="2" '
                         f'stroke-dasharray="3,2"><title>上期 {before}</title></line>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def to_html(report: Report, bulletin_markdown: str | None = None) -> str:
    """The bulletin draft, then the bars and every table: one page to print."""
    draft = bulletin.body_html(bulletin_markdown or bulletin.markdown(report))

    def table_html(table) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in table.rows)
        return f"<h2>{escape(table.title)}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    shown = [t for t in tables(report) if t.key != "totals" and t.rows]
    totals = report['totals']
    summary = (
        f"<p>监测时间点 {datetime.fromisoformat(report['time_point']).astimezone(SHANGHAI):%Y-%m-%d %H:%M}："
        f"登记 {totals['registered']} 个，检查 {totals['checked']} 个，合格 {totals['qualified']} 个，合格率 {_rate(totals['pass_rate'])}。</p>"
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in report['notes'])
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(report['title'])}</title><style>{bulletin.PRINT_CSS}"
        "svg{display:block;margin:1em auto;max-width:100%}td,th{font-size:.9em}h2{page-break-after:avoid}"
        "table{page-break-inside:auto}tr{page-break-inside:avoid}hr{page-break-after:always;border:0}</style></head><body>"
        f"{draft}<hr><h1>附：检查数据</h1>{summary}<h2>各地区合格率</h2>"
        f"<p>柱为本期合格率，虚线为上期合格率。</p>{pass_rate_bars(report)}"
        + "".join(table_html(t) for t in shown)
        + f"<h2>口径说明</h2><ul>{notes}</ul></body></html>\n"
    )


def render(
    *, session: Session, settings: Settings, period: str, format: str, table: str = "units",
    region_code: str | None = None, as_of: datetime | None = None,
) -> bytes:  # fmt: skip
    """A report as a file: md (bulletin draft), html (printable page), csv (one table) or xlsx."""
    try:
        chosen = periods.parse(period)
        region_code = normalize_region_code(region_code) if region_code else None
    except ValueError as error:
        raise Problem(422, str(error)) from None
    if table not in TABLE_KEYS:
        raise Problem(422, f"没有名为 {table} 的表：可选 {'、'.join(TABLE_KEYS)}")
    report = reports.inspection_report(session=session, settings=settings, period=chosen, as_of=as_of, region_code=region_code)
    if format == "md":
        return bulletin.markdown(report).encode("utf-8")
    if format == "html":
        return to_html(report).encode("utf-8")
    if format == "csv":
        return to_csv(report, table)
    return to_xlsx(report)
