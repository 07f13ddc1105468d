"""Small builders shared by several test modules."""

import shutil
import sys
from pathlib import Path

import typer

from ccmcli.cli import app

# The `ccm` of the environment the tests run in, never whatever PATH holds: CI's shell has none.
CCM = str(Path(sys.executable).with_name("ccm"))
assert Path(CCM).is_file(), f"{CCM} is missing: install the project (pip install -e .) first"

# An eligible CCM patient whose record opened in January 2025.
ELIGIBLE_PATIENT = """\
id: {pid}
name: Test Patient {pid}
birth_date: 1950-01-02
conditions: [E11.9, I10]
consent: {{date: 2025-01-06, method: verbal}}
initiating_visit: {{date: 2025-01-06, type: awv}}
care_plan: {{established: 2025-01-06}}
"""


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# What an example is made of: its settings, patient files, month logs and notes. Everything else a
# command may have written there (exports/, closed/, timers/, caches, an import's staging) is
# left behind, so the README tour run in place (`ccm -d examples/clinic export ...`) changes no
# test's data.
EXAMPLE_FILES = ("ccm.yaml", "*.md", "patients/*.yaml", "logs/*.csv")


def example_copy(name: str, dest: Path, source: Path | None = None) -> Path:
    """A private copy of `examples/NAME` (or of `source`) at `dest`, as the repository holds it,
    whatever state the example folder is in: tests never work on it in place."""
    src = source or EXAMPLES / name
    for pattern in EXAMPLE_FILES:
        for path in sorted(src.glob(pattern)):
            if path.is_file() and not path.name.startswith("."):
                target = dest / path.relative_to(src)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
    (dest / "logs").mkdir(parents=True, exist_ok=True)
    return dest


def run_on_a_terminal(args: list[str], columns: int, rows: int = 50,
                      env: dict[str, str] | None = None) -> tuple[str, str]:  # fmt: skip
    """(screen, stderr) of `args` run on a pseudo-terminal whose size the terminal itself holds
    (TIOCSWINSZ), as a person's terminal window sets it; `COLUMNS` and `LINES` are not set."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in (env or os.environ).items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([str(a) for a in args], stdin=follower, stdout=follower,
                            stderr=subprocess.PIPE, env=env, close_fds=True)  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    err = proc.stderr.read().decode("utf-8") if proc.stderr else ""
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n"), err


def data_files(root: Path) -> list[Path]:
    """Every file under a data directory but ccm's caches of parsed files (`.ccm-cache/`), which
    any reading command may write and which hold nothing a person or ccm wrote."""
    return sorted(p for p in root.rglob("*") if p.is_file() and ".ccm-cache" not in p.parts)


def leaf_commands() -> list[tuple[tuple[str, ...], object]]:
    """(path, click command) for every command a user can run, e.g. (("patient", "add"), cmd)."""
    out = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        else:
            out.append((path, cmd))

    walk(typer.main.get_command(app), ())
    return out
