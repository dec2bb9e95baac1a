"""The `zombiewatch` command as an operator runs it, on its own SQLite file."""
import csv
import io
import json

import pytest
from sqlalchemy import func, select

from service import cli
from service.auth import ApiKey
from service.config import get_settings
from service.db import make_engine, make_sessionmaker
from service.registry.models import Account, Unit
from tests import factories


@pytest.fixture
def cli_database(tmp_path, monkeypatch):
    monkeypatch.setenv("ZW_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.delenv("ZW_ADMIN_KEY", raising=False)
    get_settings.cache_clear()
    assert cli.main(["migrate"]) == 0
    engine = make_engine(get_settings().database_url)
    yield make_sessionmaker(engine)
    engine.dispose()
    get_settings.cache_clear()


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_demo_load_fills_an_empty_database_once(cli_database):
    assert cli.main(["demo", "load", "--if-empty"]) == 0
    accounts = count(cli_database, Account)
    assert accounts == 30
    assert cli.main(["demo", "load", "--if-empty"]) == 0
    assert cli.main(["demo", "load"]) == 0  # loading again changes nothing
    assert count(cli_database, Account) == accounts


def test_import_writes_a_spreadsheet_or_names_its_bad_rows(cli_database, tmp_path, capsys):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    header = ["账号名称", "平台", "账号ID", "主办单位", "统一社会信用代码", "地区代码"]
    row = ["尤溪警察蜀黍", "微信公众号", "youxi_jingcha", "尤溪县公安局", factories.credit_code("350426", 7), "350426"]

    def write(path, rows):
        buffer = io.StringIO()
        csv.writer(buffer).writerows([header, *rows])
        path.write_text(buffer.getvalue(), encoding="gbk")

    write(bad, [row, ["法润政和", "飞信", "farun", "政和县司法局", "", "350725"]])
    assert cli.main(["import", str(bad)]) == 1
    assert "第 3 行" in capsys.readouterr().err
    assert count(cli_database, Unit) == 0
    write(good, [row])
    assert cli.main(["import", str(good)]) == 0
    assert count(cli_database, Account) == 1


def test_apikey_create_prints_the_key_once_and_stores_its_hash(cli_database, capsys):
    assert cli.main(["apikey", "create", "--role", "editor", "--region", "350426"]) == 0
    plain = capsys.readouterr().out.strip().splitlines()[-1]
    assert plain.startswith("zw_")
    with cli_database() as session:
        key = session.scalars(select(ApiKey)).one()
    assert (key.role, key.region_code) == ("editor", "350426") and plain not in key.key_hash
    assert cli.main(["apikey", "create", "--role", "reader", "--region", "35"]) == 2


def test_ensure_admin_generates_a_key_the_first_time_only(cli_database, capsys, monkeypatch):
    assert cli.main(["apikey", "ensure-admin"]) == 0
    first = capsys.readouterr().out
    assert "zw_" in first
    assert cli.main(["apikey", "ensure-admin"]) == 0
    assert "zw_" not in capsys.readouterr().out
    assert count(cli_database, ApiKey) == 1
    monkeypatch.setenv("ZW_ADMIN_KEY", "from-the-environment-0123456789")
    get_settings.cache_clear()
    assert cli.main(["apikey", "ensure-admin"]) == 0
    assert "ZW_ADMIN_KEY" in capsys.readouterr().out


def test_openapi_prints_the_spec(capsys):
    assert cli.main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out)["info"]["title"] == "zombiewatch"


def test_detect_runs_detection_at_a_time_point_and_prints_its_counts(cli_database, capsys):
    from service.detection.models import DetectionRun

    assert cli.main(["demo", "load"]) == 0
    capsys.readouterr()
    assert cli.main(["detect", "--as-of", "2099-01-01T00:00:00"]) == 0
    printed = capsys.readouterr().err
    assert "2099-01-01 00:00" in printed and "dormant.zombie_90d" in printed
    with cli_database() as session:
        latest = session.scalars(select(DetectionRun).order_by(DetectionRun.id.desc())).first()
        assert latest.trigger == "cli" and latest.counts["by_rule"]["dormant.zombie_90d"] >= 20
    with pytest.raises(SystemExit):
        cli.main(["detect", "--as-of", "yesterday"])
    assert "时间格式无效" in capsys.readouterr().err
