"""`ccm compare`: ccm, pcm and apcm side by side on the practice's own data (contract 12)."""

from typing import Annotated

import typer

from ccmcli.cli.app import (
    DataDirOpt,
    Format,
    FormatOpt,
    QuietOpt,
    WideOpt,
    app,
    data_dir,
    fmt,
)

CompareMonthOpt = Annotated[
    str | None,
    typer.Option("--month", "-m", help="YYYY-MM, the newest month compared [default: the last finished month at the practice].", show_default=False),
]  # fmt: skip


@app.command()
def compare(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...", help="Only these patients.")] = None,
    month: CompareMonthOpt = None,
    months: Annotated[int, typer.Option("--months", "-n", help="How many months, ending with --month.")] = 1,
    data: DataDirOpt = None,
    format: FormatOpt = None,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
) -> None:  # fmt: skip
    """What ccm, pcm and apcm would each pay on the same records and entries, per patient and in
    total; the best program per patient is marked with *."""
    from ccmcli.cli.output import print_csv, print_json, report_problems
    from ccmcli.reports import compare as core

    result = core.run_compare(data_dir(ctx, data), month, months, ids)
    f = fmt(format)
    if f is Format.json:
        print_json(result.as_dict())
    elif f is Format.csv:
        from ccmcli.store.csv_safe import defuse

        rows = [[defuse("" if v is None else str(v)) for v in row] for row in core.csv_rows(result)]
        print_csv(core.CSV_COLUMNS, rows)
    elif not quiet:
        _table(result, wide)
    report_problems(result.problems, quiet)  # as every reading command: exit 1 on an error


def _table(result, wide: bool = False) -> None:
    from ccmcli.cli.output import print_table
    from ccmcli.reports.compare import PROGRAMS

    rows = []
    for p in result.patients:
        best = p.best
        cells = [p.patient_id, p.name, p.enrolled]
        for program in PROGRAMS:
            t = p.programs.get(program)
            cells.append("-" if t is None else f"{t.amount:.2f}{' *' if program == best else ''}")
        blocked = [f"{prog}: {' '.join(sorted(t.blockers))}"
                   for prog, t in p.programs.items() if t.blockers]  # fmt: skip
        rows.append([*cells, "; ".join(blocked)])
    totals = result.totals()
    rows.append(["total", f"{len(result.patients)} patients",
                 f"{result.enrolled_total():.2f}",
                 *(f"{totals[p]:.2f}" for p in PROGRAMS), ""])  # fmt: skip
    first, last = result.months[0], result.months[-1]
    span = str(last) if first == last else f"{first} to {last}, {len(result.months)} months"
    print_table(["patient", "name", "enrolled", "ccm", "pcm", "apcm", "blocked by"], rows,
                title=f"compare {span} (* pays most)", keep=("patient", "enrolled"),
                wide=wide)  # fmt: skip
