"""ICD-10-CM lookups from the cached index: answers, cache safety, no second XML parse."""

import json
import os
import random
import stat
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from ccmcli.store import icd10
from ccmcli.store.icd10 import CodeInfo, CodeSetUnavailable, load_code_set

SRC = Path(__file__).resolve().parents[1] / "src"
VERSION = metadata.version("simple-icd-10-cm")


@pytest.fixture(scope="session")
def warm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding an index built once, for real, from the installed package."""
    cache_dir = tmp_path_factory.mktemp("icd10") / "nested" / "ccm"
    load_code_set(cache_dir)
    return cache_dir


@pytest.fixture(scope="session")
def code_set(warm_dir: Path) -> icd10.CodeSet:
    return load_code_set(warm_dir)


@pytest.fixture(scope="session")
def entries() -> list[tuple[str, bool, str]]:
    """The package's codes, read once so rebuild tests skip the slow XML parse."""
    return icd10._read_package()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch, entries: list) -> list[int]:
    """Count index builds (each one appends to the returned list)."""
    calls: list[int] = []

    def fake_read() -> list:
        calls.append(1)
        return entries

    monkeypatch.setattr(icd10, "_read_package", fake_read)
    return calls


def index_file(cache_dir: Path) -> Path:
    return cache_dir / f"icd10cm-{VERSION}.idx"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("E11.9", ["type 2 diabetes", "without complications"]),
        ("I10", ["hypertension"]),
        ("I50.22", ["chronic systolic", "heart failure"]),
        ("J44.9", ["chronic obstructive pulmonary"]),
        ("N18.30", ["chronic kidney disease", "stage 3"]),
        ("G20.A1", ["parkinson"]),
        ("S72.001A", ["fracture", "initial encounter"]),
    ],
)
def test_billable_codes_have_descriptions(code_set, code: str, words: list[str]) -> None:
    info = code_set.lookup(code)
    assert info.code == code
    assert info.kind == "billable"
    assert info.description is not None
    for word in words:
        assert word in info.description.lower()


@pytest.mark.parametrize("code", ["E11", "E11.6", "B99", "Z3A"])
def test_non_billable_parents_are_categories(code_set, code: str) -> None:
    info = code_set.lookup(code)
    assert info.kind == "category"
    assert info.description


@pytest.mark.parametrize(
    "code", ["E08-E13", "A00-A09", "1", "E119X", "ABC", "", "   ", "Z99.99", "E11.", "É11"]
)
def test_blocks_chapters_and_typos_are_unknown(code_set, code: str) -> None:
    info = code_set.lookup(code)
    assert info == CodeInfo(info.code, "unknown", None)


@pytest.mark.parametrize("typed", ["e119", "E119", " E11.9 ", "e11.9"])
def test_input_is_normalized(code_set, typed: str) -> None:
    info = code_set.lookup(typed)
    assert (info.code, info.kind) == ("E11.9", "billable")


def test_block_ids_are_echoed_without_an_inserted_dot(code_set) -> None:
    assert code_set.lookup(" e08-e13 ").code == "E08-E13"


def test_lookup_never_raises_on_odd_input(code_set) -> None:
    rng = random.Random(1234)  # fixed seed: reproducible, and no fuzzing database on disk
    alphabet = "AEIZaez0129.-X \t\n\x00é€\U0001f600"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        info = code_set.lookup(text)
        assert info.kind in ("billable", "category", "unknown")
        assert (info.description is None) == (info.kind == "unknown")


def test_cache_file_and_folders_are_private(warm_dir: Path) -> None:
    path = index_file(warm_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(warm_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(warm_dir.parent.stat().st_mode) == 0o700
    assert [p.name for p in warm_dir.iterdir()] == [path.name]  # no temp file left behind


def test_code_set_reports_the_package_version(code_set) -> None:
    assert code_set.version == VERSION


def test_installed_version_matches_metadata() -> None:
    assert icd10.installed_version() == VERSION


def test_installed_version_falls_back_to_metadata_when_ambiguous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    pkg = tmp_path / "simple_icd_10_cm"
    pkg.mkdir()
    for stale in ("simple_icd_10_cm-0.1.dist-info", "simple_icd_10_cm-0.2.dist-info"):
        (tmp_path / stale).mkdir()
    spec = importlib.util.spec_from_loader("simple_icd_10_cm", loader=None, is_package=True)
    spec.submodule_search_locations = [str(pkg)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    assert icd10.installed_version() == VERSION


def run_python(code: str, env_extra: dict[str, str], *flags: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CCM_CACHE_DIR")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, *flags, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_warm_load_does_not_import_the_package(warm_dir: Path) -> None:
    code = (
        "import json, sys\n"
        "from ccmcli.store.icd10 import load_code_set\n"
        "info = load_code_set().lookup('E11.9')\n"
        "print(json.dumps([info.kind, 'simple_icd_10_cm' in sys.modules,"
        " 'importlib.metadata' in sys.modules]))\n"
    )
    done = run_python(code, {"PYTHONPATH": str(SRC), "CCM_CACHE_DIR": str(warm_dir)})
    assert done.returncode == 0, done.stderr
    kind, imported_package, imported_metadata = json.loads(done.stdout)
    assert kind == "billable"
    assert not imported_package
    assert not imported_metadata


def test_missing_package_raises_code_set_unavailable(tmp_path: Path) -> None:
    code = (
        "from pathlib import Path\n"
        "from ccmcli.store.icd10 import CodeSetUnavailable, load_code_set\n"
        "try:\n"
        f"    load_code_set(Path({str(tmp_path)!r}))\n"
        "except CodeSetUnavailable as exc:\n"
        "    print('unavailable:', exc)\n"
    )
    done = run_python(code, {"PYTHONPATH": str(SRC)}, "-S")  # -S: no site-packages
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("unavailable:")
    assert "simple-icd-10-cm" in done.stdout
    assert issubclass(CodeSetUnavailable, Exception)


def test_warm_cache_is_not_rebuilt(warm_dir: Path, builds: list[int]) -> None:
    assert load_code_set(warm_dir).lookup("I10").kind == "billable"
    assert builds == []


def corrupt_variants(good: bytes) -> dict[str, bytes]:
    middle = len(good) // 2
    flipped = good[:middle] + bytes([good[middle] ^ 0x55]) + good[middle + 1 :]
    return {
        "empty": b"",
        "truncated": good[:middle],
        "header-only": good[: good.index(b"\n") + 1],
        "garbage": os.urandom(4096),
        "garbage-same-size": os.urandom(len(good)),
        "byte-flipped": flipped,
        "extra-bytes": good + b"junk",
        "not-utf8-header": b"\xff\xfe" + good,
    }


@pytest.mark.parametrize("variant", list(corrupt_variants(b"x\ny")))
def test_corrupt_cache_is_rebuilt(
    warm_dir: Path, tmp_path: Path, builds: list[int], variant: str
) -> None:
    good = index_file(warm_dir).read_bytes()
    path = index_file(tmp_path)
    path.write_bytes(corrupt_variants(good)[variant])
    code_set = load_code_set(tmp_path)
    assert builds == [1]
    assert code_set.lookup("E11.9").kind == "billable"
    assert code_set.lookup("E11").kind == "category"
    assert path.read_bytes() == good
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_cache_with_another_version_in_header_is_rebuilt(
    warm_dir: Path, tmp_path: Path, builds: list[int]
) -> None:
    good = index_file(warm_dir).read_bytes()
    stale = good.replace(f" {VERSION} ".encode(), b" 0.0.1 ", 1)
    assert stale != good
    index_file(tmp_path).write_bytes(stale)
    assert load_code_set(tmp_path).lookup("I10").kind == "billable"
    assert builds == [1]
    assert index_file(tmp_path).read_bytes() == good


def test_index_of_another_package_version_is_ignored(
    warm_dir: Path, tmp_path: Path, builds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / index_file(warm_dir).name).write_bytes(index_file(warm_dir).read_bytes())
    monkeypatch.setattr(icd10, "installed_version", lambda: "9.9.9")
    code_set = load_code_set(tmp_path)
    assert code_set.version == "9.9.9"
    assert builds == [1]
    assert (tmp_path / "icd10cm-9.9.9.idx").exists()
    assert index_file(tmp_path).exists()  # another install's index is left alone
    assert load_code_set(tmp_path).lookup("J44.9").kind == "billable"
    assert builds == [1]


def test_unwritable_cache_still_answers(tmp_path: Path, builds: list[int]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code_set = load_code_set(blocker / "ccm")
    assert code_set.lookup("I10").kind == "billable"
    assert builds == [1]


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CCM_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert icd10.default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("CCM_CACHE_DIR")
    assert icd10.default_cache_dir() == tmp_path / "xdg" / "ccm"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert icd10.default_cache_dir() == tmp_path / "home" / ".cache" / "ccm"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert icd10.default_cache_dir() == tmp_path / "home" / ".cache" / "ccm"


def test_load_uses_default_cache_dir(
    monkeypatch: pytest.MonkeyPatch, warm_dir: Path, builds: list[int]
) -> None:
    monkeypatch.setenv("CCM_CACHE_DIR", str(warm_dir))
    assert load_code_set().lookup("E11.6").kind == "category"
    assert builds == []
