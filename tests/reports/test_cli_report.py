"""`zombiewatch report` as an operator runs it, after `zombiewatch demo load --as-of`."""
import csv
import io

from openpyxl import load_workbook

from service import cli
from tests.test_cli import cli_database  # noqa: F401 - the CLI's own SQLite file


def test_report_prints_the_demo_bulletin_and_writes_tables(cli_database, tmp_path, capsysbinary):  # noqa: F811
    assert cli.main(["demo", "load", "--as-of", "2020-06-30T23:59:59+08:00"]) == 0
    capsysbinary.readouterr()
    assert cli.main(["report", "--period", "2020Q2"]) == 0
    markdown = capsysbinary.readouterr().out.decode("utf-8")
    assert markdown.startswith("# 关于2020年第二季度政务新媒体检查情况的通报") and "天津市滨海新区商务局“滨海商旅”" in markdown

    assert cli.main(["report", "--period", "2020Q2", "--format", "csv", "--table", "kinds"]) == 0
    rows = list(csv.reader(io.StringIO(capsysbinary.readouterr().out.decode("utf-8").lstrip("\ufeff"))))
    assert rows[0][0] == "平台" and {row[0] for row in rows[1:]} == {"微信公众号", "微博"}

    out = tmp_path / "report.xlsx"
    assert cli.main(["report", "--period", "2020Q2", "--format", "xlsx", "--out", str(out)]) == 0
    assert "按地区" in load_workbook(out).sheetnames
    page = tmp_path / "report.html"
    assert cli.main(["report", "--period", "2020Q2", "--format", "html", "--out", str(page)]) == 0
    assert "<svg" in page.read_text(encoding="utf-8")


def test_report_without_a_run_at_the_time_point_says_how_to_make_one(cli_database, capsys):  # noqa: F811
    assert cli.main(["demo", "load", "--as-of", "2020-06-30T23:59:59+08:00"]) == 0
    assert cli.main(["report", "--period", "2020Q3"]) == 1
    assert "zombiewatch detect --as-of 2020-09-30T23:59:59+08:00" in capsys.readouterr().err.replace("\n", "")
    assert cli.main(["report", "--period", "2020Q9"]) == 1
