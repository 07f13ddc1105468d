"""Reading a grown month log from where the last read left off (timelog.Resume, logcache.py).

Whatever the rows, reading a file in two goes (its text when first read, then only what follows
the resume point) must give exactly what one read of the whole file gives: the same entries,
voids linked the same way, the same problems on the same lines. And the cache must never use a
resume point whose bytes before it have changed.
"""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccmcli.models.months import Month
from ccmcli.store import cache, logcache, timelog
from ccmcli.store.datadir import DataDir

OCTOBER = Month(2026, 10)
REL = "logs/2026-10.csv"
KNOWN = {"P1", "P2"}

GOOD = "E{n},P1,2026-10-0{d},{m},clinical_staff,rn.a,care_plan,,,call,,\n"
ROWS = st.one_of(
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
    ]),
)  # fmt: skip
TAIL = st.sampled_from(["", "E9,P1,2026-10-0", "E9,P1,2026-10-03,5,clinical_staff,x,,,,,,"])


def shape(log: timelog.MonthLog) -> tuple:
    entries = [(e.as_dict(), e.voided_by) for e in log.entries]
    return entries, log.problems, log.exists


def read_all(text: str) -> timelog.MonthLog:
    return timelog.parse_month(text, OCTOBER, REL, KNOWN.__contains__)


@settings(max_examples=300, deadline=None)
@given(st.lists(ROWS, max_size=12), st.lists(ROWS, max_size=8), TAIL, TAIL)
def test_reading_on_from_the_resume_point_equals_reading_the_whole_file(first, more, torn, end):
    before = timelog.HEADER + "".join(first) + torn
    after = timelog.HEADER + "".join(first) + torn + "".join(more) + end
    log, resume = timelog.read_rows(before, OCTOBER, REL, KNOWN.__contains__)
    assert shape(log) == shape(read_all(before))
    if resume is None:  # text whose characters are not bytes, or whose lines end in \r
        assert not before.isascii() or "\r" in before.replace("\r\n", "")
        return
    assert resume.offset <= len(before)
    rest = after[resume.offset :]
    resumed, _ = timelog.read_rows(rest, OCTOBER, REL, KNOWN.__contains__, resume=resume)
    assert shape(resumed) == shape(read_all(after))


def test_a_file_of_its_header_only_resumes_after_it():
    _, resume = timelog.read_rows(timelog.HEADER, OCTOBER, REL)
    assert (resume.offset, resume.line, resume.entries, resume.problems) == (
        len(timelog.HEADER),
        2,
        [],
        [],
    )
    row = GOOD.format(n=1, d=1, m=5)
    resumed, _ = timelog.read_rows(row, OCTOBER, REL, resume=resume)
    assert shape(resumed) == shape(timelog.parse_month(timelog.HEADER + row, OCTOBER, REL))


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
    return timelog.read_month(data, OCTOBER, KNOWN.__contains__)


def write(path: Path, text: str, mode: str = "w") -> None:
    with path.open(mode, newline="") as f:
        f.write(text)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(ROWS, max_size=8), st.lists(st.lists(ROWS, max_size=4), max_size=4), TAIL)
def test_a_log_read_through_the_cache_after_each_append_equals_a_whole_read(
    data, first, appends, torn
):
    path = data.log_path(OCTOBER)
    write(path, timelog.HEADER + "".join(first) + torn)
    assert shape(cached_read(data)) == shape(whole_read(data))
    for rows in appends:
        write(path, "".join(rows), "a")
        assert shape(cached_read(data)) == shape(whole_read(data))
        assert shape(cached_read(data)) == shape(whole_read(data))  # the exact hit, too


def test_only_the_appended_rows_are_parsed(data, monkeypatch):
    path = data.log_path(OCTOBER)
    write(path, timelog.HEADER + "".join(GOOD.format(n=n, d=1, m=5) for n in range(1, 6)))
    cached_read(data)
    write(path, GOOD.format(n=7, d=2, m=9), "a")
    seen: list[str] = []
    real = timelog.read_rows
    monkeypatch.setattr(timelog, "read_rows", lambda text, *a: seen.append(text) or real(text, *a))
    log = cached_read(data)
    assert seen == [GOOD.format(n=5, d=1, m=5) + GOOD.format(n=7, d=2, m=9)]
    assert [e.id for e in log.entries] == ["E1", "E2", "E3", "E4", "E5", "E7"]


def test_an_edit_before_the_resume_point_is_read_in_full(data):
    """Same length, one digit changed, and the row appended after it: the prefix no longer
    hashes the same, so the whole file is read and the edit is seen."""
    path = data.log_path(OCTOBER)
    rows = [GOOD.format(n=n, d=1, m=5) for n in range(1, 4)]
    write(path, timelog.HEADER + "".join(rows))
    cached_read(data)
    stat = os.stat(path)
    write(path, timelog.HEADER + rows[0].replace(",5,", ",6,") + "".join(rows[1:]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    write(path, GOOD.format(n=9, d=2, m=9), "a")
    log = cached_read(data)
    assert [e.minutes for e in log.entries] == [6, 5, 5, 9]
    assert shape(log) == shape(whole_read(data))


def test_appends_under_the_lock_see_the_log_as_a_whole_read_does(data):
    """`ccm log` reads the month under its lock through the cache: after appends, a hand edit
    of the same size, and a torn last line, each append sees what a whole read sees."""
    from datetime import date

    from ccmcli.store.logappend import append_entry

    path = data.log_path(OCTOBER)
    write(path, timelog.HEADER + "".join(GOOD.format(n=n, d=1, m=5) for n in range(1, 4)))

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
        _, log, _ = append_entry(data, OCTOBER, "America/Chicago", build)
        log.entries.pop()  # the new row, which the log holds as a reader will see it
        assert shape(log) == shape(timelog.parse_month(text_before, OCTOBER, REL))
        seen.append([e.minutes for e in log.entries if e.id == "E2"])
    assert seen == [[5], [5], [6], [6], [6], [6]]
