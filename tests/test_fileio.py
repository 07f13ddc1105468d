"""Files ccm writes: owner-only modes, atomic whole-file writes, locked appends that never tear
or repair a row."""

import fcntl
import os
import stat
from pathlib import Path

import pytest

from ccmcli.store import fileio


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The most permissive umask a user could have: modes must not depend on it."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_make_dirs_creates_every_missing_level_0700(tmp_path, open_umask):
    target = tmp_path / "a" / "b" / "c"
    fileio.make_dirs(target)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert mode(folder) == 0o700


def test_make_dirs_leaves_existing_folders_alone(tmp_path):
    (tmp_path / "shared").mkdir()
    os.chmod(tmp_path / "shared", 0o755)
    fileio.make_dirs(tmp_path / "shared" / "new")
    assert mode(tmp_path / "shared") == 0o755
    assert mode(tmp_path / "shared" / "new") == 0o700


def test_atomic_write_creates_0600_with_the_content(tmp_path, open_umask):
    path = tmp_path / "sub" / "f.yaml"
    fileio.atomic_write(path, "naïve: ✓\n")
    assert path.read_bytes() == "naïve: ✓\n".encode()
    assert mode(path) == 0o600
    assert mode(tmp_path / "sub") == 0o700


def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "f.yaml"
    fileio.atomic_write(path, "one\n")
    fileio.atomic_write(path, b"two\n")
    assert path.read_text() == "two\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.yaml"]


def test_atomic_write_replaces_a_file_of_looser_mode_with_0600(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    fileio.atomic_write(path, "new\n")
    assert mode(path) == 0o600


def test_exclusive_refuses_an_existing_file_and_leaves_it_untouched(tmp_path):
    path = tmp_path / "P1.yaml"
    path.write_text("keep me\n")
    with pytest.raises(FileExistsError):
        fileio.atomic_write(path, "overwrite\n", exclusive=True)
    assert path.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P1.yaml"]


def test_exclusive_creates_a_new_file(tmp_path):
    path = tmp_path / "P1.yaml"
    fileio.atomic_write(path, "new\n", exclusive=True)
    assert path.read_text() == "new\n"
    assert mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P1.yaml"]


def test_a_failed_rename_leaves_no_temporary_file(tmp_path):
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "x").write_text("")
    with pytest.raises(OSError):
        fileio.atomic_write(tmp_path / "target", "data\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]


def test_locked_creates_the_file_0600_with_its_header_once(tmp_path, open_umask):
    path = tmp_path / "logs" / "2026-10.csv"
    with fileio.locked(path, "h1,h2\n"):
        pass
    with fileio.locked(path, "h1,h2\n"):
        pass
    assert path.read_text() == "h1,h2\n"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_locked_holds_an_exclusive_lock(tmp_path):
    path = tmp_path / "f.csv"
    with fileio.locked(path, "h\n"):
        other = os.open(path, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
    other = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on exit
    finally:
        os.close(other)


def test_append_rows_creates_with_header_then_appends(tmp_path):
    path = tmp_path / "logs" / "2026-10.csv"
    fileio.append_rows(path, "a,1\n", header="h,n\n")
    fileio.append_rows(path, "b,2\nc,3\n", header="h,n\n")
    assert path.read_text() == "h,n\na,1\nb,2\nc,3\n"


def test_append_after_a_torn_line_starts_fresh_and_keeps_the_torn_text(tmp_path):
    """A crash left half a row: it stays exactly as it is (to be reported), the new row is whole."""
    path = tmp_path / "2026-10.csv"
    path.write_bytes(b"h,n\na,1\nb,2,half a r")
    fileio.append_rows(path, "c,3\n", header="h,n\n")
    assert path.read_bytes() == b"h,n\na,1\nb,2,half a r\nc,3\n"


def test_append_to_a_header_without_line_end(tmp_path):
    path = tmp_path / "2026-10.csv"
    path.write_bytes(b"h,n")
    fileio.append_rows(path, "a,1\n", header="h,n\n")
    assert path.read_bytes() == b"h,n\na,1\n"


def test_append_keeps_crlf_files_and_does_not_double_line_ends(tmp_path):
    path = tmp_path / "2026-10.csv"
    path.write_bytes(b"h,n\r\na,1\r\n")
    fileio.append_rows(path, "b,2\n", header="h,n\n")
    assert path.read_bytes() == b"h,n\r\na,1\r\nb,2\n"


def test_append_is_one_write(tmp_path, monkeypatch):
    """The whole row (with any repairing line end) goes out in one write call, so a reader or a
    crash never sees half of it after a partial write interleaved with another writer."""
    path = tmp_path / "f.csv"
    path.write_bytes(b"h\nx")
    writes = []
    real = os.write

    def spy(fd, data):
        writes.append(bytes(data))
        return real(fd, data)

    monkeypatch.setattr(fileio.os, "write", spy)
    fileio.append_rows(path, "a,1\n", header="h\n")
    assert writes == [b"\na,1\n"]
