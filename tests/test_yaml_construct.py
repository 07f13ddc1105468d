"""yamlio builds Python values from the C parser's nodes itself (yamlio._construct), faster than
PyYAML's constructor: for any document it must give what yaml.load with yamlio's strict loader
gives, value for value, and fail where that fails with the same problem at the same place."""

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmcli.store import yamlio

ROOT = Path(__file__).resolve().parent.parent


def reference(text: str):
    """yamlio.load as it was: PyYAML's own constructor under the strict loader."""
    return yaml.load(text, Loader=yamlio._StrictLoader)


def outcome(load, text: str):
    """The value, or the error's type, problem and place (what yamlio reports)."""
    try:
        return ("value", load(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return ("error", type(exc).__name__, exc.problem, mark and (mark.line, mark.column))
    except yaml.YAMLError as exc:
        return ("error", type(exc).__name__, str(exc))


def same(text: str) -> None:
    ours, theirs = outcome(yamlio._load, text), outcome(reference, text)
    assert ours == theirs
    if ours[0] == "value":
        assert repr(ours[1]) == repr(theirs[1])  # the same order of keys too


KEYS = st.sampled_from(["a", "b", "id", "'a'", '"b"', "!t a", "!!str b", "c d"])
SCALARS = st.sampled_from(["x", "0123", "yes", "~", "''", '"q"', "!!int 7", "!t z", "20:30", ""])
ANCHORS = st.sampled_from(["", "&p ", "&q "])
ALIASES = st.sampled_from(["*p", "*q"])


def flow(children):
    seq = st.lists(children, max_size=4).map(lambda items: "[" + ", ".join(items) + "]")
    pairs = st.lists(st.tuples(st.one_of(KEYS, children), children), max_size=4)
    mapping = pairs.map(lambda ps: "{" + ", ".join(f"? {k} : {v}" for k, v in ps) + "}")
    return st.tuples(ANCHORS, st.one_of(seq, mapping)).map("".join)


NODES = st.recursive(st.one_of(SCALARS, ALIASES), flow, max_leaves=12)


def named(text: str) -> str:
    """Each anchor a name of its own; `*p` names the latest anchor before it (inside it: a node
    within itself), `*q` the first, or an undefined one when there is none yet."""
    out, names = [], []
    for part in re.split(r"(&[pq] |\*[pq])", text):
        if part.startswith("&"):
            names.append(f"n{len(names)}")
            part = f"&{names[-1]} "
        elif part.startswith("*"):
            part = "*" + ((names[-1] if part == "*p" else names[0]) if names else "none")
        out.append(part)
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(KEYS, NODES), max_size=5))
def test_any_document_reads_as_with_pyyaml_constructor(pairs):
    same(named("".join(f"? {key}\n: {value}\n" for key, value in pairs)))


@pytest.mark.parametrize(
    "text",
    [
        "", "x", "- a\n- b\n", "a: 1\nb: [1, 2]\nc: {d: e}\n", "a: 1\na: 2\n",
        "a: &x [1, 2]\nb: *x\n", "a: &x [*x]\n", "a: &x {k: *x}\n", "? [a]\n: b\n",
        "? {a: 1}\n: b\n", "? {a: 1, a: 2}\n: b\n", "a: {k: 1, k: 2}\na: 3\n", "*nope\n",
        "a: [unclosed\n", "a: 1\n---\nb: 2\n", "!!python/object:os.system x\n",
        "a: !!map {b: c}\n", "<<: {a: 1}\nb: 2\n", "a: b\n\tc: d\n", "a: \x00\n",
    ],
)  # fmt: skip
def test_edge_documents_read_as_with_pyyaml_constructor(text):
    same(text)


def test_every_patient_file_of_the_examples_reads_the_same():
    files = sorted((ROOT / "examples").glob("*/patients/*.yaml")) + sorted(
        (ROOT / "tests").rglob("*.yaml")
    )
    assert len(files) > 10
    for path in files:
        same(path.read_bytes().decode("utf-8-sig", errors="replace"))


def test_a_document_nested_deeper_than_python_goes_is_a_syntax_problem():
    depth = 990  # under libyaml's limit of 1,000 levels, over Python's recursion limit with
    # PyYAML's constructor: that raised RecursionError, which stopped the whole command
    text = "a: " + "[" * depth + "]" * depth + "\n"
    try:
        yamlio.load(text)
    except yamlio.YamlSyntaxError as exc:
        assert "nested too deeply" in exc.message
