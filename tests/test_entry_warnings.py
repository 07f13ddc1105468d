"""The warnings of a month's rows (contract 3), worked out per patient (entry_checks.MonthWarnings)
are the ones looking at the whole month at once gives, in the same order: only overlaps look
across patients, so a patient's other warnings come from the patient's own rows."""

from collections import defaultdict
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from ccmcli.rules import entry_checks
from ccmcli.rules.entry_checks import MonthWarnings
from ccmcli.store.timelog import Entry


def whole_month(entries: list[Entry], day_limit: int) -> dict[str, list]:
    """Every warning of the month found in one pass over all its rows, as before per patient."""
    out: dict[str, list] = defaultdict(list)
    live = [e for e in entries if e.counts]
    found = (*entry_checks._overlaps(live), *entry_checks._duplicates(live),
             *entry_checks._late(live), *entry_checks._long(live, day_limit))  # fmt: skip
    for e, finding in found:
        out[e.patient_id].append(finding)
    return out


ROW = st.tuples(
    st.sampled_from(["P1", "P2", "P3"]),
    st.integers(1, 4),
    st.sampled_from([5, 20, 60, 95, 130]),
    st.sampled_from(["rn.a", "rn.b"]),
    st.sampled_from(["", "09:00", "09:10", "09:30"]),
    st.integers(0, 12),
    st.sampled_from(["", "bhi"]),
)


@st.composite
def month_rows(draw) -> list[Entry]:
    rows = draw(st.lists(ROW, max_size=30))
    entries = []
    for n, (pid, day, minutes, staff, start, late, service) in enumerate(rows):
        end = f"{int(start[:2]) + minutes // 60:02d}:{int(start[3:]) + minutes % 60:02d}" if (
            start and minutes < 50) else ""  # fmt: skip
        entries.append(Entry(
            f"E{n}", pid, date(2026, 10, day), minutes, "clinical_staff", staff, "calls",
            start if end else "", end, "", f"2026-10-{day + late:02d}T17:00:00-06:00", "", n + 2,
            "logs/2026-10.csv", None, service,
        ))  # fmt: skip
    for e in draw(st.lists(st.sampled_from(entries), max_size=3, unique_by=id)) if entries else []:
        e.voided_by = "E999"  # voided rows warn of nothing
    return entries


@settings(max_examples=300, deadline=None)
@given(month_rows(), st.sampled_from([60, 120, 200]))
def test_each_patient_has_the_warnings_of_the_whole_month(entries, day_limit):
    expected = whole_month(entries, day_limit)
    for whole in (False, True):
        month = MonthWarnings(entries, day_limit, whole=whole)
        for pid in ("P1", "P2", "P3"):
            mine = [e for e in entries if e.patient_id == pid]
            got = [f.as_dict() for f in month.of(pid, mine)]
            assert got == [f.as_dict() for f in expected.get(pid, [])]


def test_the_rows_give_every_kind_of_warning():
    """The strategy above reaches every warning (else the property would prove little)."""
    rows = [
        ("P1", 2, 20, "rn.a", "09:00"),
        ("P2", 2, 20, "rn.a", "09:10"),  # overlap
        ("P1", 3, 5, "rn.b", ""),
        ("P1", 3, 5, "rn.b", ""),  # duplicate
        ("P3", 1, 95, "rn.a", ""),
        ("P3", 1, 60, "rn.b", ""),
    ]  # long entry, long day
    entries = [
        Entry(f"E{n}", pid, date(2026, 10, day), m, "clinical_staff", staff, "calls", start,
              f"09:{int(start[3:]) + m:02d}" if start else "", "", "2026-10-20T17:00:00-06:00",
              "", n + 2, "logs/2026-10.csv")
        for n, (pid, day, m, staff, start) in enumerate(rows)
    ]  # fmt: skip
    month = MonthWarnings(entries, 120)
    rules = {f.rule for pid in ("P1", "P2", "P3")
             for f in month.of(pid, [e for e in entries if e.patient_id == pid])}  # fmt: skip
    assert rules == {"overlapping_entries", "duplicate_entry", "late_entry", "long_entry",
                     "long_day"}  # fmt: skip
