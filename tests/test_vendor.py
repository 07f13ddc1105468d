"""The files copied into tests/vendor are the originals in ../shared, byte for byte.

Without ../shared (a checkout on its own) there is nothing to compare with, and the copies stand
alone: every test that uses them runs either way.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "tests" / "vendor"


def shared() -> Path | None:
    """`shared/` beside the repository, or beside a folder above it (a worktree)."""
    return next((p / "shared" for p in ROOT.parents if (p / "shared").is_dir()), None)


def part_a(text: str) -> str:
    return text[: text.index("\n# Part B")] + "\n"


def test_make_clinic_is_the_shared_generator():
    origin = shared()
    copy = (VENDOR / "make_clinic.py").read_bytes()
    assert b"def main()" in copy
    if origin is not None:
        assert copy == (origin / "bench" / "make_clinic.py").read_bytes(), "copy it again"


def test_the_rules_excerpt_is_part_a_of_the_shared_rules():
    origin = shared()
    copy = (VENDOR / "ccm-rules-part-a.md").read_text(encoding="utf-8")
    assert "## A6." in copy and "## A8." in copy and "# Part B" not in copy
    if origin is not None:
        assert copy == part_a((origin / "ccm-rules.md").read_text(encoding="utf-8")), "copy again"
