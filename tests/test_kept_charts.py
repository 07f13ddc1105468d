"""Charts of `ccm report` kept between runs (reports/kept_charts.py): a report of unchanged
figures draws nothing, and any change to what a chart shows draws it again."""

import re

import pytest

from ccmcli.reports import report_charts
from ccmcli.store import cache


@pytest.fixture
def drawn(monkeypatch) -> list[str]:
    """The charts drawn with matplotlib (not taken from kept ones), run after run."""
    calls: list[str] = []
    real = report_charts._svg

    def counting(fig, key, *args):
        calls.append(key)
        return real(fig, key, *args)

    monkeypatch.setattr(report_charts, "_svg", counting)
    return calls


def charts(cli, clinic, out) -> list[str]:
    result = cli("-d", clinic, "report", "--month", "2026-10", "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    return re.findall(r"<svg.*?</svg>", out.read_text(), flags=re.S)


def test_a_second_report_draws_nothing_and_shows_the_same_charts(cli, clinic, tmp_path, drawn):
    first = charts(cli, clinic, tmp_path / "a.html")
    assert sorted(drawn) == ["amount", "minutes", "staff"]
    drawn.clear()
    assert charts(cli, clinic, tmp_path / "b.html") == first
    assert drawn == []


def test_logged_minutes_draw_the_charts_they_change(cli, clinic, tmp_path, drawn, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2026-11-05T12:00:00-06:00")
    first = charts(cli, clinic, tmp_path / "a.html")
    logged = cli("-d", clinic, "log", "P0003", "30", "--date", "2026-10-30", "--staff", "rn.new")
    assert logged.exit_code == 0, logged.stderr
    drawn.clear()
    second = charts(cli, clinic, tmp_path / "b.html")
    assert "staff" in drawn and second != first
    assert "rn.new" in second[-1]


def test_charts_are_not_kept_when_caching_is_off(cli, clinic, tmp_path, drawn, monkeypatch):
    monkeypatch.setenv(cache.ENV_OFF, "1")
    charts(cli, clinic, tmp_path / "a.html")
    drawn.clear()
    charts(cli, clinic, tmp_path / "b.html")
    assert sorted(drawn) == ["amount", "minutes", "staff"]
    assert not cache.cache_file(clinic.resolve(), "charts").exists()
