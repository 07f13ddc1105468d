"""Finding the data directory (contract section 1) and naming the files in it."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccmcli.models.errors import CcmError
from ccmcli.models.months import Month
from ccmcli.store.datadir import DataDir, find_data_dir


def make(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "ccm.yaml").write_text("practice: P\n")
    return root


def test_the_option_comes_first(tmp_path, monkeypatch):
    a, b, c = make(tmp_path / "a"), make(tmp_path / "b"), make(tmp_path / "c")
    monkeypatch.setenv("CCM_DATA_DIR", str(b))
    assert find_data_dir(a, cwd=c).root == a.resolve()


def test_then_the_environment(tmp_path, monkeypatch):
    b, c = make(tmp_path / "b"), make(tmp_path / "c")
    monkeypatch.setenv("CCM_DATA_DIR", str(b))
    assert find_data_dir(None, cwd=c).root == b.resolve()


def test_then_the_nearest_ancestor(tmp_path):
    outer = make(tmp_path / "outer")
    inner = make(outer / "clinic")
    deep = inner / "logs" / "scratch"
    deep.mkdir(parents=True)
    assert find_data_dir(None, cwd=deep).root == inner.resolve()
    (outer / "logs").mkdir()
    assert find_data_dir(None, cwd=outer / "logs").root == outer.resolve()
    assert find_data_dir(None, cwd=inner).root == inner.resolve()


def test_the_working_directory_is_the_default_start(tmp_path, monkeypatch):
    root = make(tmp_path / "clinic")
    (root / "patients").mkdir()
    monkeypatch.chdir(root / "patients")
    assert find_data_dir(None).root == root.resolve()


def test_an_empty_environment_variable_is_ignored(tmp_path, monkeypatch):
    c = make(tmp_path / "c")
    monkeypatch.setenv("CCM_DATA_DIR", "")
    assert find_data_dir(None, cwd=c).root == c.resolve()


def test_a_folder_named_ccm_yaml_is_not_a_data_directory(tmp_path):
    (tmp_path / "x" / "ccm.yaml").mkdir(parents=True)
    with pytest.raises(CcmError):
        find_data_dir(None, cwd=tmp_path / "x")


def test_none_found_is_one_line_naming_ccm_init(tmp_path):
    with pytest.raises(CcmError) as info:
        find_data_dir(None, cwd=tmp_path)
    assert info.value.exit_code == 1
    assert "ccm init" in info.value.message
    assert "\n" not in info.value.message


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_named_folder_without_ccm_yaml_is_refused_even_inside_a_data_directory(
    tmp_path, monkeypatch, how
):
    """An explicit choice is never silently replaced by the folder above."""
    make(tmp_path)
    (tmp_path / "typo").mkdir()
    option = tmp_path / "typo" if how == "option" else None
    if how == "env":
        monkeypatch.setenv("CCM_DATA_DIR", str(tmp_path / "typo"))
    with pytest.raises(CcmError) as info:
        find_data_dir(option, cwd=tmp_path / "typo")
    assert info.value.exit_code == 1
    assert "ccm init" in info.value.message


def test_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    make(tmp_path / "ccm-data")
    assert find_data_dir("~/ccm-data").root == (tmp_path / "ccm-data").resolve()


def test_paths_inside_the_data_directory(tmp_path):
    d = DataDir(tmp_path)
    assert d.settings_path == tmp_path / "ccm.yaml"
    assert d.patient_path("P0001") == tmp_path / "patients" / "P0001.yaml"
    assert d.log_path(Month(2026, 3)) == tmp_path / "logs" / "2026-03.csv"
    assert d.export_path(Month(2026, 11)) == tmp_path / "exports" / "2026-11.csv"
    assert d.relative(tmp_path / "logs" / "2026-03.csv") == "logs/2026-03.csv"
    assert d.relative(Path("/elsewhere/x.csv")) == "/elsewhere/x.csv"


@pytest.mark.parametrize("bad", ["", "..", ".", "../P1", "P1/../../x", "/etc/passwd", "P 1",
                                 "a" * 33, "P1.yaml", "P1\x00", "P1\n", "~root"])  # fmt: skip
def test_unsafe_patient_ids_are_refused(tmp_path, bad):
    with pytest.raises(CcmError) as info:
        DataDir(tmp_path).patient_path(bad)
    assert "not a valid patient id" in info.value.message


@given(st.text(max_size=40))
def test_no_patient_id_can_name_a_path_outside_patients(text):
    d = DataDir(Path("/data"))
    try:
        path = d.patient_path(text)
    except CcmError:
        return
    assert path.parent == d.patients_dir
    assert path.name == f"{text}.yaml"
    assert ".." not in path.parts and "/" not in text and "\x00" not in text
