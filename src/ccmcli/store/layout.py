"""What the data directory's folders hold: the month files present, and what does not belong.

A folder that is a plain file, or a file ccm would never read, is reported the same way by every
command, so `validate` and `check` can never disagree about the layout.
"""

import os
import re
from pathlib import Path

from ccmcli.models.findings import Problem
from ccmcli.models.months import Month
from ccmcli.store.datadir import DataDir

MONTH_FILE = re.compile(r"\d{4}-(0[1-9]|1[0-2])\.csv")


def _months_in(folder: Path) -> list[Month]:
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return []
    return sorted(Month.parse(n[:-4]) for n in names if MONTH_FILE.fullmatch(n))


def log_months(data: DataDir) -> list[Month]:
    """Months that have a log file, oldest first."""
    return _months_in(data.logs_dir)


def ledger_months(data: DataDir) -> list[Month]:
    """Months that have an export ledger, oldest first."""
    return _months_in(data.exports_dir)


def folder_problems(data: DataDir, stray_files: bool = False) -> list[Problem]:
    """A data folder that exists but is not a folder is an error (nothing in it can be read);
    with `stray_files`, files ccm would never read there are warnings: probably misnamed."""
    out = []
    for folder in (data.patients_dir, data.logs_dir, data.exports_dir):
        if folder.exists() and not folder.is_dir():
            out.append(Problem(data.relative(folder), None, "error", "is not a folder"))
    if stray_files:
        out += _stray_files(data) + _leftover_temp_files(data)
    return out


_LEFTOVER = re.compile(r"\..+\.\d+\.tmp")


def _leftover_temp_files(data: DataDir) -> list[Problem]:
    """Temporary files of a write that never finished (`.P0001.yaml.4711.tmp`): ccm removes them
    when a write fails, so one here means a crash or a killed process. They may hold patient data
    and nothing reads them, so they are named for someone to look at and delete."""
    out = []
    for folder in (data.root, data.patients_dir, data.logs_dir, data.exports_dir):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if _LEFTOVER.fullmatch(name):
                msg = "temporary file left by an interrupted write: check it and delete it"
                out.append(Problem(data.relative(folder / name), None, "warning", msg))
    return out


def _stray_files(data: DataDir) -> list[Problem]:
    out = []
    for folder, hint in ((data.logs_dir, "YYYY-MM.csv"), (data.patients_dir, "<ID>.yaml")):
        if not folder.is_dir():
            continue
        for p in sorted(folder.iterdir()):
            if p.name.startswith(".") or p.is_dir():
                continue
            named_ok = (
                MONTH_FILE.fullmatch(p.name) if folder == data.logs_dir else p.suffix == ".yaml"
            )
            if not named_ok:
                msg = f"not read: ccm reads only {hint} files here"
                out.append(Problem(data.relative(p), None, "warning", msg))
    return out
