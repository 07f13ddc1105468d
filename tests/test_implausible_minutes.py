"""Implausible minutes are accepted with a warning (long_entry, long_day).

`ccm log P 600` (meant 60) and a timer left running all afternoon are possible, rarely true:
the entry is written, and the person is told. One entry over 90 minutes, and a patient's minutes
on one day over ccm.yaml's `warn_minutes_per_day` (default 120).
"""

import json

NOW = "2026-11-27T12:00:00-06:00"


def test_600_minutes_are_logged_with_a_warning(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    r = cli("-d", clinic, "log", "P0003", "600")
    assert r.exit_code == 0
    entry = r.stdout.split()[0]
    assert (
        f"warning: entry {entry} logs 600 minutes on 2026-11-27, more than 90 in one entry"
        in r.stderr
    )
    assert "warning: 600 minutes logged for P0003 on 2026-11-27, more than 120 a day" in r.stderr
    assert entry in (clinic / "logs" / "2026-11.csv").read_text()
    out = json.loads(cli("-d", clinic, "check", "P0003", "-f", "json").stdout)
    rules = [w["rule"] for w in out["patients"][0]["warnings"]]
    assert "long_entry" in rules and "long_day" in rules


def test_ninety_minutes_in_one_entry_is_plausible(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    r = cli("-d", clinic, "log", "P0003", "90")
    assert r.exit_code == 0 and "more than" not in r.stderr
    r = cli("-d", clinic, "log", "P0003", "30")  # 120 that day: at the limit, not above it
    assert r.exit_code == 0 and "more than" not in r.stderr
    r = cli("-d", clinic, "log", "P0003", "1")
    assert "warning: 121 minutes logged for P0003 on 2026-11-27, more than 120 a day" in r.stderr
    assert "in one entry" not in r.stderr


def test_a_timer_stopped_after_8_hours_warns(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", "2026-11-27T08:00:00-06:00")
    assert cli("-d", clinic, "start", "P0001", "--staff", "rn.x").exit_code == 0
    monkeypatch.setenv("CCM_NOW", "2026-11-27T16:40:00-06:00")
    r = cli("-d", clinic, "stop", "--staff", "rn.x")
    assert r.exit_code == 0, r.stderr
    assert "logs 520 minutes on 2026-11-27, more than 90 in one entry" in r.stderr
    assert "more than 120 a day" in r.stderr


def test_the_day_limit_is_a_setting(cli, clinic, monkeypatch):
    monkeypatch.setenv("CCM_NOW", NOW)
    settings = clinic / "ccm.yaml"
    settings.write_text(settings.read_text() + "warn_minutes_per_day: 200\n")
    for _ in range(2):
        r = cli("-d", clinic, "log", "P0003", "80")
        assert r.exit_code == 0 and "a day" not in r.stderr
    r = cli("-d", clinic, "log", "P0003", "45")
    assert "205 minutes logged for P0003 on 2026-11-27, more than 200 a day" in r.stderr


def test_the_setting_is_validated_like_the_others(cli, clinic):
    settings = clinic / "ccm.yaml"
    text = settings.read_text()
    line = len(text.splitlines()) + 1
    for bad in ("0", "1441", "two hours", "90.5"):
        settings.write_text(text + f"warn_minutes_per_day: {bad}\n")
        r = cli("-d", clinic, "validate")
        assert r.exit_code == 1
        assert (f"ccm.yaml:{line}: error: warn_minutes_per_day must be a whole number of "
                "minutes from 1 to 1440") in r.stdout  # fmt: skip
