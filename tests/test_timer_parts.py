"""Properties of how a timer's span becomes entries, and of the file name a staff name gets."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccmcli.actions.timer_parts import day_parts, elapsed_minutes, end_of_timer
from ccmcli.models.errors import CcmError
from ccmcli.models.months import zone
from ccmcli.store import timerstate
from ccmcli.store.datadir import DataDir
from ccmcli.store.log_rows import minutes_between

CHICAGO = zone("America/Chicago")
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))  # fmt: skip
spans = st.integers(min_value=0, max_value=12 * 3600 * 1_000_000)


@given(instants, spans)
def test_parts_never_exceed_the_time_that_passed(start, micros):
    started = start.astimezone(CHICAGO)
    ended = (start + timedelta(microseconds=micros)).astimezone(CHICAGO)
    try:
        parts = day_parts(started, ended)
    except CcmError as exc:  # only across a daylight-saving change
        assert "daylight saving" in str(exc)
        assert started.utcoffset() != ended.utcoffset()
        return
    assert sum(p.minutes for p in parts) * 60 <= micros / 1_000_000
    assert sum(p.minutes for p in parts) <= elapsed_minutes(started, ended)
    for p in parts:
        assert p.minutes >= 1 and minutes_between(p.start, p.end) == p.minutes
        assert started.date() <= p.day <= ended.date()
    assert [p.day for p in parts] == sorted({p.day for p in parts})
    if len(parts) == 2:
        assert (parts[0].end, parts[1].start) == ("23:59", "00:00")


def test_a_span_inside_one_minute_crossing_the_minute_logs_nothing():
    t = datetime(2026, 11, 3, 9, 0, 30, tzinfo=CHICAGO)
    assert day_parts(t, t + timedelta(seconds=45)) == []


def test_spring_forward_is_refused_rather_than_overstated():
    started = datetime(2026, 3, 8, 1, 50, tzinfo=CHICAGO)
    ended = (started.astimezone(UTC) + timedelta(minutes=20)).astimezone(CHICAGO)  # 03:10 CDT
    with pytest.raises(CcmError, match="daylight saving"):
        day_parts(started, ended)


def test_at_on_a_long_day_holds_no_more_than_a_row_allows():
    started = datetime(2026, 11, 3, 6, 0, tzinfo=CHICAGO)
    now = datetime(2026, 11, 3, 23, 0, tzinfo=CHICAGO)
    with pytest.raises(CcmError, match="more than the 720"):
        day_parts(started, end_of_timer(started, now, "19:00"))


def test_at_the_start_minute_is_a_zero_length_timer():
    started = datetime(2026, 11, 3, 9, 0, 30, tzinfo=CHICAGO)
    now = started + timedelta(minutes=5)
    assert day_parts(started, end_of_timer(started, now, "09:00")) == []


@given(st.text(max_size=80))
def test_any_staff_name_maps_to_a_safe_file_inside_the_folder(staff):
    key = timerstate.staff_key(staff)
    assert re.fullmatch(r"[a-z0-9-]{1,60}", key) and not key.startswith("-")
    data = DataDir(Path("/data"))
    assert timerstate.state_path(data, staff).parent == Path("/data/timers")


@given(st.text(max_size=20), st.text(max_size=20))
def test_different_staff_names_get_different_files(a, b):
    if a != b:
        assert timerstate.staff_key(a).lower() != timerstate.staff_key(b).lower()
