"""`ccm export`: the month's billing CSV, recorded in exports/ so no line is billed twice."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from ccmcli.cli.app import DataDirOpt, QuietOpt, app, data_dir, err

ExportMonthOpt = Annotated[
    str | None,
    typer.Option("--month", "-m", help="YYYY-MM [default: the last finished month at the practice].", show_default=False),
]  # fmt: skip


@app.command()
def export(
    ctx: typer.Context,
    month: ExportMonthOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the CSV to FILE (atomically, mode 0600) instead of stdout.", metavar="FILE")] = None,
    allow_open_month: Annotated[bool, typer.Option("--allow-open-month", help="Export a month that has not ended yet.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Export even when the month's files have errors (rows with errors count toward nothing); exits 1.")] = False,
    reprint: Annotated[bool, typer.Option("--reprint", help="Write every line already exported for the month; record nothing.")] = False,
    data: DataDirOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Write the month's billable claim lines as CSV, only units never exported before.

    Each exported line is recorded in exports/YYYY-MM.csv. A patient-month stays on the track it
    was first exported on; units exported before but no longer supported are reported as needing
    a corrected claim (exit 1). With nothing new, a header-only CSV is written.
    """
    from ccmcli.actions import export as core
    from ccmcli.store.datadir import refuse_output_inside

    d = data_dir(ctx, data)
    if output is not None:
        refuse_output_inside(d, output)
    write = _writer(output)
    if reprint:
        outcome = core.reprint_month(d, month, write)
    else:
        outcome = core.export_month(d, month, write, allow_open=allow_open_month, force=force)
    for p in outcome.forced:
        err(p.render())
    if outcome.forced:
        err(
            f"warning: exported despite {len(outcome.forced)} errors in the month's files (--force)"
        )
    for c in outcome.plan.corrections:
        err(c.message())
    if not quiet:
        for note in outcome.notes:
            err(note)
        err(outcome.summary())
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def _writer(output: Path | None):
    """Stdout, flushed before the ledger records anything; or the -o file, written atomically."""
    if output is None:

        def to_stdout(text: str) -> None:
            sys.stdout.write(text)
            sys.stdout.flush()

        return to_stdout

    def to_file(text: str) -> None:
        from ccmcli.models.errors import CcmError
        from ccmcli.store.fileio import atomic_write

        try:
            atomic_write(output, text)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise CcmError(f"cannot write {output}: {reason}; nothing was recorded") from None

    return to_file
