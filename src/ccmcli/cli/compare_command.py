"""`ccm compare`: ccm, pcm and apcm side by side on the practice's own data (contract 12)."""

from typing import Annotated

import typer

from ccmcli.cli.app import (
    BomOpt,
    DataDirOpt,
    Format,
    FormatOpt,
    OutputOpt,
    QuietOpt,
    WideOpt,
    app,
    data_dir,
    fmt,
)
from ccmcli.cli.completion import log_months

CompareMonthOpt = Annotated[
    str | None,
    typer.Option("--month", "-m", help="YYYY-MM, the newest month compared [default: the last finished month at the practice].", show_default=False, autocompletion=log_months),
]  # fmt: skip


@app.command()
def compare(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...", help="Only these patients.")] = None,
    month: CompareMonthOpt = None,
    months: Annotated[int, typer.Option("--months", "-n", help="How many months, ending with --month.")] = 1,
    data: DataDirOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    bom: BomOpt = False,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
) -> None:  # fmt: skip
    """What ccm, pcm and apcm would each pay on the same records and entries, per patient and in
    total; the best program per patient is marked with *."""
    from ccmcli.cli.output import destination, emit, practice_heading, report_problems
    from ccmcli.reports import compare as core

    f = fmt(format, output)
    d = data_dir(ctx, data)
    dest = destination(ctx, f, output, d, bom=bom, quiet=quiet, sheet="compare")
    result = core.run_compare(d, month, months, ids)
    if f is Format.table:
        if not quiet:
            _table(result, wide)
    else:
        if f is Format.xlsx:
            first, last = result.months[0], result.months[-1]
            dest.heading = practice_heading(d, first if first == last else f"{first} to {last}")
        emit(f, json_obj=result.as_dict(), header=core.CSV_COLUMNS, rows=core.csv_rows(result),
             dest=dest)  # fmt: skip
    report_problems(result.problems, quiet)


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
                title=f"compare {span} (* pays most)", spec=_spec(), wide=wide)  # fmt: skip


def _spec():
    """What gives way on a narrow terminal: the blockers (`--wide` shows them), then names are
    shortened; the amounts of every program stay, they are what the table compares."""
    from ccmcli.cli.tables import SHORTEN_TEXT, Column, Drop, TableSpec

    money = [Column(p, justify="left") for p in ("ccm", "pcm", "apcm")]
    return TableSpec((Column("patient"), Column("name", kind="text"), Column("enrolled"), *money,
                      Column("blocked by", kind="wrap")), (Drop("blocked by"), SHORTEN_TEXT))  # fmt: skip
