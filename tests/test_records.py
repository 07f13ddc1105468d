"""One record type: the records of models/records.py are what every command gets, validated a
moment ago or read back from the cache, and their schema (models/record_schema.py) is their
exact twin."""

import os
import pickle
import subprocess
import sys

import pytest

from ccmcli.models import record_schema, records
from ccmcli.models.months import Month
from ccmcli.store import cache, record_files
from ccmcli.store.datadir import DataDir
from helpers import CCM

MONTHS = [Month(2026, 9), Month(2026, 10), Month(2026, 11)]


def fresh_patients(clinic, monkeypatch) -> dict:
    monkeypatch.setenv(cache.ENV_OFF, "1")
    found = record_files.load_patients(DataDir(clinic.resolve()))
    monkeypatch.delenv(cache.ENV_OFF)
    return found.patients


def test_every_schema_has_its_record_with_the_same_fields_and_defaults():
    assert set(record_schema.SCHEMAS) == set(records.RECORDS)
    for name, schema in record_schema.SCHEMAS.items():
        record = records.RECORDS[name]
        assert tuple(schema.model_fields) == record._fields, name
        for field, info in schema.model_fields.items():
            if info.is_required():
                assert field not in record._defaults, (name, field)
            else:
                assert record._defaults[field] == info.get_default(call_default_factory=True)


def test_a_validated_record_dumps_as_its_schema_model_dumps(clinic, monkeypatch):
    patients = fresh_patients(clinic, monkeypatch)
    assert patients
    options = [{}, {"mode": "json"}, {"exclude_none": True},
               {"mode": "python", "exclude_none": True, "exclude_defaults": True}]  # fmt: skip
    for patient in patients.values():
        assert type(patient) is records.Patient
        model = record_schema.SCHEMAS["Patient"].model_validate(patient.model_dump(mode="json"))
        for kwargs in options:
            assert patient.model_dump(**kwargs) == model.model_dump(**kwargs), kwargs
        assert record_schema.to_record(model) == patient


def test_records_survive_pickle_and_copy(clinic, monkeypatch):
    patients = fresh_patients(clinic, monkeypatch)
    for patient in patients.values():
        again = pickle.loads(pickle.dumps(patient, 5))
        assert type(again) is type(patient) and again == patient
        for month in MONTHS:
            assert again.program_in(month) == patient.program_in(month)
            assert again.complex_month(month) == patient.complex_month(month)
    patient = next(iter(patients.values()))
    changed = patient.model_copy(update={"program": "pcm", "program_changes": []})
    assert changed.program == "pcm" and changed.name == patient.name
    assert patient.program == "ccm" and changed != patient
    with pytest.raises(AttributeError):
        changed.program = "apcm"
    with pytest.raises(TypeError):
        patient.model_copy(update={"no_such_field": 1})


def test_one_record_is_the_same_from_the_cache_or_parsed(clinic, monkeypatch):
    monkeypatch.setattr(cache, "RACY_NS", 0)
    data = DataDir(clinic.resolve())
    path = clinic / "patients" / "P0002.yaml"
    parsed, _ = record_files.load_patient_cached(data, path)  # cache empty: parsed
    record_files.load_patients(data)  # fills the cache
    monkeypatch.setattr(record_files, "_patient_file", None)  # any parse would fail
    cached, _ = record_files.load_patient_cached(data, path)
    assert type(cached) is type(parsed) is records.Patient
    assert type(cached.conditions[0]) is records.Condition
    assert cached == parsed


def test_every_record_is_the_same_type_with_caches_on_or_off(clinic, monkeypatch):
    monkeypatch.setattr(cache, "RACY_NS", 0)
    data = DataDir(clinic.resolve())
    record_files.load_patients(data)  # fills the cache
    cached = record_files.load_patients(data)
    fresh = fresh_patients(clinic, monkeypatch)
    assert cached.patients == fresh
    for pid, patient in fresh.items():
        assert type(cached.patients[pid]) is type(patient)
        assert [type(c) for c in cached.patients[pid].conditions] == [
            type(c) for c in patient.conditions
        ]
    settings, _ = record_files.load_settings(data)
    assert type(settings) is records.Settings


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
        "atexit.register(lambda: print(sorted({'pydantic', 'yaml',"
        " 'ccmcli.models.record_schema'} & set(sys.modules)))); cli.main()"
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
