"""Where the data lives: finding the data directory and naming the files inside it."""

import os
from dataclasses import dataclass
from pathlib import Path

from ccmcli.codes.identifiers import is_patient_id
from ccmcli.models.errors import CcmError
from ccmcli.models.months import Month

SETTINGS_FILE = "ccm.yaml"
ENV_VAR = "CCM_DATA_DIR"


@dataclass(frozen=True, slots=True)
class DataDir:
    """The folder holding ccm.yaml, patients/, logs/ and exports/ (contract section 1)."""

    root: Path

    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def patients_dir(self) -> Path:
        return self.root / "patients"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    def patient_path(self, patient_id: str) -> Path:
        """The patient's file; ids are checked first so no id can name a path outside the folder."""
        if not is_patient_id(patient_id):
            raise CcmError(
                f'"{patient_id}" is not a valid patient id (1-32 letters, digits, "-" or "_")'
            )
        return self.patients_dir / f"{patient_id}.yaml"

    def log_path(self, month: Month) -> Path:
        return self.logs_dir / f"{month}.csv"

    def export_path(self, month: Month) -> Path:
        return self.exports_dir / f"{month}.csv"

    def relative(self, path: Path) -> str:
        """How problems name a file: relative to the data directory, with forward slashes."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def refuse_output_inside(data: DataDir, output: Path) -> None:
    """`-o FILE` never writes inside the data directory (contract section 2): ccm's own files are
    written only by ccm's own commands, and an export over a log or ccm.yaml would destroy it.

    Checked before anything else about FILE, on the path with every symlink and `..` resolved
    (a dangling symlink is followed to where it points), and again by device and inode for each
    folder above it, so a second mount or another spelling of the same folder is seen too.
    """
    target = Path(os.path.realpath(Path(output).expanduser()))
    root = Path(os.path.realpath(data.root))
    if target == root or target.is_relative_to(root) or _below_by_inode(target, root):
        raise CcmError(
            f"-o {output}: refusing to write inside the data directory {data.root}; "
            "choose a file outside it"
        )


def _below_by_inode(target: Path, root: Path) -> bool:
    try:
        st = root.stat()
    except OSError:
        return False
    want = (st.st_dev, st.st_ino)
    for folder in (target, *target.parents):
        try:
            here = folder.stat()
        except OSError:
            continue
        if (here.st_dev, here.st_ino) == want:
            return True
    return False


def find_data_dir(option: str | Path | None, cwd: Path | None = None) -> DataDir:
    """The option, else $CCM_DATA_DIR, else the nearest ancestor holding ccm.yaml (contract 1)."""
    chosen = option or os.environ.get(ENV_VAR) or None
    if chosen:
        root = Path(chosen).expanduser()
        if not (root / SETTINGS_FILE).is_file():
            raise CcmError(
                f"{root} is not a ccm data directory (no {SETTINGS_FILE}); run `ccm init`"
            )
        return DataDir(root.resolve())
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / SETTINGS_FILE).is_file():
            return DataDir(folder)
    raise CcmError(
        f"no ccm data directory here or above (no {SETTINGS_FILE}); create one with `ccm init`"
    )
