"""The ledger's `frequency` and `replaces` columns (ccm-rules A18, contract 5) are checked like
its other cells: a line that replaces no claim, an original that says it replaces one, or a
frequency ccm never writes is damage. `validate` names its file, line and field, and `export`
refuses the ledger with the message it gives for any other damage."""

import csv
import io

import pytest

from ccmcli.store.ledger import LEDGER_COLUMNS, scan_ledger
from test_export import PREV, add_patient, day, ledger, log

T1, T2, T3 = "2026-11-01T09:00:00-06:00", "2026-11-02T09:00:00-06:00", "2026-11-03T09:00:00-06:00"


def row(pid: str, at: str, frequency: str, replaces: str = "", code: str = "99490") -> list[str]:
    return [pid, "Test Patient", "1948-03-02", "1EG4TE5MK73", "1234567893", "11", "2026-10-05",
            code, "1", "60.49", "E11.9", "I10", "", "", at, frequency, replaces]  # fmt: skip


def text(*rows: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([LEDGER_COLUMNS, *rows])
    return out.getvalue()


def problems(*rows: list[str]) -> list[tuple[int | None, str]]:
    return [(p.line, p.message) for p in scan_ledger(text(*rows), "exports/2026-10.csv")[1]]


def test_what_ccm_writes_passes():
    assert problems(
        row("P1", T1, "1"), row("P2", T1, "1"),
        row("P1", T2, "7", T1), row("P1", T3, "7", T2), row("P2", T3, "8", T1),
    ) == []  # fmt: skip
    legacy_then_a18 = (row("P1", T1, ""), row("P1", T1, "", code="99439"), row("P1", T2, "7", T1))
    assert problems(*legacy_then_a18) == []
    two_exports = row("P1", T3, "7", f"{T1} {T2}")  # a claim of two exports before A18
    assert problems(row("P1", T1, ""), row("P1", T2, ""), two_exports) == []


@pytest.mark.parametrize(
    ("rows", "want"),
    [
        ((row("P1", T1, "1", T1),), f'replaces "{T1}" is set on an original claim (frequency 1)'),
        ((row("P1", T1, "1"), row("P1", T2, "", T1)),
         "frequency is empty; only lines exported before A18 may lack it (1, 7 or 8)"),
        ((row("P1", T1, "1"), row("P1", T2, "7")),
         "replaces is empty: a frequency 7 line names the claim it replaces"),
        ((row("P1", T1, "1"), row("P1", T2, "8", T3)),
         f'replaces "{T3}" names no earlier claim of P1 in this ledger'),
        ((row("P2", T1, "1"), row("P1", T2, "7", T1)),  # P2's claim, not P1's
         f'replaces "{T1}" names no earlier claim of P1 in this ledger'),
        ((row("P1", T1, "1"), row("P1", T2, "7", T2)),  # itself
         f'replaces "{T2}" names no earlier claim of P1 in this ledger'),
        ((row("P1", T2, "7", T1), row("P1", T1, "1")),  # a later line
         f'replaces "{T1}" names no earlier claim of P1 in this ledger'),
        ((row("P1", T1, "1"), row("P1", T2, "7", f"{T1} {T3}")),
         f'replaces "{T3}" names no earlier claim of P1 in this ledger'),
        ((row("P1", T1, "1"), row("P1", T2, "9", T1)), 'frequency "9" is not 1, 7 or 8'),
    ],
)  # fmt: skip
def test_a_damaged_claim_column_is_an_error_on_its_line(rows, want):
    bad = 2 if rows[0][15] == "7" else len(rows) + 1  # the line in error: the last, or a lone 7
    assert problems(*rows) == [(bad, want)]


@pytest.fixture
def exported(cli, datadir):
    """A month exported, then corrected: the ledger's last line is a replacement (7)."""
    add_patient(datadir, "P1")
    log(datadir, "P1", 25, day(5))
    assert cli("export", "-d", datadir).exit_code == 0
    log(datadir, "P1", 20, day(10))
    assert cli("export", "-d", datadir, "--corrections").exit_code == 0
    assert [x["frequency"] for x in ledger(datadir)] == ["1", "7", "7"]
    return datadir


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (",7,", ",7,2020-01-01T00:00:00+00:00 ",
         'replaces "2020-01-01T00:00:00+00:00" names no earlier claim of P1 in this ledger'),
        (",7,", ",,", "frequency is empty; only lines exported before A18 may lack it (1, 7 or 8)"),
    ],
    ids=["replaces nothing", "frequency emptied"],
)  # fmt: skip
def test_validate_lists_it_and_export_refuses(cli, exported, old, new, message):
    path = exported / "exports" / f"{PREV}.csv"
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[2]
    lines[2] = lines[2].replace(old, new)
    path.write_text("".join(lines))
    where = f"exports/{PREV}.csv:3"
    checked = cli("validate", "-d", exported)
    assert checked.exit_code == 1
    assert f"{where}: error: {message}" in checked.stdout.splitlines()
    refused = cli("export", "-d", exported)
    assert refused.exit_code == 1
    assert "the export ledger is damaged; compare it with what was billed" in refused.stderr
    assert f"{where}: {message}" in refused.stderr
    assert refused.stdout == ""


def test_the_audit_packet_shows_the_ledger_as_validate_reads_it(cli, exported):
    """The packet reads the ledger through its one reader: a line `validate` calls damaged is
    not listed among the lines exported, and the packet says one was left out."""
    path = exported / "exports" / f"{PREV}.csv"
    before = cli("audit", "P1", "-d", exported, "--month", PREV)
    assert before.exit_code == 0, before.stderr
    assert "damaged line" not in before.stdout
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(",7,", ",7,2020-01-01T00:00:00+00:00 ")
    path.write_text("".join(lines))
    after = cli("audit", "P1", "-d", exported, "--month", PREV)
    assert f"1 damaged line(s) in exports/{PREV}.csv are not shown" in after.stdout
    shown = before.stdout.count("corrected claim (frequency 7)")
    assert shown == 2 and after.stdout.count("corrected claim (frequency 7)") == shown - 1
