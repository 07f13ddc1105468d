"""ICD-10-CM code checks from a compact cached index, without importing `simple_icd_10_cm`.

Importing that package parses CMS's ~10 MB XML (several seconds), so we read it once, write an
index into the user's cache folder under a name keyed by the package version, and afterwards load
only the index. The index is bytes we never split into per-code objects: a sorted table of
fixed-width records (code, kind, offset of its description) searched by bisection, then the
descriptions, one per line. Loading is one read plus a CRC check; a lookup decodes only the
description it returns.

Layout: header line `ccm-icd10cm-index <format> <version> <count> <width> <body-size> <crc32>`,
then `count` records of `width` code bytes (space padded) + `B`|`C` + 8-digit offset + newline,
then the descriptions, each ending in a newline.
"""

import contextlib
import os
import zlib
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ccmcli.models.errors import CcmError
from ccmcli.store.fileio import atomic_write, make_dirs, would_create_home

Kind = Literal["billable", "category", "unknown"]

_PACKAGE = "simple_icd_10_cm"
_MAGIC = "ccm-icd10cm-index"
_FORMAT = "1"
_OFFSET_DIGITS = 8


class CodeSetUnavailable(CcmError):
    """The ICD-10-CM tables cannot be found, so no code can be checked."""


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What the code set says about one code; `code` is normalized ("e119" -> "E11.9")."""

    code: str
    kind: Kind
    description: str | None


def normalize(code: str) -> str:
    """Accept what people type ("e119", " E11.9 "): strip, upper-case, dot after 3 characters.

    Only plain alphanumerics get a dot, so a block id like "E08-E13" is echoed back as typed.
    """
    c = code.strip().upper()
    if len(c) > 3 and c.isalnum():
        c = f"{c[:3]}.{c[3:]}"
    return c


class CodeSet:
    """The ICD-10-CM codes of one package version, looked up in the raw index bytes."""

    __slots__ = ("_count", "_data", "_descs", "_rec_size", "_recs", "_width", "version")

    def __init__(self, version: str, data: bytes, start: int, count: int, width: int) -> None:
        """Wrap index bytes already verified by `_parse` (records begin at `start`)."""
        self.version = version
        self._data, self._recs, self._count, self._width = data, start, count, width
        self._rec_size = width + 2 + _OFFSET_DIGITS
        self._descs = start + count * self._rec_size

    def _code_at(self, i: int) -> bytes:
        pos = self._recs + i * self._rec_size
        return self._data[pos : pos + self._width]

    def lookup(self, code: str) -> CodeInfo:
        """Classify `code`; anything not in the code set (blocks, chapters, typos) is unknown."""
        norm = normalize(code)
        if not norm or len(norm) > self._width or not norm.isascii():
            return CodeInfo(norm, "unknown", None)
        key = norm.encode().ljust(self._width)
        i = bisect_left(range(self._count), key, key=self._code_at)
        if i == self._count or self._code_at(i) != key:
            return CodeInfo(norm, "unknown", None)
        pos = self._recs + i * self._rec_size + self._width
        kind: Kind = "billable" if self._data[pos : pos + 1] == b"B" else "category"
        start = self._descs + int(self._data[pos + 1 : pos + 1 + _OFFSET_DIGITS])
        end = self._data.index(b"\n", start)
        return CodeInfo(norm, kind, self._data[start:end].decode("utf-8"))


def default_cache_dir() -> Path:
    """$CCM_CACHE_DIR, else $XDG_CACHE_HOME/ccm (if absolute, as XDG says), else ~/.cache/ccm."""
    if os.environ.get("CCM_CACHE_DIR"):
        return Path(os.environ["CCM_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return Path(xdg) / "ccm" if os.path.isabs(xdg) else Path.home() / ".cache" / "ccm"


def installed_version() -> str:
    """Version of the installed package, read from its dist-info folder name when unambiguous.

    `importlib.metadata` costs ~30 ms to import, as much as loading the whole index, so it is
    only the fallback (eggs, odd layouts, several leftover dist-info folders).
    """
    import importlib.util

    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CodeSetUnavailable(
            f"ICD-10-CM tables unavailable: install simple-icd-10-cm ({_PACKAGE} not found)"
        )
    site = Path(next(iter(spec.submodule_search_locations))).parent
    prefix = f"{_PACKAGE}-"
    with os.scandir(site) as entries:
        found = [
            e.name
            for e in entries
            if e.name.lower().startswith(prefix) and e.name.endswith(".dist-info")
        ]
    if len(found) == 1:
        return found[0][len(prefix) : -len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version("simple-icd-10-cm")
    except metadata.PackageNotFoundError as exc:
        raise CodeSetUnavailable("ICD-10-CM tables unavailable: install simple-icd-10-cm") from exc


def cache_path(cache_dir: Path, version: str) -> Path:
    """Index file for `version`; other versions' files are never read, so upgrades rebuild."""
    safe = "".join(ch if ch.isalnum() or ch in "._+-" else "_" for ch in version)
    return cache_dir / f"icd10cm-{safe}.idx"


def _read_package() -> list[tuple[str, bool, str]]:
    """(code, billable, description) of every diagnosis code; the slow XML parse happens here.

    Chapters ("1") and blocks ("E08-E13") are groupings, not codes, so they are left out. A code
    is billable when it is a leaf: "I10" has no children and is billable, "E11" is not.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import simple_icd_10_cm as cm
        except ImportError as exc:
            raise CodeSetUnavailable(f"ICD-10-CM tables unavailable: {exc}") from exc
    codes = dict.fromkeys(cm.get_all_codes(True))  # a block can share its name with its category
    return [
        (c, cm.is_leaf(c), cm.get_description(c)) for c in codes if cm.is_category_or_subcategory(c)
    ]


def _encode(version: str, entries: list[tuple[str, bool, str]]) -> bytes:
    """Serialize entries in the layout described at the top of this module."""
    width = max(len(c) for c, _, _ in entries)
    entries = sorted(entries, key=lambda e: e[0].encode().ljust(width))  # as lookup pads keys
    recs, descs, offset = [], [], 0
    for code, billable, desc in entries:
        raw = desc.replace("\r", " ").replace("\n", " ").encode("utf-8") + b"\n"
        recs.append(
            b"%s%s%08d\n" % (code.encode().ljust(width), b"B" if billable else b"C", offset)
        )
        descs.append(raw)
        offset += len(raw)
    if offset >= 10**_OFFSET_DIGITS:
        raise ValueError("ICD-10-CM descriptions too large for the index format")
    body = b"".join(recs) + b"".join(descs)
    header = f"{_MAGIC} {_FORMAT} {version} {len(entries)} {width} {len(body)} {zlib.crc32(body)}\n"
    return header.encode() + body


def _parse(data: bytes, version: str) -> CodeSet | None:
    """The CodeSet in `data`, or None when it is truncated, corrupt or from another version."""
    try:
        end = data.index(b"\n", 0, 200)
        magic, fmt, ver, *numbers = data[:end].decode("ascii").split(" ")
        n, w, size, crc = map(int, numbers)
    except ValueError:  # also UnicodeDecodeError: garbage bytes
        return None
    body = memoryview(data)[end + 1 :]
    if (magic, fmt, ver) != (_MAGIC, _FORMAT, version) or len(body) != size or n < 1 or w < 3:
        return None
    if zlib.crc32(body) != crc or size < n * (w + 2 + _OFFSET_DIGITS):
        return None
    return CodeSet(version, data, end + 1, n, w)


def load_code_set(cache_dir: Path | None = None) -> CodeSet:
    """Return the cached index, building it when missing, corrupt or from another version.

    The file is replaced atomically (0600, folder 0700), so concurrent runs and crashes leave
    either a whole index or none. If the cache cannot be written, the built index is still used.
    """
    version = installed_version()
    path = cache_path(cache_dir or default_cache_dir(), version)
    try:
        code_set = _parse(path.read_bytes(), version)
    except OSError:
        code_set = None
    if code_set is not None:
        return code_set
    data = _encode(version, _read_package())
    with contextlib.suppress(OSError):  # a read-only home still gets answers, just slowly
        if not would_create_home(path.parent):
            make_dirs(path.parent)
            atomic_write(path, data)
    code_set = _parse(data, version)
    assert code_set is not None
    return code_set
