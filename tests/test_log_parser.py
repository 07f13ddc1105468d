"""Reading a grown month log from where the last read left off (log_parser.Resume, logcache.py).

Whatever the rows, reading a file in two goes (its text when first read, then only what follows
the resume point) must give exactly what one read of the whole file gives: the same entries,
voids linked the same way, the same problems on the same lines. And the cache must never use a
resume point whose bytes before it have changed. Both widths are read this way: a file whose
header has the `service` column (13 cells a row) and one written before it existed (12).
"""

import csv
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccmcli.models.months import Month
from ccmcli.store import cache, log_parser, logcache, timelog
from ccmcli.store.datadir import DataDir

OCTOBER = Month(2026, 10)
REL = "logs/2026-10.csv"
KNOWN = {"P1", "P2"}

GOOD = "E{n},P1,2026-10-0{d},{m},clinical_staff,rn.a,care_plan,,,call,,\n"
ROW = st.one_of(
    st.builds(GOOD.format, n=st.integers(1, 6), d=st.integers(1, 9), m=st.integers(1, 40)),
    st.builds("E{n},P2,2026-10-05,,,rn.a,,,,,,E{t}\n".format, n=st.integers(1, 6),
              t=st.integers(1, 6)),  # void rows, of entries that may or may not exist
    st.sampled_from([
        "\n",
        "E9,P3,2026-10-01,5,clinical_staff,rn.a,,,,,,\n",  # unknown patient
        "E8,P1,2026-11-01,5,clinical_staff,rn.a,,,,,,\n",  # another month
        "E7,P1,2026-10-02,0,clinical_staff,rn.a,,,,,,\n",
        'E6,P1,2026-10-02,5,clinical_staff,rn.a,,,,"a note, with a comma",,\n',
        'E5,P1,2026-10-02,5,clinical_staff,rn.a,,,,"two\nlines",,\n',
        'E4,P1,2026-10-02,5,clinical_staff,rn.a,,,,"left open,,\n',  # swallows what follows
        'E3,P1,2026-10-02,5,clinical_staff,rn.a,,,,"quote ""in"" it",,\r\n',
        "E2,P1,2026-10-02,5,clinical_staff\n",
        "E1,P2,2026-10-03,5,practitioner,dr.b,,,,\u00e9t\u00e9,,\n",  # not ASCII
        "E1,P2,2026-10-03,5,practitioner,dr.b,,,,old mac\r",  # a lone carriage return
        "E2,P2,2026-10-03,5,practitioner,dr.b,,,,a\x00b,,\n",  # a control character
        "E3,P1,2026-10-04,5,clinical_staff,rn.a,,,," + "x" * 70 + ",,\n",  # a long cell
    ]),
)  # fmt: skip
# The service cell: "" and a service fit the file's width; "zzz" is no service; WRONG gives the
# row the other width (a 13th cell in a 12-column file, none in a 13-column one).
SERVICE = st.sampled_from(["", "", "", "bhi", "rpm", "zzz", "WRONG"])
ROWS = st.builds(lambda row, service: (row, service), ROW, SERVICE)
TAIL = st.sampled_from(["", "E9,P1,2026-10-0", "E9,P1,2026-10-03,5,clinical_staff,x,,,,,,"])
WIDTH = st.sampled_from([12, 13])
HEADERS = {12: timelog.HEADER_12, 13: timelog.HEADER}


def render(rows: list[tuple[str, str]], width: int) -> str:
    """The rows as lines of a file `width` columns wide: the service cell goes before the line
    end (a broken row stays broken, as another broken row)."""
    out = []
    for row, service in rows:
        body = row.rstrip("\r\n")
        ending = row[len(body) :]
        if (width == 13) != (service == "WRONG"):
            body += "," + ("" if service == "WRONG" else service)
        out.append(body + ending)
    return "".join(out)


def shape(log: timelog.MonthLog) -> tuple:
    entries = [(e.as_dict(), e.voided_by) for e in log.entries]
    return entries, log.problems, log.exists, log.columns


@contextmanager
def cell_limit(limit: int | None):
    """The csv module's cell limit lowered (a long cell, and a quote left open, then stop the
    reader with csv.Error) or as it is."""
    old = csv.field_size_limit()
    if limit:
        csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def read_all(text: str) -> timelog.MonthLog:
    return log_parser.parse_month(text, OCTOBER, REL, KNOWN.__contains__)


LIMIT = st.sampled_from([None, None, 64])


@settings(max_examples=400, deadline=None)
@given(WIDTH, st.lists(ROWS, max_size=12), st.lists(ROWS, max_size=8), TAIL, TAIL, LIMIT)
def test_reading_on_from_the_resume_point_equals_reading_the_whole_file(
    width, first, more, torn, end, limit
):
    before = HEADERS[width] + render(first, width) + torn
    after = before + render(more, width) + end
    with cell_limit(limit):
        log, resume = log_parser.read_rows(before, OCTOBER, REL, KNOWN.__contains__)
        assert shape(log) == shape(read_all(before))
        assert log.columns == width
        if resume is None:  # text whose characters are not bytes, or whose lines end in \r
            assert not before.isascii() or "\r" in before.replace("\r\n", "")
            return
        assert resume.offset <= len(before) and resume.columns == width
        rest = after[resume.offset :]
        resumed, _ = log_parser.read_rows(rest, OCTOBER, REL, KNOWN.__contains__, resume=resume)
        assert shape(resumed) == shape(read_all(after))


def good(n: int, d: int, m: int, width: int = 13, service: str = "") -> str:
    return render([(GOOD.format(n=n, d=d, m=m), service)], width)


@pytest.mark.parametrize("width", [12, 13])
def test_a_file_of_its_header_only_resumes_after_it(width):
    header = HEADERS[width]
    _, resume = log_parser.read_rows(header, OCTOBER, REL)
    assert (resume.offset, resume.line, resume.entries, resume.problems, resume.columns) == (
        len(header), 2, [], [], width,
    )  # fmt: skip
    row = good(1, 1, 5, width, "bhi")
    resumed, _ = log_parser.read_rows(row, OCTOBER, REL, resume=resume)
    assert shape(resumed) == shape(log_parser.parse_month(header + row, OCTOBER, REL))
    assert [e.service for e in resumed.entries] == ["bhi" if width == 13 else ""]


# --- through the cache ----------------------------------------------------------------------


@pytest.fixture
def data(tmp_path, monkeypatch) -> DataDir:
    monkeypatch.setenv("CCM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CCM_NO_CACHE", raising=False)
    monkeypatch.setattr(cache, "RACY_NS", 0)
    (tmp_path / "d" / "logs").mkdir(parents=True)
    return DataDir(tmp_path / "d")


def cached_read(data: DataDir) -> timelog.MonthLog:
    return logcache.read_month(data, OCTOBER, KNOWN)


def whole_read(data: DataDir) -> timelog.MonthLog:
    return log_parser.read_month(data, OCTOBER, KNOWN.__contains__)


def write(path: Path, text: str, mode: str = "w") -> None:
    with path.open(mode, newline="") as f:
        f.write(text)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(WIDTH, st.lists(ROWS, max_size=8), st.lists(st.lists(ROWS, max_size=4), max_size=4), TAIL,
       st.booleans())  # fmt: skip
def test_a_log_read_through_the_cache_after_each_append_equals_a_whole_read(
    data, width, first, appends, torn, racy
):
    """Through the cache, as the loader reads a month for every command (`ccm log` under its
    lock too); with every signature trusted, or none (each file changed within the racy
    window)."""
    cache.RACY_NS = 10**18 if racy else 0  # the fixture puts it back
    path = data.log_path(OCTOBER)
    write(path, HEADERS[width] + render(first, width) + torn)
    assert shape(cached_read(data)) == shape(whole_read(data))
    for rows in appends:
        write(path, render(rows, width), "a")
        whole = whole_read(data)
        assert shape(cached_read(data)) == shape(whole)
        assert shape(cached_read(data)) == shape(whole)  # the exact hit, too


def test_only_the_appended_rows_are_parsed(data, monkeypatch):
    path = data.log_path(OCTOBER)
    write(path, timelog.HEADER + "".join(good(n, 1, 5) for n in range(1, 6)))
    cached_read(data)
    write(path, good(7, 2, 9, service="bhi"), "a")
    seen: list[str] = []
    real = log_parser.read_rows
    monkeypatch.setattr(
        log_parser, "read_rows", lambda text, *a: seen.append(text) or real(text, *a)
    )
    log = cached_read(data)
    assert seen == [good(5, 1, 5) + good(7, 2, 9, service="bhi")]
    assert [e.id for e in log.entries] == ["E1", "E2", "E3", "E4", "E5", "E7"]
    assert [e.service for e in log.entries][-2:] == ["", "bhi"]


def test_a_12_column_file_is_read_on_as_12_columns(data):
    """The header is not read again on a resume: the width kept with the point is the file's,
    so a 12-column row still counts and a 13-column one is the error a whole read reports."""
    path = data.log_path(OCTOBER)
    write(path, timelog.HEADER_12 + good(1, 1, 5, 12))
    cached_read(data)
    write(path, good(2, 2, 6, 12) + good(3, 2, 7, 13), "a")
    log = cached_read(data)
    assert [e.id for e in log.entries] == ["E1", "E2"] and log.columns == 12
    assert [(p.line, p.message) for p in log.problems] == [(4, "row has 13 columns, expected 12")]
    assert shape(log) == shape(whole_read(data))


@pytest.mark.parametrize("width", [12, 13])
def test_an_edit_before_the_resume_point_is_read_in_full(data, width):
    """Same length, one digit changed, and the row appended after it: the prefix no longer
    hashes the same, so the whole file is read and the edit is seen."""
    path = data.log_path(OCTOBER)
    rows = [good(n, 1, 5, width) for n in range(1, 4)]
    write(path, HEADERS[width] + "".join(rows))
    cached_read(data)
    stat = os.stat(path)
    write(path, HEADERS[width] + rows[0].replace(",5,", ",6,") + "".join(rows[1:]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    write(path, good(9, 2, 9, width), "a")
    log = cached_read(data)
    assert [e.minutes for e in log.entries] == [6, 5, 5, 9]
    assert shape(log) == shape(whole_read(data))


def test_a_header_changed_to_the_other_width_is_read_in_full(data):
    """A 12-column file given the service column by hand (same rows, widened): nothing before
    the point is as it was, so the new width is read from the header."""
    path = data.log_path(OCTOBER)
    write(path, timelog.HEADER_12 + good(1, 1, 5, 12) + good(2, 1, 5, 12))
    cached_read(data)
    write(path, timelog.HEADER + good(1, 1, 5) + good(2, 1, 5) + good(3, 1, 5, service="rpm"))
    log = cached_read(data)
    assert log.columns == 13 and [e.service for e in log.entries] == ["", "", "rpm"]
    assert shape(log) == shape(whole_read(data))


@pytest.mark.parametrize("width", [12, 13])
def test_appends_under_the_lock_see_the_log_as_a_whole_read_does(data, width):
    """`ccm log` reads the month under its lock through the cache: after appends, a hand edit
    of the same size, and a torn last line, each append sees what a whole read sees."""
    from datetime import date

    from ccmcli.store.logappend import append_entry

    path = data.log_path(OCTOBER)
    write(path, HEADERS[width] + "".join(good(n, 1, 5, width) for n in range(1, 4)))

    def build(_log):
        draft = timelog.Entry("", "P1", date(2026, 10, 9), 7, "clinical_staff", "rn.a", "",
                              "", "", "", "", "", 0, "")  # fmt: skip
        return draft, []

    seen = []
    for step in ("append", "append", "edit", "append", "torn", "append"):
        if step == "edit":
            write(path, path.read_text().replace("E2,P1,2026-10-01,5,", "E2,P1,2026-10-01,6,"))
        elif step == "torn":
            write(path, "E8,P1,2026-10-0", "a")
        text_before = path.read_text()
        _, log, _ = append_entry(data, OCTOBER, "America/Chicago", build, lambda: cached_read(data))
        log.entries.pop()  # the new row, which the log holds as a reader will see it
        want = log_parser.parse_month(text_before, OCTOBER, REL, KNOWN.__contains__)
        assert shape(log) == shape(want)
        seen.append([e.minutes for e in log.entries if e.id == "E2"])
    assert seen == [[5], [5], [6], [6], [6], [6]]
    assert len(path.read_text().splitlines()[-1].split(",")) == width
