#!/usr/bin/env python3
"""`ccm audit --all` for about 200 billed patient-months against one `ccm check` of that month.

Target (issue 14): the packets of 200 patient-months within 10x of one `ccm check --format json`
of the same month on the same data.

    python3 benchmarks/audit_all.py [--shared ../shared] [--runs 7] [--rebuild]

The clinic (225 patients, about 200 of them billable in 2026-10, 2 months of 2,250 entries: ten
entries a patient-month, as in run.py's data sets) is built once with the shared `make_clinic.py`
under benchmarks/data/ (git-ignored). As in run.py, both commands run as separate processes,
alternating, after one untimed run each (bytecode, ccm's caches and the ICD-10-CM index exist);
each figure is a median, the ratio a ratio of medians of the same round. Every packet is written
whole and fsynced, as `ccm audit` always does, into a fresh folder each run. The result is
printed and appended to benchmarks/audit_all.md.
"""

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # benchmarks/run.py: data sets, environment, the ccm script, one timed run

RESULTS = run.ROOT / "benchmarks" / "audit_all.md"
MONTH = run.MONTH
CLINIC_ARGS = ["--patients", "225", "--months", "2", "--entries-per-month", "2250"]
TARGET = 10.0
DATA = run.DATA / "audit-225"


def audit_once(env: dict[str, str], scratch: Path, n: int) -> tuple[float, int]:
    out = scratch / f"run{n}"
    took = run.run_once([*run.ccm(), "-d", str(DATA), "audit", "--all", "--month", MONTH, "-o",
                         str(out)], env)  # fmt: skip
    packets = len(list(out.glob("*.html"))) - 1  # index.html
    shutil.rmtree(out)
    return took, packets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=run.ROOT.parent / "shared")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    run.build(args.shared.resolve() / "bench", DATA.name, CLINIC_ARGS, args.rebuild)
    env = run.child_environment()
    check = [*run.ccm(), "-d", str(DATA), "check", "--month", MONTH, "--format", "json"]
    with tempfile.TemporaryDirectory(prefix="ccm-audit-bench-") as tmp:
        scratch = Path(tmp)
        run.run_once(check, env)
        _, packets = audit_once(env, scratch, 0)
        audits, checks = [], []
        for n in range(1, max(args.runs, 5) + 1):
            checks.append(run.run_once(check, env))
            audits.append(audit_once(env, scratch, n)[0])
    write(packets, audits, checks, max(args.runs, 5))


def write(packets: int, audits: list[float], checks: list[float], runs: int) -> None:
    a, c = statistics.median(audits), statistics.median(checks)
    ratio = a / c
    text = "\n".join([
        f"### audit --all, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} "
        f"(CPython {platform.python_version()}, {os.cpu_count()} CPUs, load "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})", "",
        f"Data: make_clinic.py {' '.join(CLINIC_ARGS)} --last-month {MONTH}; {packets} packets; {runs} runs each, "
        "alternating.", "",
        "| command | median s | min s | max s |", "|---|---|---|---|",
        f"| `ccm audit --all --month {MONTH} -o DIR` | {a:.3f} | {min(audits):.3f} | {max(audits):.3f} |",
        f"| `ccm check --month {MONTH} --format json` | {c:.3f} | {min(checks):.3f} | {max(checks):.3f} |",
        f"| **ratio** | **{ratio:.2f}** | target <= {TARGET:g} | {'meets' if ratio <= TARGET else 'MISSES'} |",
        "",
    ])  # fmt: skip
    print(text)
    with RESULTS.open("a") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
