"""One month reader: every command gets a month's entries from the loader, with every rule of
contract sections 1 and 4 applied alike, so each says the same of the same damaged data.

The data directory is the example clinic with four kinds of damage at once: a void row whose id
an earlier month already uses (a row in error, so the void voids nothing), a named pipe in place
of an earlier month's log, a link from an earlier month's log to a file outside the data
directory, and `exports/` replaced by a plain file. Every reading command runs as a separate
process with a timeout (a pipe read without care hangs forever) and must give P0006 the same
minutes and codes and name the same problems; the commands that write (log, void, stop) answer
with what `check` then says.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import CCM, example_copy

NOW = "2026-11-03T09:15:00-06:00"  # October is finished, November is the current month
REUSED = "E20260902-0001"  # September's first entry id
VOID_ROW = (f"{REUSED},P0006,2026-10-14,,clinical_staff,rn.okafor,,,,entered twice,"
            "2026-10-28T10:00:00-05:00,E20261014-0001,\n")  # fmt: skip


def damaged(root: Path, outside: Path) -> list[str]:
    """Damage a copy of the clinic; the error lines every reading command must name."""
    example_copy("clinic", root)
    log = root / "logs" / "2026-10.csv"
    with log.open("a", newline="") as f:
        f.write(VOID_ROW)
    line = log.read_text().count("\n")
    os.mkfifo(root / "logs" / "2026-08.csv")
    outside.write_text("id,patient_id\n")
    (root / "logs" / "2026-07.csv").symlink_to(outside)
    shutil.rmtree(root / "exports", ignore_errors=True)
    (root / "exports").write_text("not a folder\n")
    return [
        "exports: error: is not a folder",
        "logs/2026-07.csv: error: cannot read: it leads outside the data directory (a symbolic link?)",
        "logs/2026-08.csv: error: cannot read: it is a named pipe, not a regular file",
        f"logs/2026-10.csv:{line}: error: entry id {REUSED} is already used at logs/2026-09.csv:2",
    ]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    base = tmp_path_factory.mktemp("one-reader")
    return base / "data", damaged(base / "data", base / "outside.csv")


def ccm(root: Path, *args: str, now: str = NOW, cache: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCM_")}
    env.update(CCM_NOW=now, CCM_STAFF="rn.test", NO_COLOR="1", COLUMNS="200")
    if not cache:
        env["CCM_NO_CACHE"] = "1"
    return subprocess.run([CCM, "-d", str(root), *args], capture_output=True, text=True,
                          env=env, timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip


def said(result: subprocess.CompletedProcess, problems: list[str]) -> None:
    """Each problem on a line of its own, as `FILE:LINE: error: MESSAGE` (on stderr; `validate`
    lists them as its data, on stdout)."""
    lines = result.stderr.splitlines() + result.stdout.splitlines()
    for p in problems:
        assert p in lines or f"warning: {p}" in lines, (p, result.stderr)


def p0006(check: dict) -> dict:
    return next(p for p in check["patients"] if p["patient_id"] == "P0006")


UNCHANGED = {"clinical_staff": 22, "codes": [{"code": "99490", "units": 1}], "amount": 66.13}


def standing(reply: dict) -> dict:
    """The patient's month-to-date judgement in the reply of log, void or stop (`--format json`):
    `patient_month`, as `ccm schema log` names it (contract 2: `status` is a string)."""
    assert isinstance(reply["patient_month"]["status"], str)
    return reply["patient_month"]


def judged(patient: dict) -> dict:
    return {"clinical_staff": patient["minutes"]["clinical_staff"], "codes": patient["codes"],
            "amount": patient["amount"]}  # fmt: skip


@pytest.mark.parametrize("cache", [False, True, True], ids=["no-cache", "cold-cache", "warm"])
def test_every_reading_command_says_the_same_of_the_damaged_month(clinic, cache):
    """The same minutes, codes and problems from each command, and the same exit (1: errors
    found in the data); with caches off, cold and warm."""
    root, problems = clinic
    check = ccm(root, "check", "--month", "2026-10", "--format", "json", cache=cache)
    assert check.returncode == 1
    out = json.loads(check.stdout)
    assert judged(p0006(out)) == UNCHANGED
    assert sorted(problems) == sorted(
        f"{p['file']}{':' + str(p['line']) if p['line'] else ''}: {p['severity']}: {p['message']}"
        for p in out["problems"]
    )
    said(check, problems)

    explain = ccm(root, "explain", "P0006", "--month", "2026-10", "--format", "json", cache=cache)
    assert explain.returncode == 1 and judged(json.loads(explain.stdout)) == UNCHANGED
    said(explain, problems)

    worklist = ccm(root, "worklist", "--month", "2026-10", "--format", "json", cache=cache)
    assert worklist.returncode == 1
    minutes = p0006(json.loads(worklist.stdout))["minutes"]
    assert minutes["clinical_staff"] == 22 if isinstance(minutes, dict) else minutes == 22
    said(worklist, problems)

    compare = ccm(root, "compare", "--month", "2026-10", "P0006", "--format", "json", cache=cache)
    assert compare.returncode == 1
    ccm_program = json.loads(compare.stdout)["patients"][0]["programs"]["ccm"]
    assert ccm_program == {"amount": 66.13, "months_billable": 1, "blockers": []}
    said(compare, problems)

    entries = ccm(root, "entries", "--month", "2026-10", "-p", "P0006", "--format", "json",
                  cache=cache)  # fmt: skip
    assert entries.returncode == 1
    rows = {e["id"]: e for e in json.loads(entries.stdout)["entries"]}
    assert REUSED not in rows and rows["E20261014-0001"]["voided"] is False
    counted = sum(e["minutes"] for e in rows.values() if e["minutes"] and not e["voided"])
    assert counted == 22 + 15  # 15 logged before consent: listed, not counted by the rules
    said(entries, problems)

    validate = ccm(root, "validate", cache=cache)
    assert validate.returncode == 1
    said(validate, problems)

    close = ccm(root, "close", "2026-10", cache=cache)  # refused: the month's files have errors
    assert close.returncode == 1 and "not closing 2026-10" in close.stderr
    for p in problems:
        assert f"  {p}" in close.stderr.splitlines()


def test_the_documents_show_the_same_judgement_and_problems(clinic, tmp_path):
    """`audit` and `report` write their document (exit 0) and say the errors in it."""
    root, problems = clinic
    audit = ccm(root, "audit", "P0006", "--month", "2026-10")
    assert audit.returncode == 0, audit.stderr
    assert "Codes: 99490x1" in audit.stdout and "from 22 minutes" in audit.stdout
    for p in problems:
        assert f"- {p}" in audit.stdout.splitlines()

    check = json.loads(ccm(root, "check", "--month", "2026-10", "--format", "json").stdout)
    report = ccm(root, "report", "--month", "2026-10", "--months", "1", "-o",
                 str(tmp_path / "r.html"))  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert f"amount {check['summary']['amount']:.2f}" in report.stderr
    assert f"warning: {len(problems)} errors in 2026-10's files" in report.stderr


@pytest.fixture
def copy(clinic, tmp_path):
    """A damaged clinic of its own, for a command that writes."""
    root = tmp_path / "data"
    return root, damaged(root, tmp_path / "outside.csv")


def test_log_answers_what_check_then_says(copy):
    """`ccm log`'s month-to-date reply is the loader's reading with the new row: the void row in
    error voids nothing, so P0006 has 22 + 1 minutes, as `check` and `explain` then say."""
    root, problems = copy
    logged = ccm(root, "log", "P0006", "1", "--date", "2026-10-30", "--format", "json")
    assert logged.returncode == 0, logged.stderr
    status = standing(json.loads(logged.stdout))
    after = json.loads(ccm(root, "check", "--month", "2026-10", "--format", "json").stdout)
    assert judged(status) == judged(p0006(after)) == {**UNCHANGED, "clinical_staff": 23}
    explain = json.loads(ccm(root, "explain", "P0006", "--month", "2026-10", "--format",
                             "json").stdout)  # fmt: skip
    assert judged(explain) == judged(status)
    said(logged, problems)


def test_void_of_the_entry_a_void_row_in_error_left_counting(copy):
    """The void row in error voided nothing, so its entry can still be voided (a locked-log
    reading that skipped the reused-id rule refused: "already voided")."""
    root, problems = copy
    voided = ccm(root, "void", "E20261014-0001", "--reason", "wrong patient", "--format", "json")
    assert voided.returncode == 0, voided.stderr
    status = standing(json.loads(voided.stdout))
    after = json.loads(ccm(root, "check", "--month", "2026-10", "--format", "json").stdout)
    assert judged(status) == judged(p0006(after))
    assert status["minutes"]["clinical_staff"] == 10
    said(voided, problems)


def test_stop_answers_what_check_then_says(copy):
    root, problems = copy
    assert ccm(root, "start", "P0006").returncode == 0
    stopped = ccm(root, "stop", "--format", "json", now="2026-11-03T09:40:00-06:00")
    assert stopped.returncode == 0, stopped.stderr
    status = standing(json.loads(stopped.stdout)["entries"][-1])
    after = ccm(root, "check", "--month", "2026-11", "--format", "json",
                now="2026-11-03T09:40:00-06:00")  # fmt: skip
    assert after.returncode == 1
    assert judged(status) == judged(p0006(json.loads(after.stdout)))
    assert (
        status["minutes"]["clinical_staff"]
        == p0006(json.loads(after.stdout))["minutes"]["clinical_staff"]
    )
    earlier = [p for p in problems if not p.startswith("logs/2026-10.csv")]
    said(after, earlier)  # November's reading: the earlier months that cannot be read


def test_a_grown_month_checks_only_its_new_ids_and_still_finds_a_reused_one(
    cli, tmp_path, monkeypatch
):
    """`ccm log` appends all day: a month that only grew since its reused-id answer was kept
    looks its new ids up among every earlier id (kept one a line) instead of reading every
    earlier month again; an appended row with an id September uses is still found."""
    from ccmcli.store import cache, entry_ids

    monkeypatch.setattr(cache, "RACY_NS", 0)  # trust files copied a moment ago
    root = example_copy("clinic", tmp_path / "data")
    args = ("-d", root, "check", "--format", "json", "--month", "2026-10")
    assert cli(*args).exit_code == 0
    asked: list[set] = []
    real = entry_ids._reused_ids
    monkeypatch.setattr(
        entry_ids, "_reused_ids", lambda d, e, ids, r: asked.append(ids) or real(d, e, ids, r)
    )
    log = root / "logs" / "2026-10.csv"
    row = (
        "E20261030-0777,P0006,2026-10-30,5,clinical_staff,rn.test,,,,,2026-10-30T10:00:00-05:00,,\n"
    )
    with log.open("a") as f:
        f.write(row)
    assert cli(*args).exit_code == 0 and asked == []  # the new id is in no earlier month
    with log.open("a") as f:
        f.write(row.replace("E20261030-0777", REUSED))
    out = json.loads(cli(*args).stdout)
    assert asked and asked[0] == {REUSED}  # only the new id, looked up in the earlier months
    assert [p["message"] for p in out["problems"]] == [
        f"entry id {REUSED} is already used at logs/2026-09.csv:2"
    ]
    assert p0006(out)["minutes"]["clinical_staff"] == 22 + 5
