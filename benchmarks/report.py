#!/usr/bin/env python3
"""Time `ccm report` against one `ccm check --format json` on the practice data set (issue 15).

    python3 benchmarks/report.py [--shared ../shared] [--runs 7]

The *practice* data set of run.py (2,000 patients, 12 months, month 2026-10), built once with
the shared make_clinic.py; the same method as run.py: each command once untimed (bytecode and
ccm's caches exist), then the two alternating, median of the runs, ratio of the medians. The
report is written outside the data directory, to benchmarks/data/report-2026-10.html.
Target: the report within 4x of the check. Prints a Markdown table; writes no file but the
report.
"""

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (
    DATASETS,
    ROOT,
    build,
    child_environment,
    command_line,
    machine,
    report_command,
    run_once,
)

TARGET = 4.0


def commands() -> dict[str, list[str]]:
    return {
        "ccm report (practice, 13 months)": report_command(),
        "ccm check --format json (practice)": command_line("check", "practice"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared",
                    help="folder holding bench/ (default: the repository's sibling shared/)")  # fmt: skip
    ap.add_argument("--runs", type=int, default=7, help="alternating runs (>= 5)")
    args = ap.parse_args()
    bench = args.shared.resolve() / "bench"
    if not (bench / "make_clinic.py").is_file():
        sys.exit(f"report.py: no make_clinic.py in {bench}; pass --shared DIR")
    build(bench, "practice", DATASETS["practice"])
    env = child_environment()
    cmds = commands()
    for cmd in cmds.values():
        run_once(cmd, env)
    times: dict[str, list[float]] = {label: [] for label in cmds}
    for _ in range(max(args.runs, 5)):
        for label, cmd in cmds.items():
            times[label].append(run_once(cmd, env))
    report, check = (statistics.median(t) for t in times.values())
    ratio = report / check
    print("\n".join(machine()))
    print("\n| command | median | runs |\n|---|---|---|")
    for label, t in times.items():
        print(f"| {label} | {statistics.median(t):.3f} s | {' '.join(f'{x:.2f}' for x in t)} |")
    met = "yes" if ratio <= TARGET else "no"
    print(f"\nratio report / check: {ratio:.2f}x (target <= {TARGET:.0f}x; met: {met})")


if __name__ == "__main__":
    main()
