"""Properties of the rules engine that must hold for any month's entries (hypothesis).

The core is called directly (rules.judge.judge with models and timelog.Entry objects) so that
hundreds of months are judged in a second or two; only the two-months property reads real files.
"""

import csv
import io
import random
import tempfile
from datetime import date, timedelta
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmcli.loader import load
from ccmcli.models.months import Month
from ccmcli.models.record_schema import validate
from ccmcli.models.records import Patient, Settings
from ccmcli.reports.practice_month import judge_month, judgement_dict
from ccmcli.rules.entry_checks import MonthWarnings
from ccmcli.rules.judge import judge
from ccmcli.rules.table import rules_for
from ccmcli.store.datadir import DataDir
from ccmcli.store.timelog import COLUMNS, HEADER_12, Entry

FAST = settings(max_examples=150, deadline=None)
MONTHS = (Month(2025, 3), Month(2026, 2))


def _patient(**over) -> Patient:
    base = {
        "id": "P1", "name": "Test Patient", "birth_date": "1950-01-01", "program": "ccm",
        "conditions": [{"code": "E11.9"}, {"code": "I50.22"}],
        "consent": {"date": "2024-10-01", "method": "verbal"},
        "care_plan": {"established": "2024-10-01"},
        "initiating_visit": {"date": "2024-10-01", "type": "em"},
    }  # fmt: skip
    return validate(Patient, {**base, **over})


COMPLEX = [{"month": str(m), "mdm": "high"} for m in MONTHS]
PATIENTS = {
    "baseline": _patient(),
    "complex": _patient(complex_months=COMPLEX),
    "consent mid-month": _patient(
        consent={"date": "2025-03-10", "method": "verbal"},
        initiating_visit={"date": "2025-03-14", "type": "em"},
        care_plan={"established": "2025-03-20"},
    ),
    "pcm": _patient(program="pcm", principal_condition="I50.22"),
    "no consent": _patient(consent=None),
}
ELIGIBLE = {k: v for k, v in PATIENTS.items() if k not in ("no consent", "consent mid-month")}


def _settings(**over) -> Settings:
    return validate(
        Settings,
        {"practice": "P", "timezone": "America/Chicago", "billing_npi": "1234567893", **over},
    )


SETTINGS = [
    _settings(count_practitioner_minutes_as_staff=pool, selection=sel, date_of_service=dos)
    for pool in (True, False)
    for sel in ("max_payment", "performer")
    for dos in ("threshold_met", "month_end")
]
MAX_PAYMENT = [s for s in SETTINGS if s.selection == "max_payment"]


def make_entry(n: int, day: date, minutes: int, role: str, **kw) -> Entry:
    return Entry(
        id=kw.get("id", f"E{n}"), patient_id=kw.get("patient_id", "P1"), date=day,
        minutes=minutes, role=role, staff=kw.get("staff", "rn.a"), activity="calls",
        start=kw.get("start", ""), end=kw.get("end", ""), note="",
        logged_at=f"{day}T17:00:00-06:00", voids=kw.get("voids", ""), line=n + 1,
        file=f"logs/{Month.of(day)}.csv",
    )  # fmt: skip


minutes_st = st.one_of(st.integers(1, 30), st.integers(1, 720))
small_st = st.integers(1, 10)
role_st = st.sampled_from(["clinical_staff", "practitioner"])


@st.composite
def months_entries(draw, month: Month | None = None, max_size: int = 10):
    """A month and its entries: days within the month, minutes 1-720 (mostly short), a role."""
    month = month or draw(st.sampled_from(MONTHS))
    rows = draw(
        st.lists(st.tuples(st.integers(1, month.days), minutes_st, role_st), max_size=max_size)
    )
    return month, [
        make_entry(i, month.first + timedelta(days=d - 1), m, r)
        for i, (d, m, r) in enumerate(rows, 1)
    ]


def run(patient, month, entries, cfg):
    rules, _ = rules_for(month.year)
    warnings = MonthWarnings(entries).of(patient.id, entries)
    return judge(patient, month, entries, cfg, rules, warnings)


def outcome(j) -> dict:
    """Everything a judgement says about the month, warnings as a sorted list of rule ids."""
    d = judgement_dict(j)
    d["warnings"] = sorted(w["rule"] for w in d["warnings"])
    return d


def _all_code_lists(j):
    yield j.codes
    for alt in j.alternatives:
        yield alt.codes
    if j.next:
        yield j.next.codes


@FAST
@given(
    data=months_entries(max_size=14),
    patient=st.sampled_from(list(PATIENTS.values())),
    cfg=st.sampled_from(SETTINGS),
)
def test_addon_units_never_exceed_caps(data, patient, cfg):
    """A1: base first, one unit; add-on units between 1 and the cap; one track per code list."""
    month, entries = data
    j = run(patient, month, entries, cfg)
    rules, _ = rules_for(month.year)
    by_base = {t.base_code: t for t in rules.tracks_for(patient.program)}
    for codes in _all_code_lists(j):
        if not codes:
            continue
        track = by_base[codes[0][0]]
        assert codes[0][1] == 1
        assert len(codes) <= 2
        if len(codes) == 2:
            assert codes[1][0] == track.addon_code
            assert 1 <= codes[1][1] <= track.addon_cap


@FAST
@given(
    data=months_entries(),
    patient=st.sampled_from(list(ELIGIBLE.values())),
    cfg=st.sampled_from(MAX_PAYMENT),
    extra=st.tuples(st.integers(1, 28), st.one_of(small_st, minutes_st), role_st),
)
def test_adding_a_countable_entry_never_lowers_the_amount(data, patient, cfg, extra):
    """A4 max_payment: one more counted entry of either role never pays less."""
    month, entries = data
    day, minutes, role = extra
    before = run(patient, month, entries, cfg)
    more = [*entries, make_entry(99, month.first + timedelta(days=day - 1), minutes, role)]
    after = run(patient, month, more, cfg)
    assert after.amount >= before.amount
    assert (
        sum(after.minutes[r] for r in ("clinical_staff", "practitioner"))
        == sum(before.minutes[r] for r in ("clinical_staff", "practitioner")) + minutes
    )


@FAST
@given(
    data=months_entries(max_size=12),
    patient=st.sampled_from(list(PATIENTS.values())),
    cfg=st.sampled_from(SETTINGS),
    seed=st.integers(0, 2**32),
)
def test_entry_order_never_matters(data, patient, cfg, seed):
    """The same entries in any order give the same judgement (codes, date, next, warnings)."""
    month, entries = data
    shuffled = list(entries)
    random.Random(seed).shuffle(shuffled)
    assert outcome(run(patient, month, shuffled, cfg)) == outcome(run(patient, month, entries, cfg))


@FAST
@given(
    data=months_entries(max_size=10),
    patient=st.sampled_from(list(PATIENTS.values())),
    cfg=st.sampled_from(SETTINGS),
    pick=st.integers(0, 100),
)
def test_voiding_an_entry_equals_never_logging_it(data, patient, cfg, pick):
    """A voided entry and its void row count toward nothing and warn about nothing."""
    month, entries = data
    if not entries:
        return
    i = pick % len(entries)
    target = entries[i]
    voided = [make_entry(n, e.date, e.minutes, e.role) for n, e in enumerate(entries, 1)]
    voided[i].voided_by = "V1"
    void_row = make_entry(50, target.date, None, target.role, id="V1", voids=target.id)
    without = [e for n, e in enumerate(entries) if n != i]
    assert outcome(run(patient, month, [*voided, void_row], cfg)) == outcome(
        run(patient, month, without, cfg)
    )


@FAST
@given(
    data=months_entries(max_size=12),
    patient=st.sampled_from(list(PATIENTS.values())),
    cfg=st.sampled_from(SETTINGS),
)
def test_judgement_is_consistent(data, patient, cfg):
    """Contract 3: status, codes, date of service and minutes agree with one another."""
    month, entries = data
    j = run(patient, month, entries, cfg)
    total = sum(e.minutes for e in entries)
    counted = j.minutes["clinical_staff"] + j.minutes["practitioner"]
    excluded = sum(v.entry.minutes for v in j.verdicts if not v.counted)
    assert counted + excluded == total
    assert excluded <= j.minutes["not_counted"] <= total
    assert (j.status == "blocked") == bool(j.blockers)
    assert (j.status == "billable") == bool(j.codes)
    assert j.status != "no_time" or counted == 0
    if j.blockers:
        assert j.codes == [] and j.next is None and j.alternatives == []
    if not j.codes:
        assert j.date_of_service is None and j.amount == 0
        return
    assert month.contains(j.date_of_service)
    assert j.date_of_service >= patient.care_plan.established
    if cfg.date_of_service == "month_end":
        assert j.date_of_service == month.last
    else:
        counted_days = {v.entry.date for v in j.verdicts if v.counted}
        assert j.date_of_service in counted_days | {patient.care_plan.established}
    assert all(a.amount <= j.amount for a in j.alternatives) or cfg.selection == "performer"


@FAST
@given(
    data=months_entries(max_size=8),
    patient=st.sampled_from(list(ELIGIBLE.values())),
    cfg=st.sampled_from(SETTINGS),
)
def test_next_is_the_fewest_minutes_that_pay_more(data, patient, cfg):
    """Contract `next`: its minutes (of its role) raise the amount to its codes; one fewer does
    not. When it is null, no number of further minutes of that role pays more."""
    month, entries = data
    j = run(patient, month, entries, cfg)
    last = month.last
    if j.next is None:
        prac_only = j.minutes["practitioner"] > 0 and j.minutes["clinical_staff"] == 0
        role = "practitioner" if prac_only else "clinical_staff"
        for extra in (1, 30, 5000):
            more = run(patient, month, [*entries, make_entry(98, last, extra, role)], cfg)
            assert more.amount <= j.amount + 0.001
        return
    step = j.next
    reach = run(
        patient, month, [*entries, make_entry(98, last, step.minutes_needed, step.role)], cfg
    )
    assert reach.amount > j.amount and reach.codes == step.codes
    if step.minutes_needed > 1:
        short = make_entry(98, last, step.minutes_needed - 1, step.role)
        assert run(patient, month, [*entries, short], cfg).amount <= j.amount + 0.001


# --- two months, through the files ------------------------------------------------------------


def _write_log(root: Path, month: Month, entries: list[Entry]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for e in entries:
        row = {**e.as_dict(), "start": "", "end": "", "logged_at": e.logged_at, "voids": ""}
        writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
    (root / "logs" / f"{month}.csv").write_text(HEADER_12 + out.getvalue(), encoding="utf-8")


def _data_dir(root: Path, cfg: Settings, patient: Patient) -> DataDir:
    for sub in ("patients", "logs"):
        (root / sub).mkdir()
    # unset settings left out, as people write the file: ccm reads `null` as text (STYLE.md 5)
    (root / "ccm.yaml").write_text(
        yaml.safe_dump(cfg.model_dump(mode="json", exclude_none=True)), encoding="utf-8"
    )
    (root / "patients" / "P1.yaml").write_text(
        yaml.safe_dump(patient.model_dump(mode="json", exclude_none=True)), encoding="utf-8"
    )
    return DataDir(root)


def _month_json(data: DataDir, cfg: Settings, month: Month) -> dict:
    return judge_month(load(data), month).as_dict()


@settings(max_examples=40, deadline=None)
@given(
    march=months_entries(month=Month(2025, 3), max_size=6),
    april=months_entries(month=Month(2025, 4), max_size=6),
    patient=st.sampled_from(list(PATIENTS.values())),
    cfg=st.sampled_from(SETTINGS),
)
def test_minutes_of_two_months_never_combine(march, april, patient, cfg):
    """T-02: a month's result depends only on its own entries, whatever the next month holds."""
    (m3, e3), (m4, e4) = march, april
    e4 = [make_entry(100 + i, e.date, e.minutes, e.role) for i, e in enumerate(e4)]
    with tempfile.TemporaryDirectory() as both_dir, tempfile.TemporaryDirectory() as one_dir:
        both = _data_dir(Path(both_dir), cfg, patient)
        _write_log(both.root, m3, e3)
        _write_log(both.root, m4, e4)
        alone = _data_dir(Path(one_dir), cfg, patient)
        _write_log(alone.root, m3, e3)
        march_both = _month_json(both, cfg, m3)
        assert march_both == _month_json(alone, cfg, m3)
        assert march_both["patients"][0] == judgement_dict(run(patient, m3, e3, cfg))
        assert _month_json(both, cfg, m4)["patients"][0] == judgement_dict(
            run(patient, m4, e4, cfg)
        )
