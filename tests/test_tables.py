"""Tables a person can read at 60, 80, 100, 120 and 160 columns (and `--wide`): golden renderings.

Each table command runs on the example clinic with the clock at 2026-11-27 10:00 in Chicago
(SCENARIOS.md's "today") and `COLUMNS` set, which draws through a Rich console of that width;
the text is compared with tests/golden/<command>.<width>.txt. After a deliberate change to a
table, regenerate them: `CCM_UPDATE_GOLDEN=1 pytest tests/test_tables.py` (or
`pytest --update-golden tests/test_tables.py`) and read the diff.
"""

import json
import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from rich.cells import cell_len

from ccmcli.models import months

GOLDEN = Path(__file__).parent / "golden"
NOW = "2026-11-27T10:00:00-06:00"
WIDTHS = (60, 80, 100, 120, 160)

# name: the command's words after `ccm -d CLINIC`.
COMMANDS = {
    "check": ["check", "--month", "2026-10"],
    "worklist": ["worklist", "--month", "2026-11"],
    "entries": ["entries", "--month", "2026-10", "--patient", "P0001"],
    "patient-list": ["patient", "list"],
    "patient-show": ["patient", "show", "P0010", "--month", "2026-10"],
    "explain": ["explain", "P0006", "--month", "2026-10"],
    "rules": ["rules", "--year", "2026"],
    "compare": ["compare", "--month", "2026-10", "--months", "2"],
    "rules-99491": ["rules", "99491", "--year", "2026"],
}


@pytest.fixture
def at_clinic_today(monkeypatch):
    """The clinic's 'today' for every command (and CCM_NOW, for builds that read it)."""
    fixed = datetime.fromisoformat(NOW)
    monkeypatch.setattr(months, "now_in", lambda tz: fixed.astimezone(months.zone(tz)))
    monkeypatch.setenv("CCM_NOW", NOW)


def render(cli, clinic, monkeypatch, name: str, width: int | None) -> str:
    args = COMMANDS[name]
    if width is None:
        args = [*args, "--wide"]
    else:
        monkeypatch.setenv("COLUMNS", str(width))
    result = cli("-d", clinic, *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def updating(request) -> bool:
    return bool(os.environ.get("CCM_UPDATE_GOLDEN")) or request.config.getoption("update_golden")


@pytest.mark.parametrize("width", [*WIDTHS, None], ids=[*map(str, WIDTHS), "wide"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_golden(cli, clinic, monkeypatch, at_clinic_today, request, name, width):
    got = render(cli, clinic, monkeypatch, name, width)
    path = GOLDEN / f"{name}.{width or 'wide'}.txt"
    if updating(request):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(got, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: regenerate with CCM_UPDATE_GOLDEN=1"
    assert got == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(COMMANDS))
def test_no_line_is_wider_than_the_terminal(cli, clinic, monkeypatch, at_clinic_today, name, width):
    for line in render(cli, clinic, monkeypatch, name, width).splitlines():
        assert cell_len(line) <= width, line


def _json(cli, clinic, name: str) -> dict:
    result = cli("-d", clinic, *COMMANDS[name], "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _codes(codes: list[dict]) -> list[str]:
    return [f"{c['code']}x{c['units']}" for c in codes]


def _money(x: float) -> list[str]:
    return [f"{x:.2f}"] if x else []


def _whole_values(name: str, doc: dict) -> list[str]:
    """The ids, codes, dates and amounts of a command's JSON that its table presents."""
    if name == "check":
        return [v for p in doc["patients"] for v in [p["patient_id"], *_codes(p["codes"]),
                p["date_of_service"], *_money(p["amount"])] if v]  # fmt: skip
    if name == "worklist":
        return [v for p in doc["patients"] for v in [p["patient_id"], *_codes(p["next"]["codes"])]]
    if name == "entries":
        return [v for e in doc["entries"] for v in (e["id"], e["patient_id"], e["date"],
                                                    e["voids"], e["voided_by"]) if v]  # fmt: skip
    if name == "patient-list":
        return [v for p in doc["patients"] for v in (
            p["patient_id"], *(c["code"] for c in p["conditions"] if c["chronic"]),
            (p["consent"] or {}).get("date"), (p["care_plan"] or {}).get("established")) if v]  # fmt: skip
    if name == "patient-show":
        p = doc["record"]
        return [doc["patient_id"], p["birth_date"], *(c["code"] for c in p["conditions"]),
                p["consent"]["date"], p["care_plan"]["established"], *_codes(doc["codes"]),
                *_money(doc["amount"])]  # fmt: skip
    if name == "explain":
        return [
            doc["patient_id"],
            *_codes(doc["codes"]),
            doc["date_of_service"],
            *_money(doc["amount"]),
            *(v for e in doc["entries"] for v in (e["id"], e["date"])),
        ]
    if name == "rules":
        return [
            v
            for t in doc["tracks"]
            for part in ("base", "addon")
            for v in (t[part]["code"], f"{t[part]['amount']:.2f}", f"{t[part]['rvu']:.2f}")
        ]
    if name == "compare":
        return [v for p in doc["patients"] for v in (
            p["patient_id"], *(f"{x['amount']:.2f}" for x in p["programs"].values()))]  # fmt: skip
    if name == "rules-99491":
        return [doc["code"], doc["goes_with"]["code"],
                *(c["code"] for c in doc["not_billed_with"]),
                *(f"{a['amount']:.2f}" for a in doc["amounts"])]  # fmt: skip
    raise AssertionError(name)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(COMMANDS))
def test_ids_codes_dates_and_amounts_appear_whole(
    cli, clinic, monkeypatch, at_clinic_today, name, width
):  # fmt: skip
    """Every id, code, date and amount the JSON holds is a whole word of the table at any width:
    never split across lines, never cut with "…"."""
    wanted = _whole_values(name, _json(cli, clinic, name))
    assert wanted
    words = set(re.split(r"[\s(),;:$]+", render(cli, clinic, monkeypatch, name, width)))
    missing = [v for v in wanted if v not in words]
    assert not missing, missing


def test_a_narrow_table_names_what_it_left_out(cli, clinic, monkeypatch, at_clinic_today):
    narrow = render(cli, clinic, monkeypatch, "check", 80)
    assert (
        "left out: program, staff, prac (--wide or --format csv/json shows every column)" in narrow
    )
    assert "left out" not in render(cli, clinic, monkeypatch, "check", None)


def test_check_totals_are_the_summary(cli, clinic, monkeypatch, at_clinic_today):
    """The line under the check table gives the figures of the JSON `summary` (contract 3)."""
    from ccmcli.reports.check_views import run_check
    from ccmcli.reports.practice_month import summarize
    from ccmcli.store.datadir import DataDir

    summary = summarize(run_check(DataDir(clinic), "2026-10"))
    assert summary == {"patients": 22, "billable": 12, "below_threshold": 1, "blocked": 8,
                       "no_time": 1, "error": 0, "amount": 1282.94,
                       "codes": {"99490": 5, "99439": 3, "99487": 1, "99489": 1, "99426": 1,
                                 "99427": 1, "99491": 1, "99437": 2, "G0556": 1, "G0557": 2,
                                 "G0558": 1}, "total_amount": 1517.41,
                       "patient_share": 280.04}  # fmt: skip
    text = render(cli, clinic, monkeypatch, "check", None)
    assert text.splitlines()[-1] == (
        "total: 22 patients (12 billable, 1 below_threshold, 8 blocked, 1 no_time); amount "
        "1282.94; units 99490x5 99439x3 99487x1 99489x1 99426x1 99427x1 99491x1 99437x2 "
        "G0556x1 G0557x2 G0558x1; with other services 1517.41 (patient share 280.04)"
    )


def test_summary_counts_only_the_patients_listed(cli, clinic):
    from ccmcli.reports.check_views import run_check
    from ccmcli.reports.practice_month import summarize
    from ccmcli.store.datadir import DataDir

    report = run_check(DataDir(clinic), "2026-10", ["P0001", "P0004"])
    assert summarize(report) == {"patients": 2, "billable": 1, "below_threshold": 0,
                                 "blocked": 1, "no_time": 0, "error": 0, "amount": 116.57,
                                 "codes": {"99490": 1, "99439": 1}, "total_amount": 116.57,
                                 "patient_share": 23.31}  # fmt: skip
    empty = run_check(DataDir(clinic), "2026-10", None, "no_such_status")
    assert summarize(empty)["patients"] == 0 and summarize(empty)["amount"] == 0


def test_worklist_totals_and_progress(cli, clinic, monkeypatch, at_clinic_today):
    text = render(cli, clinic, monkeypatch, "worklist", 100)
    rows = _json(cli, clinic, "worklist")["patients"]
    needed = sum(p["minutes_needed"] for p in rows)
    patients = len({p["patient_id"] for p in rows})  # a patient may have a service's line too
    assert f"total: {patients} patients, {needed} minutes still needed," in text
    p = rows[0]
    done = p["minutes"].get(
        "counted", p["minutes"]["clinical_staff"] + p["minutes"]["practitioner"]
    )
    target = done + p["minutes_needed"]
    assert f" {done}/{target}" in text  # the progress toward the next threshold


def test_colour_is_only_a_second_channel(cli, clinic, monkeypatch, at_clinic_today):
    """Without colour every status word is still there; piped output has no escape codes."""
    text = render(cli, clinic, monkeypatch, "check", 100)
    assert "\x1b[" not in text
    for word in ("billable", "blocked", "below", "no_time"):
        assert word in text


def test_colour_on_a_terminal(monkeypatch):
    from ccmcli.cli.table_views import CHECK
    from ccmcli.cli.tables import render as draw

    row = {"patient": "P1", "name": "A", "status": "blocked", "status_word": "blocked"}
    coloured = draw(CHECK, [row], width=100, color=True)
    assert "\x1b[31m" in coloured and "blocked" in coloured  # red, and the word stays
    assert "\x1b[" not in draw(CHECK, [row], width=100, color=False)


def test_any_command_can_adopt_the_fitting(capsys, monkeypatch):
    """A table without its own spec (a new command's first version) keeps every cell whole and
    lets the columns not in `keep` give way from the right, saying so."""
    from ccmcli.cli.output import print_table

    monkeypatch.setenv("COLUMNS", "40")
    print_table(["staff", "patient_id", "started", "activity"],
                [["rn.alvarez", "P0007", "2026-11-27T09:10:00-06:00", "care_coordination"]],
                keep=("staff", "patient_id", "started"))  # fmt: skip
    out = capsys.readouterr().out
    assert "2026-11-27T09:10:00-06:00" in out and "activity" not in out.splitlines()[0]
    assert "left out: activity" in out


def test_progress_bars_are_coloured_only_on_a_terminal():
    from ccmcli.cli.table_views import WORKLIST
    from ccmcli.cli.tables import bar
    from ccmcli.cli.tables import render as draw

    row = {"patient": "P1", "progress": bar(45, 60)}
    assert bar(45, 60) == "███████░░░ 45/60" and bar(0, 20, 5) == "░░░░░ 0/20"
    assert "\x1b[32m███████" in draw(WORKLIST, [row], width=100, color=True)
    assert "███████░░░ 45/60" in draw(WORKLIST, [row], width=100, color=False)
