"""A cache that cannot be created, read or written is skipped without a word (contract 1).

Another user's cache folder, a read-only data directory, a full disk, a damaged or foreign cache
file: each only costs speed, never an exit code or an answer. Other users are real user ids
(`setpriv`, as root); the tests that need one skip elsewhere.
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ccmcli.reports.practice_report import build_report
from ccmcli.store import cache
from ccmcli.store.datadir import DataDir
from helpers import example_copy

ROOT = Path(__file__).resolve().parent.parent
OTHER = 2002  # a user id with no login, no home and no group of ours
NOW = "2026-11-20T12:00:00-06:00"
READS = (
    ("check", "--month", "2026-10", "--format", "json"),
    ("check", "--month", "2026-11", "--format", "json"),
    ("validate", "--no-code-check"),
    ("compare", "--months", "3", "--month", "2026-10", "--format", "json"),
    ("explain", "P0006", "--month", "2026-10"),
    ("worklist", "--month", "2026-11"),
)


@pytest.fixture
def shared_clinic(base, icd_cache) -> Path:
    root = example_copy("clinic", base / "clinic")
    shutil.copytree(icd_cache, base / "icd")  # the code index, readable by every user
    for folder, dirs, files in os.walk(base):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return root


def run(base: Path, args: tuple, uid: int | None = None, groups: str = "", env=None, **kw):
    """`ccm ARGS` in a process of its own, as `uid` (with `groups`) when given."""
    prefix: list[str] = []
    if uid is not None:
        prefix = ["setpriv", "--reuid", str(uid), "--regid", str(uid)]
        prefix += ["--groups", groups] if groups else ["--clear-groups"]
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(base),
        "CCM_CACHE_DIR": str(base / "icd"), "CCM_NOW": NOW, "NO_COLOR": "1", "COLUMNS": "200",
        "PYTHONPATH": str(ROOT / "src"), "CCM_STAFF": f"user{uid}", **(env or {}),
    }  # fmt: skip
    return subprocess.run([*prefix, sys.executable, "-m", "ccmcli", *map(str, args)],
                          env=environment, capture_output=True, text=True, timeout=120, **kw)  # fmt: skip


def other_users_run(base: Path) -> bool:
    """Whether this machine can run ccm as another user id (root, setpriv, a readable tree)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return False
    probe = run(base, ("--version",), uid=OTHER)
    return probe.returncode == 0


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as other users")


def answers(base: Path, root: Path, uid: int | None = None, env=None) -> list[tuple]:
    out = []
    for args in READS:
        r = run(base, ("-d", root, *args), uid=uid, env=env)
        assert "Traceback" not in r.stderr, r.stderr
        out.append((args, r.returncode, r.stdout, r.stderr.replace(f"user{uid}", "")))
    return out


@needs_root
def test_a_second_user_gets_the_answers_of_the_first(base, shared_clinic):
    if not other_users_run(base):
        pytest.skip("cannot run ccm as another user here")
    fresh = answers(base, shared_clinic, env={cache.ENV_OFF: "1"})
    assert answers(base, shared_clinic) == fresh  # root's caches: .ccm-cache/ is root's, 0700
    assert (shared_clinic / cache.FOLDER).stat().st_mode & 0o777 == 0o700
    assert answers(base, shared_clinic, uid=OTHER) == fresh  # the exit 1
    assert answers(base, shared_clinic, uid=OTHER) == fresh
    cleared = run(base, ("cache", "clear", "-d", shared_clinic), uid=OTHER)
    assert cleared.returncode == 0 and "Traceback" not in cleared.stderr
    assert list((shared_clinic / cache.FOLDER / "root").iterdir())  # not the other's to clear


@needs_root
def test_a_read_only_data_directory_gives_the_same_answers(base, shared_clinic):
    if not other_users_run(base):
        pytest.skip("cannot run ccm as another user here")
    fresh = answers(base, shared_clinic, env={cache.ENV_OFF: "1"})
    assert answers(base, shared_clinic, uid=OTHER) == fresh  # no folder may be created
    assert not (shared_clinic / cache.FOLDER).exists()


def test_a_full_disk_only_costs_speed(base, shared_clinic):
    """Every file write fails (a file size limit of one byte: EFBIG, as ENOSPC would)."""
    fresh = answers(base, shared_clinic, env={cache.ENV_OFF: "1"})

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, 1))

    for args in READS:
        r = run(base, ("-d", shared_clinic, *args), preexec_fn=full_disk)
        assert (args, r.returncode, r.stdout, r.stderr.replace("userNone", "")) in fresh
    assert not [p for p in shared_clinic.rglob("*.cache") if p.stat().st_size]


def _damage_all(root: Path, how: str) -> int:
    files = sorted(root.rglob("*.cache"))
    for path in files:
        if how == "truncated":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        elif how == "flipped":
            raw = bytearray(path.read_bytes())
            raw[-1] ^= 0xFF
            path.write_bytes(bytes(raw))
        elif how == "folder":
            path.unlink()
            path.mkdir()
        elif how == "named pipe":
            path.unlink()
            os.mkfifo(path, 0o600)
        elif how == "unwritable":
            os.chmod(path, 0o400)
            os.chmod(path.parent, 0o500)
        elif how == "another user's":
            os.chown(path, OTHER, OTHER)
        elif how == "readable by others":
            os.chmod(path, 0o644)
    return len(files)


@pytest.mark.parametrize("how", ["truncated", "flipped", "folder", "named pipe", "unwritable",
                                 "another user's", "readable by others"])  # fmt: skip
def test_a_damaged_or_foreign_cache_is_a_miss(base, shared_clinic, how):
    if how == "another user's" and os.geteuid() != 0:
        pytest.skip("needs root to give a file away")
    fresh = answers(base, shared_clinic, env={cache.ENV_OFF: "1"})
    assert answers(base, shared_clinic) == fresh
    assert _damage_all(shared_clinic, how)
    assert answers(base, shared_clinic) == fresh  # a named pipe would hang a plain open()
    assert answers(base, shared_clinic) == fresh


def test_a_folder_replaced_by_a_file_is_seen_by_kept_month_totals(clinic, monkeypatch):
    """The issue's stale page: `ccm report --months 3`, then exports/ replaced by a file."""
    monkeypatch.setattr(cache, "RACY_NS", 0)
    monkeypatch.setenv("CCM_NOW", NOW)
    data = DataDir(clinic.resolve())
    before = build_report(data, "2026-11", 3, workers=0).history
    assert not any(t.errors for t in before)
    shutil.rmtree(clinic / "exports", ignore_errors=True)
    (clinic / "exports").write_text("not a folder\n")
    kept = build_report(data, "2026-11", 3, workers=0).history
    monkeypatch.setenv(cache.ENV_OFF, "1")
    fresh = build_report(data, "2026-11", 3, workers=0).history
    assert all(t.errors for t in fresh)
    assert kept == fresh


@pytest.mark.parametrize("folder", ["exports", "logs", "patients"])
def test_every_command_answers_alike_after_a_folder_becomes_a_file(base, shared_clinic, folder):
    assert answers(base, shared_clinic) == answers(base, shared_clinic, env={cache.ENV_OFF: "1"})
    shutil.rmtree(shared_clinic / folder, ignore_errors=True)
    (shared_clinic / folder).write_text("not a folder\n")
    fresh = answers(base, shared_clinic, env={cache.ENV_OFF: "1"})
    assert answers(base, shared_clinic) == fresh
    assert json.loads(fresh[0][2] or "{}").get("problems") or fresh[0][1]


def test_the_code_key_covers_every_file_of_the_package(tmp_path):
    """Walked, not listed: a file added anywhere in the package, or edited, is a new key."""
    import hashlib

    def walked() -> str:
        h = hashlib.sha256()
        cache._walk(tmp_path, "", h)
        return h.hexdigest()

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "table.py").write_text("A = 1\n")
    first = walked()
    (tmp_path / "reports" / "templates").mkdir(parents=True)
    (tmp_path / "reports" / "templates" / "page.html.j2").write_text("<p>")
    second = walked()
    (tmp_path / "rules" / "table.py").write_text("A = 22\n")
    third = walked()
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert len({first, second, third}) == 3 and walked() == third
    assert "_SOURCES" not in vars(cache)  # no hand-written list to forget a file in
