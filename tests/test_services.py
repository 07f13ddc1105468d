"""A7: time of another service (the log's 13th column) counts toward nothing and is kept apart.

Old 12-column logs stay valid and are never rewritten; a tagged entry is refused there.
"""

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmcli.models.months import Month
from ccmcli.models.record_schema import validate
from ccmcli.models.records import Patient, Settings
from ccmcli.rules.judge import judge
from ccmcli.rules.table import rules_for
from ccmcli.store import timelog
from ccmcli.store.timelog import Entry
from helpers import ELIGIBLE_PATIENT

NOW = "2026-11-27T10:00:00-06:00"
DAY = "2026-11-02"


@pytest.fixture
def data(datadir, monkeypatch) -> Path:
    monkeypatch.setenv("CCM_NOW", NOW)
    (datadir / "patients" / "P1.yaml").write_text(ELIGIBLE_PATIENT.format(pid="P1"))
    return datadir


def log_file(root: Path) -> Path:
    return root / "logs" / "2026-11.csv"


def test_a_new_month_file_gets_the_service_column_and_the_tag(cli, data):
    result = cli("log", "P1", "20", "-d", data, "--date", DAY, "--service", "BHI", "-f", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["entry"]["service"] == "bhi"
    assert out["patient_month"]["minutes"]["other_services"] == {"bhi": 20}
    assert out["patient_month"]["status"] == "no_time"
    text = log_file(data).read_text()
    assert text.startswith(timelog.HEADER)
    assert text.splitlines()[1].endswith(",bhi")
    shown = cli("log", "P1", "5", "-d", data, "--date", DAY)
    assert "other services, not counted: bhi 20 min" in shown.stdout


def test_a_tagged_entry_is_refused_in_a_12_column_file_which_is_left_alone(cli, data):
    before = timelog.HEADER_12 + f"E1,P1,{DAY},25,clinical_staff,rn,calls,,,,,\n"
    log_file(data).write_text(before)
    refused = cli("log", "P1", "20", "-d", data, "--date", DAY, "--service", "bhi")
    assert refused.exit_code == 1
    assert "12 columns" in refused.stderr and "never rewrites" in refused.stderr
    assert "would count as care-management time" in refused.stderr
    assert log_file(data).read_text() == before
    plain = cli("log", "P1", "10", "-d", data, "--date", DAY, "-f", "csv")
    assert plain.exit_code == 0, plain.stderr
    lines = log_file(data).read_text().splitlines()
    assert lines[0] + "\n" == timelog.HEADER_12 and len(next(csv.reader([lines[-1]]))) == 12
    assert plain.stdout.splitlines() == [lines[0], lines[-1]]  # the row as written
    shown = cli("check", "-d", data, "--month", "2026-11", "-f", "json").stdout
    assert json.loads(shown)["patients"][0]["minutes"]["clinical_staff"] == 35
    assert cli("validate", "-d", data, "--no-code-check").exit_code == 0


def test_an_unknown_service_is_a_usage_error(cli, data):
    result = cli("log", "P1", "20", "-d", data, "--date", DAY, "--service", "ccm")
    assert result.exit_code == 2
    assert "--service" in result.stderr and "bhi, rpm, rtm, tcm, cocm, other" in result.stderr
    assert not log_file(data).exists()


def test_a_bad_service_in_a_log_is_a_problem_on_its_line(cli, data):
    log_file(data).write_text(timelog.HEADER + f"E1,P1,{DAY},25,clinical_staff,rn,a,,,,,,ccm\n")
    result = cli("validate", "-d", data, "--no-code-check")
    assert result.exit_code == 1
    assert 'logs/2026-11.csv:2: error: service "ccm" is not one of: bhi' in result.stdout


def test_explain_and_entries_say_each_entry_s_service(cli, data):
    cli("log", "P1", "25", "-d", data, "--date", DAY)
    cli("log", "P1", "20", "-d", data, "--date", DAY, "--service", "rpm", "--staff", "ma")
    text = cli("explain", "P1", "-d", data, "--month", "2026-11").stdout
    rows = [line.split() for line in text.splitlines() if "E2026" in line]
    assert [r[-1] for r in rows if "ccm" in r] == ["counted"]  # the service column says whose
    assert any("rpm" in r and "not counted: time of another service (rpm)" in " ".join(r)
               for r in rows)  # fmt: skip
    assert "not counted 0, other services (count toward nothing) rpm 20" in text
    ex = json.loads(cli("explain", "P1", "-d", data, "--month", "2026-11", "-f", "json").stdout)
    assert [e["service"] for e in ex["entries"]] == [None, "rpm"]
    assert [e["counted"] for e in ex["entries"]] == [True, False]
    assert ex["minutes"] == {"clinical_staff": 25, "practitioner": 0, "not_counted": 0,
                             "other_services": {"rpm": 20}, "counted": 25}  # fmt: skip
    listed = cli("entries", "-d", data, "--month", "2026-11", "-f", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(listed)))
    assert [r["service"] for r in rows] == ["", "rpm"]


# --- the property: tagging an entry with another service = not logging it ---------------------

PATIENT = validate(Patient, {
    "id": "P1", "name": "T", "birth_date": "1950-01-01", "conditions": ["E11.9", "I50.22"],
    "principal_condition": "I50.22", "consent": {"date": "2026-03-08", "method": "verbal"},
    "initiating_visit": {"date": "2026-03-05", "type": "em"},
    "care_plan": {"established": "2026-03-12"},
})  # fmt: skip
SETTINGS = validate(Settings, {"practice": "T", "timezone": "America/Chicago",
                                    "billing_npi": "1234567893"})  # fmt: skip
MARCH = Month(2026, 3)

entry_st = st.tuples(
    st.integers(1, 31),
    st.integers(1, 90),
    st.sampled_from(timelog.ROLES),
    st.sampled_from(("", "", "", *timelog.OTHER_SERVICES)),
)


def _entries(specs) -> list[Entry]:
    return [Entry(f"E{n}", "P1", date(2026, 3, d), m, role, "s", "", "", "", "", "", "", n,
                  "logs/2026-03.csv", None, service)
            for n, (d, m, role, service) in enumerate(specs, start=2)]  # fmt: skip


def _verdict(j) -> tuple:
    minutes = {k: v for k, v in j.minutes.items() if k != "other_services"}
    return (j.status, j.codes, j.amount, j.date_of_service, minutes,
            [(b.rule, b.message) for b in j.blockers], [(w.rule, w.message) for w in j.warnings],
            j.next, [(a.codes, a.amount) for a in j.alternatives])  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(specs=st.lists(entry_st, max_size=8), program=st.sampled_from(("ccm", "pcm", "apcm")))
def test_tagging_an_entry_with_another_service_is_the_same_as_not_logging_it(specs, program):
    patient = PATIENT.model_copy(update={"program": program})
    rules, _ = rules_for(2026)
    entries = _entries(specs)
    tagged = judge(patient, MARCH, entries, SETTINGS, rules)
    untagged = [e for e in entries if not e.service]
    assert _verdict(tagged) == _verdict(judge(patient, MARCH, untagged, SETTINGS, rules))
    expected: dict[str, int] = {}
    for e in entries:
        if e.service:
            expected[e.service] = expected.get(e.service, 0) + e.minutes
    assert tagged.minutes["other_services"] == expected
