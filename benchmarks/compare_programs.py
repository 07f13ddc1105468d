#!/usr/bin/env python3
"""`ccm compare --months 12` against one `ccm check` on a 2,000-patient practice (issue 12).

Target: a year's comparison of ccm, pcm and apcm takes at most 3x the time of one month's
`ccm check --format json` on the same data.

    python3 benchmarks/compare_programs.py [--shared ../shared] [--runs 7]

Uses run.py's *practice* data set (2,000 patients, 12 months of 20,000 entries, built once with
the shared `make_clinic.py` into benchmarks/data/) and its method: separate processes,
alternating, each command once untimed first (bytecode and ccm's caches then exist), medians
of the runs, the ratio of medians from the same round. Prints a markdown table and appends it
to benchmarks/compare_programs.md.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # benchmarks/run.py: data sets, environment, one timed run

RESULTS = run.ROOT / "benchmarks" / "compare_programs.md"
TARGET = 3.0


def commands() -> dict[str, list[str]]:
    data = str(run.DATA / "practice")
    return {
        "ccm compare --months 12 --format json": [
            *run.ccm(), "-d", data, "compare", "--month", run.MONTH, "--months", "12",
            "--format", "json",
        ],
        "ccm check --format json": run.command_line("check", "practice"),
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=run.ROOT.parent / "shared")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    bench = args.shared.resolve() / "bench"
    if not (bench / "make_clinic.py").is_file():
        sys.exit(f"compare_programs.py: no make_clinic.py in {bench}; pass --shared DIR")
    load_before = os.getloadavg()
    run.build(bench, "practice", run.DATASETS["practice"])
    env = run.child_environment()
    cmds = commands()
    for cmd in cmds.values():
        run.run_once(cmd, env)  # warm
    times: dict[str, list[float]] = {label: [] for label in cmds}
    for _ in range(max(args.runs, 5)):
        for label, cmd in cmds.items():
            times[label].append(run.run_once(cmd, env))
    medians = {label: statistics.median(t) for label, t in times.items()}
    subject, reference = list(medians)
    ratio = medians[subject] / medians[reference]
    text = "\n".join([
        f"## {len(times[subject])} alternating runs, medians",
        "", *run.machine(load_before), "",
        "| command | median |", "|---|---|",
        *(f"| {label} | {m:.3f} s |" for label, m in medians.items()),
        "", f"Ratio {ratio:.2f}x (target <= {TARGET:.1f}x): {'met' if ratio <= TARGET else 'NOT met'}.",
        "",
    ])  # fmt: skip
    print(text)
    with RESULTS.open("a") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
