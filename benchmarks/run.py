#!/usr/bin/env python3
"""Time whole ccm commands against their references and write benchmarks/RESULTS.md (issue 16).

    python3 benchmarks/run.py [--shared ../shared] [--runs 7] [--fast-runs 11] [--cold-runs 3]
                              [--only NAME]

Data sets are built once with the shared `make_clinic.py` into benchmarks/data/ (git-ignored)
and reused. Commands of one comparison run as separate processes, alternating, so machine load
touches all of them alike; each figure is the median of the runs and the ratios are ratios of
medians from the same round. Every command runs once untimed first: bytecode and ccm's caches
then exist, as on any machine where ccm ran since the data last changed (the first run after a
change is measured in its own round, "cold", with the caches off). Peak memory is the child's
maximum resident set size. Every figure is reported with the spread of its runs.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
MONTH = "2026-10"
PATIENT = "P000001"  # make_clinic numbers patients from P000000
DATASETS = {
    "practice": ["--patients", "2000", "--months", "12", "--entries-per-month", "20000"],
    "practice-1-month": ["--patients", "2000", "--months", "1", "--entries-per-month", "20000"],
    "system": ["--patients", "20000", "--months", "3", "--entries-per-month", "200000"],
}


@dataclass
class Comparison:
    """Commands timed in one alternating round; `checks` are (subject, reference, target)."""

    name: str
    commands: dict[str, list[str]]
    checks: list[tuple[str, str, float | None]]
    runs: int
    env: dict[str, str] = field(default_factory=dict)  # added to the children's environment
    medians: dict[str, float] = field(default_factory=dict)
    spreads: dict[str, tuple[float, float]] = field(default_factory=dict)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared",
                    help="folder holding bench/ (default: the repository's sibling shared/)")  # fmt: skip
    ap.add_argument("--runs", type=int, default=7, help="runs of the slow commands (>= 5)")
    ap.add_argument("--fast-runs", type=int, default=11, help="runs of log and --help (>= 7)")
    ap.add_argument("--cold-runs", type=int, default=3, help="runs of the cold check (>= 3)")
    ap.add_argument("--only", help="run only the comparisons whose name contains this")
    args = ap.parse_args()
    bench = args.shared.resolve() / "bench"
    if not (bench / "make_clinic.py").is_file():
        sys.exit(f"run.py: no make_clinic.py in {bench}; pass --shared DIR")
    env = child_environment()
    for name, options in DATASETS.items():
        build(bench, name, options)
    runs = (max(args.runs, 5), max(args.fast_runs, 7), max(args.cold_runs, 3))
    rounds = comparisons(bench, *runs)
    rounds = [c for c in rounds if not args.only or args.only in c.name]
    load_before = os.getloadavg()
    for comparison in rounds:
        measure(comparison, env)
    memory = peak_memory(command_line("check", "system"), env)
    RESULTS.write_text(report(rounds, memory, load_before))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def child_environment() -> dict[str, str]:
    """The caller's environment with ccm's caches under benchmarks/data/ and bytecode caching
    on (some sandboxes turn it off; a normal install has it), and no CCM_* settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CCM_") and k != "PYTHONDONTWRITEBYTECODE"}  # fmt: skip
    env["CCM_CACHE_DIR"] = str(DATA / "cache")
    env["NO_COLOR"] = "1"
    return env


def build(bench: Path, name: str, options: list[str], rebuild: bool = False) -> Path:
    """The data set `name` under benchmarks/data/, written once by make_clinic.py into a
    temporary folder and renamed into place, so a half-written one is never reused."""
    out = DATA / name
    if (out / "ccm.yaml").is_file() and not rebuild:
        return out
    script = bench / "make_clinic.py"
    if not script.is_file():
        sys.exit(f"cannot find {script}; pass --shared PATH (the folder holding bench/)")
    print(f"building {name} ...", flush=True)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run([sys.executable, str(script), str(tmp), *options, "--last-month", MONTH],
                   check=True)  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def ccm() -> list[str]:
    """The `ccm` script next to this interpreter (as `make bench` installs it), else on PATH."""
    script = Path(sys.executable).parent / "ccm"
    if script.is_file():
        return [str(script)]
    found = shutil.which("ccm")
    return [found] if found else [sys.executable, "-m", "ccmcli"]


def command_line(kind: str, dataset: str) -> list[str]:
    data = str(DATA / dataset)
    if kind == "check":
        return [*ccm(), "-d", data, "check", "--month", MONTH, "--format", "json"]
    return [*ccm(), "-d", data, "log", PATIENT, "5"]


def report_command() -> list[str]:
    """`ccm report` of the practice's month and the 12 before it, written outside the data."""
    out = str(DATA / f"report-{MONTH}.html")
    return [*ccm(), "-d", str(DATA / "practice"), "report", "--month", MONTH, "-o", out, "-q"]


def comparisons(bench: Path, runs: int, fast: int, cold: int) -> list[Comparison]:
    """The rounds, each with the issue's targets (None: shown for reference, no target)."""
    py = sys.executable
    peer, floor, bare = (str(bench / n) for n in ("peer_pandas.py", "floor.py", "bare_click.py"))

    def ref(script: str, dataset: str) -> dict[str, list[str]]:
        return {f"{Path(script).name} ({dataset})": [py, script, str(DATA / dataset), MONTH]}

    check = "ccm check --format json"
    return [
        Comparison("check practice",
                   {f"{check} (practice)": command_line("check", "practice"),
                    **ref(peer, "practice"), **ref(floor, "practice")},
                   [(f"{check} (practice)", "peer_pandas.py (practice)", 0.8),
                    (f"{check} (practice)", "floor.py (practice)", None)], runs),
        Comparison("check system",
                   {f"{check} (system)": command_line("check", "system"),
                    **ref(peer, "system")},
                   [(f"{check} (system)", "peer_pandas.py (system)", 2.5)], runs),
        Comparison("cold check system",
                   {f"cold {check} (system, caches off)": command_line("check", "system"),
                    **ref(floor, "system")},
                   [(f"cold {check} (system, caches off)", "floor.py (system)", 1.5)], cold,
                   env={"CCM_NO_CACHE": "1"}),
        Comparison("check history",
                   {f"{check} (practice, 12 months)": command_line("check", "practice"),
                    f"{check} (practice, 1 month)": command_line("check", "practice-1-month")},
                   [(f"{check} (practice, 12 months)", f"{check} (practice, 1 month)", 1.1)],
                   max(runs, fast)),
        Comparison("report practice",
                   {"ccm report (practice, 13 months)": report_command(),
                    f"{check} (practice)": command_line("check", "practice")},
                   [("ccm report (practice, 13 months)", f"{check} (practice)", 4.0)], runs),
        Comparison("log",
                   {"ccm log P 5 (practice)": command_line("log", "practice"),
                    "ccm log P 5 (system)": command_line("log", "system"),
                    "bare_click.py log P 5": [py, bare, "log", PATIENT, "5"]},
                   [("ccm log P 5 (practice)", "bare_click.py log P 5", 3.0),
                    ("ccm log P 5 (system)", "bare_click.py log P 5", None)], fast),
        Comparison("help",
                   {"ccm --help": [*ccm(), "--help"], "bare_click.py --help": [py, bare, "--help"]},
                   [("ccm --help", "bare_click.py --help", 2.0)], fast),
    ]  # fmt: skip


def run_once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: the data has errors, which is still a full run
        sys.exit(f"run.py: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return took


def measure(c: Comparison, env: dict[str, str]) -> None:
    print(f"{c.name}: {c.runs} alternating runs of {len(c.commands)} commands", flush=True)
    env = {**env, **c.env}
    for cmd in c.commands.values():
        run_once(cmd, env)  # warm: bytecode and caches, as on any machine ccm has run on
    times: dict[str, list[float]] = {label: [] for label in c.commands}
    for _ in range(c.runs):
        for label, cmd in c.commands.items():
            times[label].append(run_once(cmd, env))
    c.medians = {label: statistics.median(t) for label, t in times.items()}
    c.spreads = {label: (min(t), max(t)) for label, t in times.items()}


def peak_memory(cmd: list[str], env: dict[str, str], runs: int = 3) -> int:
    """Largest maximum resident set size (KiB) over a few warm runs."""
    run_once(cmd, env)
    return max(_max_rss(cmd, env) for _ in range(runs))


def _max_rss(cmd: list[str], env: dict[str, str]) -> int:
    if Path("/usr/bin/time").is_file():
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        return int(done.stderr.strip().splitlines()[-1])
    wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], "
               "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], env=env, capture_output=True, text=True
    )
    return int(done.stdout.strip())


def machine(load_before: tuple[float, float, float]) -> list[str]:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        model = next(
            (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model
        )
    versions = []
    for package in ("typer", "pydantic", "pandas", "yaml"):
        try:
            versions.append(f"{package} {__import__(package).__version__}")
        except ImportError:
            versions.append(f"{package} missing")
    load = ", ".join(f"{x:.2f}" for x in load_before)
    return [f"- CPU: {model}, {os.cpu_count()} cores (`nproc`), shared with other work: load "
            f"average {load} at the start, {', '.join(f'{x:.2f}' for x in os.getloadavg())} at the end",
            f"- Python {platform.python_version()} ({platform.platform()}); {', '.join(versions)}",
            f"- Date: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"]  # fmt: skip


def report(rounds: list[Comparison], memory_kib: int, load_before) -> str:
    rows = []
    for c in rounds:
        for subject, ref, target in c.checks:
            ratio = c.medians[subject] / c.medians[ref]
            met = "" if target is None else "yes" if ratio <= target else "no"
            rows.append(f"| {subject} | {ref} | {_figure(c, subject)} | {_figure(c, ref)} | "
                        f"{ratio:.2f}x | {'' if target is None else f'<= {target}x'} | {met} |")  # fmt: skip
    mib = memory_kib / 1024
    rows.append(f"| ccm check --format json (system), peak memory | | {mib:.0f} MiB | | | "
                f"<= 250 MiB | {'yes' if mib <= 250 else 'no'} |")  # fmt: skip
    missed = sum(row.endswith("| no |") for row in rows)
    targets = sum(row.endswith(("| no |", "| yes |")) for row in rows)
    lines = ["# Benchmark results", "",
             "Written by `benchmarks/run.py` (`make bench`); how it measures: benchmarks/README.md. "
             "Medians of alternating runs, [fastest-slowest run] after each; ratios of medians "
             "from the same round (on a shared machine absolute times mean little).", "",
             *machine(load_before), "",
             "| command | reference | ccm median [spread] | reference median [spread] | ratio | target | met? |",
             "|---|---|---|---|---|---|---|", *rows, "",
             f"{missed} of {targets} targets not met in this run." if missed
             else f"All {targets} targets met in this run."]  # fmt: skip
    return "\n".join(lines) + "\n\n" + NOTES_MARK + "\n" + _kept_notes()


def _figure(c: Comparison, label: str) -> str:
    low, high = c.spreads[label]
    return f"{c.medians[label]:.3f} s [{low:.3f}-{high:.3f}]"


NOTES_MARK = "<!-- notes: kept by run.py when it rewrites the figures above -->"


def _kept_notes() -> str:
    """The hand-written analysis below the marker in the current RESULTS.md."""
    if not RESULTS.is_file():
        return ""
    text = RESULTS.read_text()
    return text.split(NOTES_MARK, 1)[1].lstrip("\n") if NOTES_MARK in text else ""


if __name__ == "__main__":
    main()
