"""The README is the truth: its console blocks are what the real ccm prints (readme_blocks.py),
and running its tour on examples/clinic in place changes nothing a test reads."""

import json
import re
import shlex
import subprocess

import helpers
import readme_blocks
from helpers import CCM, ROOT, example_copy

README = ROOT / "README.md"


def test_the_readme_states_the_clock_of_its_outputs():
    assert readme_blocks.stated_clock(README.read_text(encoding="utf-8")) == (
        "2026-11-27T10:00:00-06:00"  # examples/clinic/SCENARIOS.md: "today is 2026-11-27"
    )


def test_every_console_block_is_what_ccm_prints(icd_cache):
    """After a change to an output: `python tests/readme_blocks.py --write`, and read the diff."""
    text = README.read_text(encoding="utf-8")
    blocks = [b for b in readme_blocks.BLOCK.findall(text) if readme_blocks.commands(b)]
    shown = {c for b in blocks for c in readme_blocks.commands(b)}
    assert {c.split()[3] for c in shown if c.startswith("ccm -d ")} >= {
        "check", "explain", "worklist", "compare", "rules", "export", "report"}  # fmt: skip
    fresh = readme_blocks.generate(text, cache_dir=icd_cache)
    old = readme_blocks.BLOCK.findall(readme_blocks.comparable(text))
    new = readme_blocks.BLOCK.findall(readme_blocks.comparable(fresh))
    for was, now in zip(old, new, strict=True):
        assert was == now, "README.md is stale: run python tests/readme_blocks.py --write"


def _tour(text: str) -> list[str]:
    """Every `ccm -d examples/clinic ...` the README shows, in console and sh blocks."""
    found = re.findall(r"^(?:\$ )?(ccm -d examples/clinic [^#\n]*)", text, re.M)
    return [c.strip() for c in found]


def test_the_tour_run_in_place_leaves_the_tests_data_alone(tmp_path, monkeypatch, icd_cache):
    """A person runs the README's tour on examples/clinic itself (export writes exports/ there,
    close writes closed/, a timer timers/, every command its caches): the tests' copies of the
    example are still the example as the repository holds it."""
    root = tmp_path / "clone"
    example_copy("clinic", root / "examples" / "clinic")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CCM_CACHE_DIR": str(icd_cache),
           "CCM_NOW": "2026-11-27T10:00:00-06:00", "CCM_STAFF": "rn.alvarez"}  # fmt: skip
    tour = _tour(README.read_text(encoding="utf-8"))
    assert any(" export " in c for c in tour) and any(" report " in c for c in tour)
    more = ["ccm -d examples/clinic close 2026-10", "ccm -d examples/clinic start P0007"]
    for command in [*tour, *more]:
        done = subprocess.run([CCM, *shlex.split(command)[1:]], cwd=root, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, (command, done.stderr)
    touched = root / "examples" / "clinic"
    assert {"exports", "closed", "timers"} <= {p.name for p in touched.iterdir()}

    monkeypatch.setattr(helpers, "EXAMPLES", root / "examples")
    after = example_copy("clinic", tmp_path / "after")
    monkeypatch.undo()
    pristine = example_copy("clinic", tmp_path / "pristine")
    assert _files(after) == _files(pristine)
    checked = [json.loads(_check(c, env)) for c in (after, pristine)]
    assert checked[0] == checked[1]


def _check(root, env) -> str:
    done = subprocess.run([CCM, "-d", root, "check", "--month", "2026-10", "-f", "json"],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
