"""The README's console blocks, printed again by the real ccm.

Every ```console block of README.md whose commands are `ccm ...` shows what ccm prints: the
commands run in README order on one copy of examples/clinic (`CCM_DATA_DIR` names it for those
without `-d`, as the tour's "Daily use" sets it), with the clock the README states
(`CCM_NOW=...`), 100 columns, no colour; a block shows stdout, then stderr but for the warning
that CCM_NOW is set. Entry ids end in random letters, so they compare without them.

    python tests/readme_blocks.py           # the differences, exit 1 if any
    python tests/readme_blocks.py --write   # rewrite the blocks from the real ccm

tests/test_readme.py checks them; a change that alters an output reruns `--write`.
"""

import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import CCM, ROOT, example_copy

README = ROOT / "README.md"
BLOCK = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
CLOCK = re.compile(r"`(?:export )?CCM_NOW=([^`\s]+)`")
ENTRY_ID = re.compile(r"\b(E\d{8}T\d{9})-[0-9A-Z]{5}\b")
WIDTH = "100"
STAFF = "rn.alvarez"


def stated_clock(text: str) -> str:
    """The instant the README says its outputs were printed at."""
    found = CLOCK.search(text)
    if not found:
        raise SystemExit("README.md states no `CCM_NOW=...` for its console blocks")
    return found.group(1)


def commands(body: str) -> list[str] | None:
    """The `$ ccm ...` lines of a block, or None when it is not ccm's to print (a shell's own
    completion, a command typed half-way)."""
    lines = [line[2:] for line in body.splitlines() if line.startswith("$ ")]
    if not lines or any(not c.startswith("ccm ") for c in lines):
        return None
    if any("<Tab>" in c or "completion" in c for c in lines):
        return None
    return lines


def run(command: str, workdir: Path, env: dict[str, str]) -> str:
    done = subprocess.run([CCM, *shlex.split(command)[1:]], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    err = [line for line in done.stderr.splitlines() if line != "warning: CCM_NOW is set"]
    lines = done.stdout.splitlines() + err
    return "".join(f"{line}\n" for line in lines)


def environment(workdir: Path, now: str, cache_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    return {**keep, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
            "CCM_CACHE_DIR": str(cache_dir), "CCM_NOW": now, "COLUMNS": WIDTH,
            "NO_COLOR": "1", "CCM_STAFF": STAFF,
            "CCM_DATA_DIR": str(workdir / "examples" / "clinic")}  # fmt: skip


def generate(text: str, cache_dir: Path | None = None) -> str:
    """README text with every ccm console block printed again by the real ccm."""
    now = stated_clock(text)
    with tempfile.TemporaryDirectory(prefix="ccm-readme-") as tmp:
        workdir = Path(tmp)
        example_copy("clinic", workdir / "examples" / "clinic")
        env = environment(workdir, now, cache_dir or workdir / "code-index")

        def printed(match: re.Match) -> str:
            body = match.group(1)
            todo = commands(body)
            if todo is None:
                return match.group(0)
            out = "".join(f"$ {c}\n{run(c, workdir, env)}" for c in todo)
            fresh = f"```console\n{out}```"
            same = comparable(fresh) == comparable(match.group(0))
            return match.group(0) if same else fresh  # an entry id's random end is kept

        return BLOCK.sub(printed, text)


def comparable(text: str) -> str:
    return ENTRY_ID.sub(r"\1-#####", text)


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    fresh = generate(text)
    if "--write" in argv:
        if fresh != text:
            README.write_text(fresh, encoding="utf-8")
            print("README.md: console blocks rewritten")
        return 0
    if comparable(fresh) == comparable(text):
        return 0
    sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), fresh.splitlines(True),
                                               "README.md", "ccm prints"))  # fmt: skip
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
