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
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "audit-225"
RESULTS = ROOT / "benchmarks" / "audit_all.md"
MONTH = "2026-10"
CLINIC_ARGS = ["--patients", "225", "--months", "2", "--entries-per-month", "2250",
               "--last-month", MONTH]  # fmt: skip
TARGET = 10.0


def build(shared: Path, out: Path, rebuild: bool) -> None:
    """Write the clinic once; a half-written one (interrupted run) is never reused."""
    if (out / "ccm.yaml").is_file() and not rebuild:
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
    script = Path(sys.executable).parent / "ccm"
    if script.is_file():
        return [str(script)]
    found = shutil.which("ccm")
    return [found] if found else [sys.executable, "-m", "ccmcli"]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CCM_") and k != "PYTHONDONTWRITEBYTECODE"}  # fmt: skip
    env["CCM_CACHE_DIR"] = str(ROOT / "benchmarks" / "data" / "cache")
    env["NO_COLOR"] = "1"
    return env


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[:500]}")
    return took


def audit_once(env: dict[str, str], scratch: Path, n: int) -> tuple[float, int]:
    out = scratch / f"run{n}"
    took = timed([*ccm(), "-d", str(DATA), "audit", "--all", "--month", MONTH, "-o", str(out)], env)
    packets = len(list(out.glob("*.html"))) - 1  # index.html
    shutil.rmtree(out)
    return took, packets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    build(args.shared.resolve(), DATA, args.rebuild)
    env = environment()
    check = [*ccm(), "-d", str(DATA), "check", "--month", MONTH, "--format", "json"]
    with tempfile.TemporaryDirectory(prefix="ccm-audit-bench-") as tmp:
        scratch = Path(tmp)
        timed(check, env)
        _, packets = audit_once(env, scratch, 0)
        audits, checks = [], []
        for n in range(1, max(args.runs, 5) + 1):
            checks.append(timed(check, env))
            audits.append(audit_once(env, scratch, n)[0])
    write(packets, audits, checks, max(args.runs, 5))


def write(packets: int, audits: list[float], checks: list[float], runs: int) -> None:
    a, c = statistics.median(audits), statistics.median(checks)
    ratio = a / c
    text = "\n".join([
        f"### audit --all, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} "
        f"(CPython {platform.python_version()}, {os.cpu_count()} CPUs, load "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})", "",
        f"Data: make_clinic.py {' '.join(CLINIC_ARGS)}; {packets} packets; {runs} runs each, "
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
