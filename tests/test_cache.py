"""The caches of parsed files (cache.py, logcache.py): derived data that is never stale.

Every change to a source file must be seen by the very next command, a damaged or foreign cache
must be ignored, and answers with the cache must equal answers without it.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ccmcli.loader import load
from ccmcli.store import cache, record_files
from ccmcli.store.datadir import DataDir

MAKE_CLINIC = Path(__file__).resolve().parent / "vendor" / "make_clinic.py"
OCTOBER = ("--month", "2026-10")


@pytest.fixture
def trusting(monkeypatch):
    """Trust files changed a moment ago. Tests copy their data just before running, so under
    the real rule (RACY_NS) nothing would be cached and no cache would ever be tested. The edits
    in these tests come a whole command after the copy, so their timestamps differ anyway."""
    monkeypatch.setattr(cache, "RACY_NS", 0)


@pytest.fixture
def no_parsing(monkeypatch):
    """Make any parse of a patient file or ccm.yaml fail the test: the answer must come from
    the cache."""

    def forbidden(*args, **kwargs):
        raise AssertionError("parsed a file the cache should have answered for")

    def forbid() -> None:
        monkeypatch.setattr(record_files, "_patient_file", forbidden)  # every patient read
        monkeypatch.setattr(record_files, "_parse_settings", forbidden)

    return forbid


def check_json(cli, root: Path, *args: str) -> dict:
    result = cli("check", "-d", root, "--format", "json", *OCTOBER, *args)
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


def statuses(report: dict) -> dict[str, str]:
    return {p["patient_id"]: p["status"] for p in report["patients"]}


def cache_files(root: Path) -> list[Path]:
    return sorted(cache.cache_folder(root.resolve()).glob("*.cache"))


def test_a_second_check_reads_no_patient_file(cli, clinic, trusting, no_parsing):
    first = check_json(cli, clinic)
    no_parsing()
    assert check_json(cli, clinic) == first


def test_an_edited_patient_file_is_seen_by_the_next_command(cli, clinic, trusting):
    assert statuses(check_json(cli, clinic))["P0001"] == "billable"
    path = clinic / "patients" / "P0001.yaml"
    text = path.read_text()
    path.write_text(text.replace("consent:\n  date: 2025-11-10", "consent:\n  date: 2026-12-01"))
    after = check_json(cli, clinic)
    assert statuses(after)["P0001"] == "blocked"
    blockers = next(p["blockers"] for p in after["patients"] if p["patient_id"] == "P0001")
    assert "no_consent" in [b["rule"] for b in blockers]


def test_an_added_patient_file_is_seen_by_the_next_command(cli, clinic, trusting):
    before = check_json(cli, clinic)
    source = (clinic / "patients" / "P0001.yaml").read_text()
    (clinic / "patients" / "P0099.yaml").write_text(source.replace("id: P0001", "id: P0099"))
    after = check_json(cli, clinic)
    assert "P0099" not in statuses(before)
    assert statuses(after)["P0099"] == "no_time"


def test_a_removed_patient_file_is_seen_by_the_next_command(cli, clinic, trusting):
    assert "P0003" in statuses(check_json(cli, clinic))
    (clinic / "patients" / "P0003.yaml").unlink()
    after = check_json(cli, clinic)
    assert "P0003" not in statuses(after)
    # its rows in the log now name a patient without a file
    assert any('unknown patient "P0003"' in p["message"] for p in after["problems"])


def test_an_edited_settings_file_is_seen_by_the_next_command(cli, clinic, trusting):
    first = check_json(cli, clinic)
    settings = clinic / "ccm.yaml"
    text = settings.read_text()
    settings.write_text(
        text.replace("date_of_service: threshold_met", "date_of_service: month_end")
    )
    after = check_json(cli, clinic)
    billed = [p for p in after["patients"] if p["codes"]]
    assert billed and all(p["date_of_service"] == "2026-10-31" for p in billed)
    assert after != first


def test_an_edited_month_log_is_seen_by_the_next_command(cli, clinic, trusting):
    first = check_json(cli, clinic)
    log = clinic / "logs" / "2026-10.csv"
    with log.open("a") as f:
        f.write("E-extra-1,P0003,2026-10-30,5,clinical_staff,rn.x,care_plan,,,call,,,\n")
    minutes = {p["patient_id"]: p["minutes"]["clinical_staff"] for p in first["patients"]}
    after = check_json(cli, clinic)
    p3 = next(p for p in after["patients"] if p["patient_id"] == "P0003")
    assert p3["minutes"]["clinical_staff"] == minutes["P0003"] + 5


def test_a_new_patient_file_changes_what_the_cached_log_calls_unknown(cli, clinic, trusting):
    log = clinic / "logs" / "2026-10.csv"
    with log.open("a") as f:
        f.write("E-extra-2,P0077,2026-10-30,5,clinical_staff,rn.x,care_plan,,,call,,,\n")
    unknown = [p for p in check_json(cli, clinic)["problems"] if "P0077" in p["message"]]
    assert len(unknown) == 1
    source = (clinic / "patients" / "P0001.yaml").read_text()
    (clinic / "patients" / "P0077.yaml").write_text(source.replace("id: P0001", "id: P0077"))
    after = check_json(cli, clinic)
    assert not [p for p in after["problems"] if "P0077" in p["message"]]
    assert statuses(after)["P0077"] == "below_threshold"


def test_results_with_the_cache_equal_results_without(cli, clinic, trusting, monkeypatch):
    for month in ("2026-09", "2026-10", "2026-11"):
        args = ("check", "-d", clinic, "--format", "json", "--month", month)
        cli(*args)  # fills the cache
        cached = cli(*args)
        monkeypatch.setenv(cache.ENV_OFF, "1")
        fresh = cli(*args)
        monkeypatch.delenv(cache.ENV_OFF)
        assert (cached.exit_code, cached.stdout, cached.stderr) == (
            fresh.exit_code, fresh.stdout, fresh.stderr)  # fmt: skip


def test_cached_records_are_the_validated_records(clinic, trusting):
    data = DataDir(clinic.resolve())
    record_files.load_patients(data)  # fills the cache
    cached = record_files.load_patients(data)
    os.environ[cache.ENV_OFF] = "1"
    try:
        fresh = record_files.load_patients(data)
        fresh_settings = record_files.load_settings(data)
    finally:
        del os.environ[cache.ENV_OFF]
    assert list(cached.patients) == list(fresh.patients)
    for pid, patient in fresh.patients.items():
        twin = cached.patients[pid]
        assert twin == patient and type(twin) is type(patient)  # one record type (records.py)
        assert twin.model_dump() == patient.model_dump()
        assert record_files.patient_yaml(twin) == record_files.patient_yaml(patient)
    assert (cached.invalid, cached.problems) == (fresh.invalid, fresh.problems)
    assert record_files.load_settings(data) == fresh_settings


def test_invalid_patient_files_come_back_with_the_same_problems(cli, broken, trusting):
    args = ("validate", "-d", broken)
    first = cli(*args)
    second = cli(*args)
    assert first.exit_code == second.exit_code == 1
    assert first.stdout == second.stdout and "patients/" in first.stdout


def _flip_byte(path: Path, after_header: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"\n") + 1 + after_header] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_a_corrupt_cache_file_is_ignored_and_rebuilt(cli, clinic, trusting, no_parsing):
    expected = check_json(cli, clinic)
    for path in cache_files(clinic):
        _flip_byte(path, 20)  # in the index of the records, in the columns of the log
    assert check_json(cli, clinic) == expected
    no_parsing()  # the damaged caches were replaced by good ones
    assert check_json(cli, clinic) == expected


def test_a_damaged_record_is_parsed_again_not_used(clinic, trusting, no_parsing):
    data = DataDir(clinic.resolve())
    record_files.load_patients(data)
    path = cache.cache_file(data.root, "records")
    _flip_byte(path, path.stat().st_size - path.read_bytes().index(b"\n") - 30)  # the last blob
    no_parsing()
    with pytest.raises(AssertionError, match="parsed a file"):
        last = max(p.stem for p in (clinic / "patients").glob("*.yaml"))
        load(data, patient_ids=[last])  # the last file's own pickle fails its CRC


def test_a_truncated_or_foreign_cache_file_is_ignored(cli, clinic, trusting):
    expected = check_json(cli, clinic)
    files = cache_files(clinic)
    files[0].write_bytes(files[0].read_bytes()[:100])
    files[1].write_bytes(b"not a cache at all\n")
    assert check_json(cli, clinic) == expected


def test_a_cache_others_could_have_written_is_not_read(cli, clinic, trusting, monkeypatch):
    check_json(cli, clinic)
    for path in cache_files(clinic):
        path.chmod(0o664)
    parsed = []
    original = record_files._patient_file
    monkeypatch.setattr(record_files, "_patient_file", lambda *a: parsed.append(1) or original(*a))
    check_json(cli, clinic)
    assert len(parsed) == len(list((clinic / "patients").glob("*.yaml")))


def test_cache_files_are_private_inside_the_data_directory_and_ignored(cli, clinic, trusting):
    before = sorted(p.relative_to(clinic) for p in clinic.rglob("*"))
    check_json(cli, clinic)
    after = sorted(p.relative_to(clinic) for p in clinic.rglob("*"))
    assert {p.parts[0] for p in set(after) - set(before)} == {".ccm-cache"}
    files = cache_files(clinic)
    # records; October's log, judged lines, reused ids and the ids before it; September's ids
    assert len(files) == 6
    assert all(p.parent == clinic.resolve() / ".ccm-cache" / cache.user_name() for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((clinic / ".ccm-cache").stat().st_mode) == 0o700
    assert (clinic / ".ccm-cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    validated = cli("validate", "-d", clinic, "--no-code-check")
    assert validated.exit_code == 0 and validated.stdout == ""


def test_deleting_the_cache_changes_nothing(cli, clinic, trusting):
    expected = check_json(cli, clinic)
    for path in cache_files(clinic):
        path.unlink()
    assert check_json(cli, clinic) == expected
    assert cache_files(clinic)


def test_no_cache_is_written_when_turned_off(cli, clinic, monkeypatch):
    monkeypatch.setenv(cache.ENV_OFF, "1")
    check_json(cli, clinic)
    assert cache_files(clinic) == []


def test_an_unwritable_cache_folder_only_costs_speed(cli, clinic, trusting):
    (clinic / ".ccm-cache").write_text("a file where the cache folder would be")
    first = cli("check", "-d", clinic, "--format", "json", *OCTOBER)
    assert first.exit_code == 0 and first.stderr == ""
    assert json.loads(first.stdout)["month"] == "2026-10"


def test_one_record_is_read_from_the_cache_and_an_edit_is_seen(clinic, trusting, no_parsing):
    data = DataDir(clinic.resolve())
    record_files.load_patients(data)
    path = clinic / "patients" / "P0002.yaml"
    no_parsing()
    practice = load(data, patient_ids=["P0002"])
    assert practice.patient("P0002").name == "Harold Brandt"
    assert practice.settings.practice
    path.write_text(path.read_text().replace("name: Harold Brandt", "name: Harold Q. Brandt"))
    with pytest.raises(AssertionError, match="parsed a file"):
        load(data, patient_ids=["P0002"])  # changed: it must be parsed again, not cached


def test_recently_changed_files_are_not_trusted():
    now = 10_000_000_000_000
    old = (100, now - 5 * cache.RACY_NS, now - 5 * cache.RACY_NS, 7)
    assert cache.stamp(old, now) == old
    assert cache.stamp((100, now - 1, now - 5 * cache.RACY_NS, 7), now) is None  # mtime
    assert cache.stamp((100, now - 5 * cache.RACY_NS, now - 1, 7), now) is None  # ctime
    assert cache.stamp(None, now) is None


def test_a_same_size_edit_right_after_a_check_is_seen(cli, clinic):
    """Under the real rule: files written a moment ago are parsed again, so an edit that keeps
    the size within the same timestamp tick cannot hide behind the cache."""
    path = clinic / "patients" / "P0007.yaml"
    assert statuses(check_json(cli, clinic))["P0007"] == "billable"
    text = path.read_text()
    edited = text.replace("program: ccm", "program: pcm")
    assert len(edited) == len(text) and edited != text
    path.write_text(edited)
    assert statuses(check_json(cli, clinic))["P0007"] == "blocked"  # pcm: no principal condition


def test_a_generated_practice_gives_the_same_answers_with_and_without_cache(
    cli, tmp_path, trusting, monkeypatch
):
    root = tmp_path / "generated"
    subprocess.run(
        [sys.executable, str(MAKE_CLINIC), str(root), "--patients", "60",
         "--months", "2", "--entries-per-month", "600", "--last-month", "2026-10"],
        check=True, capture_output=True,
    )  # fmt: skip
    for month in ("2026-09", "2026-10"):
        args = ("check", "-d", root, "--format", "json", "--month", month)
        cli(*args)
        cached = cli(*args)
        monkeypatch.setenv(cache.ENV_OFF, "1")
        fresh = cli(*args)
        monkeypatch.delenv(cache.ENV_OFF)
        assert cached.stdout == fresh.stdout and cached.exit_code == fresh.exit_code
        assert len(json.loads(cached.stdout)["patients"]) == 60
