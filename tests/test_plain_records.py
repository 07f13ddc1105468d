"""The plain copies of records (models/plain.py) that the record cache gives a command about
one patient: they must answer every question exactly as the validated models do."""

import os
import pickle
import subprocess
import sys

import pytest

from ccmcli.actions.patients import month_status
from ccmcli.loader import load
from ccmcli.models import plain
from ccmcli.models.months import Month
from ccmcli.reports.practice_month import judgement_dict
from ccmcli.store import cache, record_files
from ccmcli.store.datadir import DataDir
from helpers import CCM

MONTHS = [Month(2026, 9), Month(2026, 10), Month(2026, 11)]


@pytest.fixture
def models(clinic, monkeypatch):
    """The clinic's patients and settings as pydantic validated them (no cache)."""
    monkeypatch.setenv(cache.ENV_OFF, "1")
    data = DataDir(clinic.resolve())
    found = record_files.load_patients(data)
    settings, _ = record_files.load_settings(data)
    monkeypatch.delenv(cache.ENV_OFF)
    return data, found.patients, settings


def test_a_plain_copy_equals_its_model_field_for_field(models):
    _, patients, _ = models
    assert patients
    for patient in patients.values():
        copy = plain.to_plain(patient)
        assert type(copy) is plain.Patient and copy == patient and patient == copy
        assert copy.model_dump(mode="json") == patient.model_dump(mode="json")
        assert copy.model_fields_set == patient.model_fields_set
        assert record_files.patient_yaml(copy) == record_files.patient_yaml(patient)
        assert pickle.loads(pickle.dumps(copy, 5)) == copy
        assert copy.chronic_codes() == patient.chronic_codes()
        assert copy.chronic_categories() == patient.chronic_categories()
        for month in MONTHS:
            assert copy.program_in(month) == patient.program_in(month)
            assert copy.program_began(month) == patient.program_began(month)
            assert copy.complex_month(month) == patient.complex_month(month)


def test_model_copy_replaces_fields_as_pydantic_does(models):
    _, patients, _ = models
    patient = next(iter(patients.values()))
    copy = plain.to_plain(patient)
    update = {"program": "pcm", "program_changes": []}
    changed, expected = copy.model_copy(update=update), patient.model_copy(update=update)
    assert changed.model_dump() == expected.model_dump()
    assert changed.model_fields_set == expected.model_fields_set
    assert copy.program == patient.program  # the copy it came from is unchanged
    with pytest.raises(TypeError):
        copy.program = "apcm"


def test_plain_and_validated_records_are_judged_alike(models):
    data, patients, settings = models
    practice = load(data, MONTHS)
    as_model = settings.as_model()
    for patient in patients.values():
        copy = plain.to_plain(patient)
        for month in MONTHS:
            practice.settings = as_model
            expected = judgement_dict(month_status(practice, patient, month))
            practice.settings = settings
            assert judgement_dict(month_status(practice, copy, month)) == expected


def test_one_record_is_the_same_from_the_cache_or_parsed(clinic, monkeypatch):
    monkeypatch.setattr(cache, "RACY_NS", 0)
    data = DataDir(clinic.resolve())
    path = clinic / "patients" / "P0002.yaml"
    parsed, _ = record_files.load_patient_cached(data, path)  # cache empty: parsed
    record_files.load_patients(data)  # fills the cache
    monkeypatch.setattr(record_files, "_patient_file", None)  # any parse would fail
    cached, _ = record_files.load_patient_cached(data, path)
    assert type(cached) is type(parsed) is plain.Patient
    assert cached == parsed and cached.model_fields_set == parsed.model_fields_set


def test_log_imports_no_pydantic_when_the_records_are_cached(clinic):
    fill = (
        "import sys; from ccmcli.store import cache, record_files;"
        "from ccmcli.store.datadir import DataDir; cache.RACY_NS = 0;"
        "record_files.load_patients(DataDir(__import__('pathlib').Path(sys.argv[1])))"
    )
    subprocess.run([sys.executable, "-c", fill, str(clinic.resolve())], check=True)
    log = (
        "import atexit, sys; from ccmcli import cli;"
        "sys.argv = ['ccm', '-d', sys.argv[1], 'log', 'P0002', '5', '--date', '2026-11-03'];"
        "atexit.register(lambda: print(sorted({'pydantic', 'yaml', 'ccmcli.models.records'}"
        " & set(sys.modules)))); cli.main()"
    )
    env = {**os.environ, "CCM_NOW": "2026-11-20T12:00:00-06:00"}
    done = subprocess.run(
        [sys.executable, "-c", log, str(clinic.resolve())], capture_output=True, text=True, env=env
    )
    lines = done.stdout.splitlines()
    assert lines[-1] == "[]", done.stderr
    assert "P0002:" in done.stdout  # the status line: the entry was logged and judged
    listed = subprocess.run(
        [CCM, "-d", clinic, "entries", "--month", "2026-11", "--patient", "P0002", "-f", "csv"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert lines[0] in listed.stdout
