"""One freshness rule (store/cache.py): whether a kept value still holds is decided there alone.

A value derived from a file is kept under the file's signature when it was read, unless that
signature is racy (`stamp`), and used while the signature is the same (`fresh`); a log that only grew is judged by its bytes
(`digest`, `grown`, `since`). The rule is tested at its edges here, and an ast scan of every
other module of src/ccmcli fails on one that compares signatures, applies the racy rule or
hashes what it keeps by itself: a second copy of the rule is how caches drift apart.
"""

import ast
import hashlib
import re
from pathlib import Path

import pytest

from ccmcli.store import cache, record_cache

SRC = Path(__file__).resolve().parent.parent / "src" / "ccmcli"
RULE = SRC / "store" / "cache.py"
NOW = 10_000_000_000_000
R = cache.RACY_NS


def sig(mtime: int = NOW - 5 * R, ctime: int | None = None, size: int = 100, ino: int = 7):
    return (size, mtime, mtime if ctime is None else ctime, ino)


# ---- the rule at its edges -------------------------------------------------------------------


def test_the_same_old_signature_is_fresh():
    assert cache.fresh(cache.stamp(sig(), NOW), sig())
    assert cache.fresh(list(sig()), sig())  # as marshal keeps it
    s = sig(NOW - R - 1)  # just outside the window
    assert cache.stamp(s, NOW) == s and cache.fresh(cache.stamp(s, NOW), s)


@pytest.mark.parametrize("mtime, ctime", [(NOW - R, None), (NOW - 1, None), (NOW, None),
                                          (NOW - 5 * R, NOW - R), (NOW + R, None)])  # fmt: skip
def test_the_same_signature_written_within_racy_ns_of_the_read_is_not_fresh(mtime, ctime):
    """An edit in the same timestamp tick leaves the signature as it was: not to be believed.
    Nothing is kept under it, so nothing read later is fresh by it, however long after."""
    s = sig(mtime, ctime)
    assert cache.stamp(s, NOW) is None
    assert not cache.fresh(cache.stamp(s, NOW), s)


@pytest.mark.parametrize("other", [sig(size=101), sig(NOW - 6 * R), sig(ctime=NOW - 6 * R),
                                   sig(ino=8)])  # fmt: skip
def test_any_other_signature_is_not_fresh(other):
    assert not cache.fresh(sig(), other)
    assert not cache.fresh(other, sig())
    assert not cache.fresh(list(other), sig())


def test_no_signature_is_never_fresh_and_keeps_nothing():
    assert not cache.fresh(None, sig())
    assert not cache.fresh(sig(), None)
    assert not cache.fresh(None, None)
    assert not cache.fresh(7, sig()) and not cache.fresh("x", sig())  # a damaged cache: a miss
    assert cache.stamp(None, NOW) is None
    assert cache.stamp(sig(NOW - R - 1), NOW) == sig(NOW - R - 1)


def test_the_rule_reads_racy_ns_when_asked(monkeypatch):
    """Tests that copy data a moment ago set RACY_NS to 0 to trust it: every part of the rule
    must follow (a copy taken at import would not)."""
    monkeypatch.setattr(cache, "RACY_NS", 0)
    assert cache.stamp(sig(NOW - 1), NOW) == sig(NOW - 1)
    assert cache.stamp(sig(NOW), NOW) is None


LOG = b"id,patient\nE1,P1\nE2,P1\n"
CUT = len(b"id,patient\nE1,P1\n")  # the resume point: before the last record


def test_digest_is_the_sha256_of_the_first_bytes():
    assert cache.digest(LOG) == hashlib.sha256(LOG).hexdigest()
    assert cache.digest(LOG, CUT) == hashlib.sha256(LOG[:CUT]).hexdigest()
    assert cache.digest(LOG, 0) == cache.digest(b"") == hashlib.sha256(b"").hexdigest()


def test_a_log_that_only_grew_has_grown():
    saved = (CUT, cache.digest(LOG, CUT))
    assert cache.grown(LOG, saved)
    assert cache.grown(LOG + b"E3,P2\n", saved)
    assert cache.grown(LOG[:CUT], saved)  # the very bytes, nothing after them
    assert cache.grown(LOG, (0, cache.digest(b"")), saved, (len(LOG), cache.digest(LOG)))
    assert cache.grown(b"", (0, cache.digest(b"")))


@pytest.mark.parametrize("raw", [
    LOG.replace(b"E1,P1", b"E1,P2"),  # an earlier byte changed, same length
    LOG.replace(b"E1,P1", b"E1,P2") + b"E3,P2\n",  # ... and rows appended after it
    b"X" + LOG[1:],  # the first byte
    LOG[: CUT - 1],  # cut short before the point
    b"",
])  # fmt: skip
def test_a_grown_log_with_changed_earlier_bytes_is_a_miss(raw):
    saved = (CUT, cache.digest(LOG, CUT))
    assert not cache.grown(raw, saved)
    assert cache.since(raw, CUT, saved[1], LOG[CUT:]) is None


def test_prefixes_must_follow_each_other():
    """Several prefixes are states the file went through in turn: a later one is no shorter."""
    early, late = (CUT, cache.digest(LOG, CUT)), (len(LOG), cache.digest(LOG))
    assert cache.grown(LOG, early, late)
    assert not cache.grown(LOG, late, early)
    assert not cache.grown(LOG, early, (len(LOG), cache.digest(LOG.replace(b"E2", b"E9"))))


def test_since_tells_the_very_bytes_from_a_log_that_grew():
    d = cache.digest(LOG, CUT)
    assert cache.since(LOG, CUT, d, LOG[CUT:]) == cache.SAME
    assert cache.since(LOG + b"E3,P2\n", CUT, d, LOG[CUT:]) == cache.GROWN
    rewritten = LOG[:CUT] + b"E2,P2\n"  # the last record changed: read on from the point
    assert cache.since(rewritten, CUT, d, LOG[CUT:]) == cache.GROWN
    assert cache.since(LOG[:CUT], CUT, d, LOG[CUT:]) == cache.GROWN  # the last record cut off


# ---- the modules follow it -------------------------------------------------------------------


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv(cache.ENV_OFF, raising=False)
    return tmp_path


def parsed_twice(root: Path, s) -> list[str]:
    """The files record_cache.refresh parsed in two refreshes of one file of signature `s`."""
    seen: list[str] = []

    def parse(rel: str):
        seen.append(rel)
        return (None, [])

    for _ in range(2):
        record_cache.refresh(root, [("patients/P1.yaml", s)], parse)
    return seen


def test_the_record_cache_keeps_a_file_by_the_rule(root):
    now = cache.time.time_ns()
    assert parsed_twice(root / "a", sig(now - 5 * R)) == ["patients/P1.yaml"]
    racy = sig(now + 60 * 10**9)  # within the window for the next minute
    assert parsed_twice(root / "b", racy) == ["patients/P1.yaml"] * 2


# ---- nobody else decides ---------------------------------------------------------------------

SIG_NAME = re.compile(r"(^|_)sigs?($|_)|signature", re.IGNORECASE)
RACY = {"RACY_NS", "trusted", "racy_after"}
STAT_TIMES = {"st_mtime_ns", "st_ctime_ns", "st_mtime", "st_ctime"}


def _words(node: ast.AST) -> set[str]:
    """The names, attributes and string keys within an expression (`index["sigs"][i]`), but
    not inside `len(...)`: how many signatures there are is the shape of a file, not freshness."""
    found = set()
    for n in _walk(node):
        if isinstance(n, ast.Name):
            found.add(n.id)
        elif isinstance(n, ast.Attribute):
            found.add(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            found.add(n.value)
    return found


def _walk(node: ast.AST):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return
    yield node
    for child in ast.iter_child_nodes(node):
        yield from _walk(child)


def _uses_cache(tree: ast.AST) -> bool:
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and n.module:
            names = {a.name for a in n.names}
            if n.module == "ccmcli.store.cache" or (
                n.module == "ccmcli.store" and "cache" in names
            ):
                return True
        if isinstance(n, ast.Import) and any(a.name == "ccmcli.store.cache" for a in n.names):
            return True
    return False


def own_rules(source: str) -> list[str]:
    """Where `source` decides freshness itself, as `line: what`."""
    tree = ast.parse(source)
    found = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Compare):
            if all(isinstance(op, ast.Is | ast.IsNot) for op in n.ops):
                continue  # `sig is None` asks whether there is one, not whether it is fresh
            if any(SIG_NAME.search(w) for w in _words(n)):
                found.append(f"{n.lineno}: compares a signature")
        elif isinstance(n, ast.Name | ast.Attribute):
            word = n.id if isinstance(n, ast.Name) else n.attr
            if word in RACY:
                found.append(f"{n.lineno}: applies the racy rule ({word})")
            elif word in STAT_TIMES:
                found.append(f"{n.lineno}: reads a file's times ({word})")
        elif isinstance(n, ast.alias) and n.name.split(".")[0] == "hashlib":
            found.append(f"{n.lineno}: imports hashlib")
        elif isinstance(n, ast.ImportFrom) and n.module == "hashlib":
            found.append(f"{n.lineno}: imports from hashlib")
    uses_cache = _uses_cache(tree)
    return [f for f in found if "hashlib" not in f or uses_cache]


PATHS = [p for p in sorted(SRC.rglob("*.py")) if p != RULE]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_but_cache_decides_freshness(path):
    assert own_rules(path.read_text(encoding="utf-8")) == [], (
        f"{path.relative_to(SRC)}: ask store/cache.py (fresh, stamp, digest, grown, since)"
    )


def test_the_scan_finds_each_way_of_deciding_by_hand():
    """Not vacuous: the forms the record and log caches used before the rule was one are found,
    and asking the rule is not."""
    by_hand = {
        "if sig is not None and hit is not None and hit[0] == sig: pass": "compares",
        'if tuple(index["sigs"][i]) != sig: pass': "compares",
        "ok = cached[0] == list(sig)": "compares",
        "ok = len(sigs) == 3 and sigs[0] == now": "compares",
        "ok = max(sig[1], sig[2]) >= self.racy_after": "racy",
        "new = (cache.trusted(sig, started), None)": "racy",
        "limit = now - cache.RACY_NS": "racy",
        "s = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)": "times",
        "import hashlib\nfrom ccmcli.store import cache": "hashlib",
        "from hashlib import sha256\nfrom ccmcli.store.cache import fresh": "hashlib",
    }
    for source, what in by_hand.items():
        assert any(what in f for f in own_rules(source)), source
    asking = (
        "from ccmcli.store import cache\n"
        "if sig is None or hit is None: pass\n"
        "ok = cache.fresh(hit[0], sig)\nkept = cache.stamp(sig, started)\n"
        "ok = cache.grown(raw, (offset, digest))\n"
    )
    assert own_rules(asking) == []
    assert own_rules("ok = len(parsed) == len(names) == len(sigs)") == []  # a file's shape
    assert own_rules("import hashlib\nh = hashlib.sha256(b'close record')") == []  # not a cache
