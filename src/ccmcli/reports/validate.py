"""`ccm validate`: every file checked, every problem found, nothing stops at the first."""

import os
import re
from typing import TYPE_CHECKING

from ccmcli.models.findings import Problem, sort_key
from ccmcli.models.months import Month
from ccmcli.store import logcache, record_files
from ccmcli.store.datadir import DataDir

if TYPE_CHECKING:
    from ccmcli.codes.condition_codes import CodeChecker

_LOG_NAME = re.compile(r"\d{4}-(0[1-9]|1[0-2])\.csv")


def log_months(data: DataDir) -> list[Month]:
    """Months that have a log file, oldest first."""
    if not data.logs_dir.is_dir():
        return []
    return sorted(
        Month.parse(p.stem) for p in data.logs_dir.iterdir() if _LOG_NAME.fullmatch(p.name)
    )


def stray_files(data: DataDir) -> list[Problem]:
    """Files in logs/ or patients/ that ccm would never read: probably misnamed."""
    out = []
    for folder, ok in ((data.logs_dir, _LOG_NAME.fullmatch), (data.patients_dir, None)):
        if not folder.is_dir():
            continue
        for p in sorted(folder.iterdir()):
            if p.name.startswith(".") or p.is_dir():
                continue
            named_ok = ok(p.name) if ok else p.suffix == ".yaml"
            if not named_ok:
                hint = "YYYY-MM.csv" if ok else "<ID>.yaml"
                out.append(
                    Problem(
                        data.relative(p),
                        None,
                        "warning",
                        f"not read: ccm reads only {hint} files here",
                    )
                )
    return out


_LEFTOVER = re.compile(r"\..+\.\d+\.tmp")


def leftover_temp_files(data: DataDir) -> list[Problem]:
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


def validate(data: DataDir, codes: "CodeChecker | None" = None) -> list[Problem]:
    """Problems in ccm.yaml, every patient file and every month log, sorted by file and line.

    With `codes`, the condition codes of every valid patient file are checked last against the
    ICD-10-CM code set (codecheck.py); the caller loads it, so it can skip or report its absence.
    """
    _, problems = record_files.load_settings(data)
    patients = record_files.load_patients(data)
    problems += patients.problems + stray_files(data) + leftover_temp_files(data)
    first_seen: dict[str, str] = {}
    known = patients.known_ids()
    for month in log_months(data):
        log = logcache.read_month(data, month, known)
        problems += log.problems
        for e in log.entries:
            where = f"{e.file}:{e.line}"
            if e.id in first_seen:
                msg = f"entry id {e.id} is already used at {first_seen[e.id]}"
                problems.append(Problem(e.file, e.line, "error", msg))
            else:
                first_seen[e.id] = where
    if codes is not None:
        from ccmcli.codes.condition_codes import data_dir_problems

        problems += data_dir_problems(data, patients.patients.values(), codes)
    return sorted(problems, key=sort_key)
