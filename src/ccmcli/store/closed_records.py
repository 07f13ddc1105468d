"""The month-close records: `closed/<YYYY-MM>.json`, then `closed/<YYYY-MM>.<n>.json` (contract 8).

Records are written once, exclusively (never over another), 0600, and never edited. Each holds
`sha256`, the SHA-256 of its own canonical content (sorted keys, no spaces, UTF-8) without that
field, and `previous`, the `sha256` of the record before it for the same month (null for the
first). So:
- an edit to a record that does not also recompute its hash is detected (`sha256` differs);
- an earlier record edited *with* a new hash, replaced or removed breaks the `previous` link
  of the next one, and a missing number in the sequence is reported;
- it does NOT prove who wrote a record (`by` is what the writer said) and cannot stop someone
  with write access from rewriting every record of a month with fresh hashes, or removing the
  newest ones: there is no secret key. The `sha256` printed by `ccm close`, kept outside the data
  directory (in the billing mail, a ticket), is what shows a later rewrite.
"""

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ccmcli.models.errors import CcmError
from ccmcli.models.findings import Problem
from ccmcli.models.months import Month
from ccmcli.store import fileio
from ccmcli.store.datadir import DataDir

FOLDER = "closed"
FORMAT = 1
KINDS = ("close", "reopen")
_NAME = re.compile(r"(\d{4}-(?:0[1-9]|1[0-2]))(?:\.([1-9]\d*))?\.json")
_REQUIRED = {"format", "kind", "month", "sequence", "by", "at", "previous", "sha256"}


def folder(data: DataDir) -> Path:
    return data.root / FOLDER


def path_of(data: DataDir, month: Month, n: int) -> Path:
    """The n-th record of a month: the first is `<month>.json`, later ones `<month>.<n>.json`."""
    return folder(data) / (f"{month}.json" if n == 1 else f"{month}.{n}.json")


def canonical(record: dict) -> bytes:
    """The bytes the hash covers: every field but `sha256`, keys sorted, no spaces."""
    import json

    body = {k: v for k, v in record.items() if k != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(record: dict) -> dict:
    return {**record, "sha256": hashlib.sha256(canonical(record)).hexdigest()}


def file_digest(root: Path, path: Path) -> str | None:
    """Hex SHA-256 of a file's bytes; None when it does not exist. Read as every data file is
    (regular_files): a named pipe or a link leading outside `root` is never opened, and reads
    as `unreadable: why`, which no recorded digest equals."""
    from ccmcli.store import regular_files

    try:
        return hashlib.sha256(regular_files.read_bytes(root, path)).hexdigest()
    except FileNotFoundError:
        return None
    except regular_files.NotReadable as exc:
        return f"unreadable: {exc.strerror}"


@dataclass
class History:
    """A month's records in order, with every sign of tampering found in them."""

    month: Month
    records: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def last(self) -> dict | None:
        return self.records[-1] if self.records else None

    @property
    def closed(self) -> bool:
        """Closed when the last record is a close; a damaged last record counts as closed."""
        if not self.files:
            return False
        return (
            self.last is None
            or len(self.records) < len(self.files)
            or (self.last.get("kind") != "reopen")
        )

    def last_close(self) -> dict | None:
        return next((r for r in reversed(self.records) if r.get("kind") == "close"), None)


def record_numbers(data: DataDir) -> dict[Month, list[int]]:
    """Every month with records, and the numbers of its record files."""
    found: dict[Month, list[int]] = {}
    try:
        names = os.listdir(folder(data))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    for name in names:
        m = _NAME.fullmatch(name)
        if m:
            found.setdefault(Month.parse(m[1]), []).append(int(m[2] or 1))
    return {k: sorted(v) for k, v in sorted(found.items())}


def stray_files(data: DataDir) -> list[Problem]:
    try:
        names = sorted(os.listdir(folder(data)))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [Problem(f"{FOLDER}/{n}", None, "warning",
                    "not read: ccm reads only YYYY-MM.json and YYYY-MM.N.json files here")
            for n in names if not n.startswith(".") and not _NAME.fullmatch(n)]  # fmt: skip


def read_history(data: DataDir, month: Month, numbers: list[int] | None = None) -> History:
    """Every record of the month, each checked: readable, its own hash, its place in the chain."""
    if numbers is None:
        numbers = record_numbers(data).get(month, [])
    history = History(month)
    previous: str | None = None
    for expected, n in enumerate(numbers, start=1):
        rel = f"{FOLDER}/{path_of(data, month, n).name}"
        history.files.append(rel)
        if n != expected:
            missing = f"{FOLDER}/{path_of(data, month, expected).name}"
            history.problems.append(Problem(rel, None, "error", f"{missing} is missing: a record "
                                            "of this month was removed or renamed"))  # fmt: skip
        record, why = _checked(path_of(data, month, n), month, n, previous)
        if why:
            history.problems.append(Problem(rel, None, "error", why))
        if record is None:
            break
        want = KINDS[(expected - 1) % 2]
        if record["kind"] != want:
            history.problems.append(Problem(rel, None, "error", f"is a {record['kind']} record "
                                            f"where a {want} must come"))  # fmt: skip
        history.records.append(record)
        previous = record.get("sha256")
    return history


def _checked(path: Path, month: Month, n: int, previous: str | None) -> tuple[dict | None, str]:
    """The record and what is wrong with it ("" when nothing)."""
    import json

    try:
        record = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return None, (f"is not a readable close record ({reason}); records are never edited: "
                      "restore it from a backup")  # fmt: skip
    if not isinstance(record, dict) or not record.keys() >= _REQUIRED:
        return None, "is not a close record (fields are missing); restore it from a backup"
    if record["kind"] not in KINDS:
        return None, f'kind "{str(record["kind"])[:20]}" is not close or reopen'
    if record["sha256"] != hashlib.sha256(canonical(record)).hexdigest():
        return record, ("its content does not match its sha256: the record was changed after "
                        "it was written")  # fmt: skip
    if record["month"] != str(month) or record["sequence"] != n:
        return record, "its month or sequence number does not match its file name"
    if record["previous"] != previous:
        return record, ("its previous sha256 does not match the record before it: an earlier "
                        "record was changed, replaced or removed")  # fmt: skip
    return record, ""


def write_next(data: DataDir, history: History, record: dict) -> tuple[dict, str]:
    """Seal `record` as the month's next record and create its file, never over another."""
    n = (max(record_numbers(data).get(history.month, [0]) or [0])) + 1
    last = history.last
    sealed = seal({"format": FORMAT, "month": str(history.month), "sequence": n, **record,
                   "previous": last.get("sha256") if last else None})  # fmt: skip
    path = path_of(data, history.month, n)
    try:
        fileio.atomic_write(path, render(sealed), exclusive=True)
    except FileExistsError:
        raise CcmError(f"{FOLDER}/{path.name} was written by someone else just now; "
                       "look at the month again and retry") from None  # fmt: skip
    return sealed, f"{FOLDER}/{path.name}"


def render(record: dict) -> str:
    """Readable JSON: a field per line, and each item of a list field on a line of its own."""
    import json

    enc = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    parts = []
    for key, value in record.items():
        if isinstance(value, list) and value:
            inner = ",\n    ".join(map(enc, value))
            parts.append(f"  {enc(key)}: [\n    {inner}\n  ]")
        else:
            parts.append(f"  {enc(key)}: {enc(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def refuse_if_closed(data: DataDir, month: Month) -> None:
    """What log, void and stop ask before writing a row dated in `month` (contract 8).

    Only the month's last record is read (one directory listing when nothing is closed).
    """
    numbers = record_numbers(data).get(month) if folder(data).is_dir() else None
    if not numbers:
        return
    n = numbers[-1]
    record, _ = _checked(path_of(data, month, n), month, n, None)
    if record is not None and record.get("kind") == "reopen":
        return
    rel = f"{FOLDER}/{path_of(data, month, n).name}"
    who = f" by {record.get('by')} at {record.get('at')}" if record else " (record damaged)"
    raise CcmError(f"{month} is closed ({rel}{who}): no entry or void can be dated in it; "
                   f"to change it, first run `ccm reopen {month} --reason TEXT`")  # fmt: skip
