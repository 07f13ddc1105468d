"""CCM_NOW stands in for the clock in every command (contract section 2)."""

import csv
import io
import json
import re
from pathlib import Path

import pytest

from helpers import ELIGIBLE_PATIENT

SRC = Path(__file__).resolve().parent.parent / "src" / "ccmcli"


@pytest.fixture
def data(datadir: Path) -> Path:
    (datadir / "patients" / "P0001.yaml").write_text(ELIGIBLE_PATIENT.format(pid="P0001"))
    return datadir


@pytest.mark.parametrize("value", ["yesterday", "2026-11-03T09:15:00", "2026-13-03T09:15:00Z"])
def test_an_invalid_ccm_now_is_one_line_and_exit_2(cli, clinic, monkeypatch, value):
    monkeypatch.setenv("CCM_NOW", value)
    result = cli("-d", clinic, "check", "--month", "2026-10")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f'ccm: CCM_NOW "{value}" is not an ISO 8601 instant with a UTC offset '
        "(e.g. 2026-11-03T09:15:00-06:00)"
    ]
    assert result.stdout == ""


def test_each_command_warns_once(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2026-11-03T09:15:00-06:00")
    for args in (["check"], ["patient", "list"], ["rules"], ["entries"], ["worklist"]):
        result = cli("-d", clinic, *args)
        assert result.stderr.count("warning: CCM_NOW is set") == 1, args


def test_no_warning_without_ccm_now(cli, clinic, monkeypatch):
    monkeypatch.delenv("CCM_NOW", raising=False)
    assert "CCM_NOW" not in cli("-d", clinic, "check", "--month", "2026-10").stderr


def test_log_takes_today_logged_at_and_the_id_from_ccm_now(cli, data, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2026-11-04T03:00:00Z")  # 21:00 the day before in Chicago
    result = cli("-d", data, "log", "P0001", "12")
    assert result.exit_code == 0, result.stderr
    [row] = csv.DictReader(io.StringIO((data / "logs" / "2026-11.csv").read_text()))
    assert row["date"] == "2026-11-03"
    assert row["logged_at"] == "2026-11-03T21:00:00-06:00"
    assert row["id"].startswith("E20261104T030000000-")


def test_month_defaults_and_provisional_follow_ccm_now(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2026-10-15T12:00:00-05:00")
    report = json.loads(cli("-d", clinic, "check", "--format", "json").stdout)
    assert (report["month"], report["provisional"]) == ("2026-10", True)
    monkeypatch.setenv("CCM_NOW", "2026-12-02T12:00:00-06:00")
    report = json.loads(cli("-d", clinic, "check", "--month", "2026-10", "-f", "json").stdout)
    assert report["provisional"] is False
    assert json.loads(cli("-d", clinic, "entries", "-f", "json").stdout)["month"] == "2026-12"


def test_a_future_date_is_judged_against_ccm_now(cli, data, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2026-11-03T09:00:00-06:00")
    result = cli("-d", data, "log", "P0001", "5", "--date", "2026-11-04")
    assert result.exit_code == 1 and "after today (2026-11-03)" in result.stderr


def test_rules_year_follows_ccm_now_without_a_data_directory(cli, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2025-06-01T12:00:00+00:00")
    assert json.loads(cli("rules", "-f", "json").stdout)["rules"] == "2025"


def test_no_module_reads_the_clock_but_months():
    """Every clock reading goes through models.months.now, so CCM_NOW moves them all. The caches
    compare file times with time.time_ns on purpose: that is the host's real clock."""
    clock = re.compile(r"datetime\.now\(|date\.today\(|\btime\.time\(|datetime\.utcnow\(")
    offenders = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if p.name != "months.py" and clock.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
