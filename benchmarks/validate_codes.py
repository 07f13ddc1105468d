#!/usr/bin/env python3
"""What the ICD-10-CM code checks add to `ccm validate` on a 2,000-patient practice.

Target (issue 6): with a warm index, `ccm validate` takes at most 1.5x the time of
`ccm validate --no-code-check` on the same data.

    python3 benchmarks/validate_codes.py [--shared ../shared] [--runs 5] [--rebuild]

The practice (2,000 patients, 12 months of 20,000 entries) is built once with the shared
`make_clinic.py` and kept under benchmarks/data/ (git-ignored). Both commands run as separate
processes, alternating, so that caches and machine load touch both alike; the medians, their
ratio and an in-process breakdown of the code check are printed as a markdown table and appended
to benchmarks/validate_codes.md.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "validate-2000x12"
RESULTS = ROOT / "benchmarks" / "validate_codes.md"
CLINIC_ARGS = ["--patients", "2000", "--months", "12", "--entries-per-month", "20000"]
TARGET = 1.5


def build(shared: Path, out: Path, rebuild: bool) -> None:
    """Write the practice once; a half-written one (interrupted run) is never reused."""
    if out.is_dir() and not rebuild:
        return
    script = shared / "bench" / "make_clinic.py"
    if not script.is_file():
        sys.exit(f"cannot find {script}; pass --shared PATH (the folder holding bench/)")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run([sys.executable, str(script), str(tmp), *CLINIC_ARGS], check=True)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def ccm() -> list[str]:
    found = shutil.which("ccm")
    return [found] if found else [sys.executable, "-m", "ccmcli"]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1) or "warning: condition codes not checked" in done.stderr:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[:500]}")
    return elapsed


def in_process(out: Path) -> dict[str, float]:
    """The code check's own parts, timed inside one process after the files are read."""
    from ccmcli.store import condition_codes, record_files
    from ccmcli.store.datadir import DataDir

    data = DataDir(out)
    patients = record_files.load_patients(data).patients.values()
    t0 = time.perf_counter()
    checker, note = condition_codes.load_checker()
    t1 = time.perf_counter()
    if checker is None:
        sys.exit(note)
    problems = condition_codes.data_dir_problems(data, patients, checker)
    t2 = time.perf_counter()
    return {"load index": t1 - t0, f"check {len(patients)} patients": t2 - t1,
            "problems found": len(problems)}  # fmt: skip


def table(with_codes: list[float], without: list[float], parts: dict) -> str:
    a, b = statistics.median(with_codes), statistics.median(without)
    ratio = a / b
    verdict = "meets" if ratio <= TARGET else "MISSES"
    rows = [
        f"### validate with ICD-10-CM checks, {datetime.now():%Y-%m-%d %H:%M} "
        f"({platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs)",
        "",
        f"Data: make_clinic.py {' '.join(CLINIC_ARGS)}; {len(with_codes)} runs each, alternating.",
        "",
        "| command | median s | min s | max s |",
        "|---|---|---|---|",
        f"| `ccm validate` | {a:.3f} | {min(with_codes):.3f} | {max(with_codes):.3f} |",
        f"| `ccm validate --no-code-check` | {b:.3f} | {min(without):.3f} | {max(without):.3f} |",
        f"| **ratio** | **{ratio:.3f}** | target <= {TARGET} | {verdict} |",
        "",
        "In-process parts of the code check: "
        + ", ".join(
            f"{k} {v * 1000:.1f} ms" if isinstance(v, float) else f"{k} {v}"
            for k, v in parts.items()
        ),
        "",
    ]
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the practice")
    ap.add_argument("--no-append", action="store_true", help="print only")
    a = ap.parse_args()
    build(a.shared, DATA, a.rebuild)
    base = [*ccm(), "-d", str(DATA), "validate"]
    timed(base)  # warms the ICD-10-CM index (built on first use) and the page cache
    timed([*base, "--no-code-check"])
    with_codes, without = [], []
    for i in range(a.runs):
        pair = [(with_codes, base), (without, [*base, "--no-code-check"])]
        for times, cmd in pair if i % 2 == 0 else reversed(pair):
            times.append(timed(cmd))
    text = table(with_codes, without, in_process(DATA))
    print(text)
    if not a.no_append:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
