"""Amounts come from CMS's relative value files, and the rules table cannot drift from the document.

ccm-rules.md A6 and A8 list each code's amount with its non-facility total RVU per year. The
rules table holds the RVUs and the conversion factor of each year's CMS file (rules/table.py) and
computes the amounts; these tests recompute every amount of the document from the table.
"""

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from ccmcli.rules.table import YEARS, RvuFile

ROOT = Path(__file__).resolve().parent.parent
CENT = Decimal("0.01")


def doc_text() -> str:
    """Part A of ccm-rules.md, as copied into tests/vendor (test_vendor.py keeps it equal to
    ../shared/ccm-rules.md whenever that is there)."""
    return (ROOT / "tests" / "vendor" / "ccm-rules-part-a.md").read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The body of `## A6. ...` up to the next `## ` heading."""
    start = text.index(f"\n## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def amount_rows(body: str) -> dict[tuple[str, int], tuple[Decimal, Decimal]]:
    """`| code | 2025 (RVU) | 2026 (RVU) |` tables: {(code, year): (amount, rvu)}."""
    found = {}
    years: list[int] = []
    for line in body.splitlines():
        if not line.startswith("|"):
            years = []  # a table ends at the first line that is not a row
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "code":
            years = [int(m[1]) for c in cells[1:] if (m := re.fullmatch(r"(\d{4}) \(RVU\)", c))]
            years = years if len(years) == len(cells) - 1 else []
            continue
        if not years or set(cells[0]) <= {"-"}:
            continue
        for year, cell in zip(years, cells[1:], strict=True):
            m = re.fullmatch(r"(\d+\.\d\d) \((\d+\.\d\d)\)", cell)
            assert m, f"unreadable amount cell {cell!r} for {cells[0]}"
            found[(cells[0], year)] = (Decimal(m[1]), Decimal(m[2]))
    return found


def documented() -> dict[tuple[str, int], tuple[Decimal, Decimal]]:
    text = doc_text()
    rows = amount_rows(section(text, "A6.")) | amount_rows(section(text, "A8."))
    assert len(rows) >= 26, "A6 and A8 should list 13 codes for 2 years"
    return rows


def documented_services() -> dict[tuple[str, int], Decimal]:
    """A11-A14's amounts, written in prose: `2025 53.05 (RVU 1.64); 2026 57.45 (1.72)` for
    99484, `Amount 2026: 57.78 (1.73)` for G0570, `2026: 99470 26.05, 99457 51.77, ...`."""
    text = doc_text()
    found: dict[tuple[str, int], Decimal] = {}
    a11 = section(text, "A11.")
    for year, amount in re.findall(r"(\d{4}) (\d+\.\d\d) \((?:RVU )?\d\.\d\d\)", a11):
        found[("99484", int(year))] = Decimal(amount)
    year, amount = re.search(r"Amount (\d{4}): (\d+\.\d\d)", section(text, "A12.")).groups()
    found[("G0570", int(year))] = Decimal(amount)
    for heading in ("A13.", "A14."):
        for year, pairs in re.findall(r"(\d{4}): ((?:\d{5} \d+\.\d\d(?:, )?)+)",
                                      " ".join(section(text, heading).split())):  # fmt: skip
            for code, amount in re.findall(r"(\d{5}) (\d+\.\d\d)", pairs):
                found[(code, int(year))] = Decimal(amount)
    assert len(found) == 13, found
    return found


def test_every_service_amount_of_a11_to_a14_is_the_tables():
    for (code, year), amount in documented_services().items():
        assert YEARS[year].amounts[code].exact == amount, f"{code} {year}"


def half_up(rvu: Decimal, factor: Decimal) -> Decimal:
    return (rvu * factor).quantize(CENT, rounding=ROUND_HALF_UP)


def test_every_documented_amount_is_the_tables_rvu_times_factor():
    """Each figure of A6 and A8 equals the table's RVU x CF for that year, and its RVU is the
    table's: a change to either the document or the table without the other fails here."""
    for (code, year), (amount, rvu) in documented().items():
        table = YEARS[year]
        assert code in table.amounts, f"{code} {year} is in ccm-rules.md but not in the table"
        got = table.amounts[code]
        assert got.rvu == rvu, f"{code} {year}: RVU {got.rvu} in the table, {rvu} in the document"
        assert half_up(got.rvu, table.conversion_factor) == amount, f"{code} {year}"
        assert got.exact == amount, f"{code} {year}"


def test_the_table_holds_nothing_the_document_does_not():
    doc = {*documented(), *documented_services()}
    for year, table in YEARS.items():
        assert {c for c, y in doc if y == year} == set(table.amounts), year


def test_conversion_factors_and_files_are_those_the_document_names():
    a6 = section(doc_text(), "A6.")
    factors = {int(y): Decimal(f) for y, f in re.findall(r"(\d{4}): (\d+\.\d{4})", a6)}
    assert factors == {y: t.conversion_factor for y, t in YEARS.items()}
    for year, table in YEARS.items():
        assert table.fee_schedule.name == f"RVU{year % 100}A"
        assert table.fee_schedule.name in a6


def test_amounts_round_half_up_to_cents():
    """2.675 is a hair under 2.675 as a float (round() gives 2.67); the published rule is half up."""
    schedule = RvuFile("TEST", None, Decimal("2.675"), {"X": Decimal("1.00")})
    assert schedule.amount("X").exact == Decimal("2.68")
    assert half_up(Decimal("1.87"), Decimal("32.3465")) == Decimal("60.49")


def test_sums_of_codes_are_exact():
    table = YEARS[2026]
    assert table.amount([("99491", 1), ("99437", 2)]) == 215.44
    assert table.amount([("99426", 1), ("99427", 1)]) == 121.91
    assert table.amount([]) == 0


@pytest.mark.parametrize("year", sorted(YEARS))
def test_rules_command_shows_each_amount_with_its_rvu_factor_and_file(cli, year):
    view = json.loads(cli("rules", "--year", str(year), "--format", "json").stdout)
    assert view["rvu_file"]["name"] == YEARS[year].fee_schedule.name
    shown = [t[kind] for t in view["tracks"] for kind in ("base", "addon")]
    assert len(shown) == 10
    for a in shown:
        rvu, factor = Decimal(str(a["rvu"])), Decimal(str(a["conversion_factor"]))
        assert Decimal(str(a["amount"])) == half_up(rvu, factor), a["code"]
        assert a["rvu_file"] == view["rvu_file"]["name"]
        assert "estimated" not in a


def test_example_clinic_october_uses_the_cms_amounts(cli, clinic):
    """Issue: P0012 (99491 + 99437 x2) at 215.44 and P0011 (99426 + 99427) at 121.91."""
    out = cli("-d", clinic, "check", "--month", "2026-10", "--wide").stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert "215.44" in rows["P0012"] and "99491x1" in rows["P0012"]
    assert "121.91" in rows["P0011"] and "99426x1" in rows["P0011"]
