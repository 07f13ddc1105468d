"""`ccm export`: the month's billing CSV, recorded in exports/ so no line is billed twice."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ccmcli.cli.completion import log_months

if TYPE_CHECKING:
    from ccmcli.reports.json_shapes import ClaimLine

from ccmcli.cli.app import BomOpt, DataDirOpt, Format, QuietOpt, app, data_dir, err, fmt

ExportMonthOpt = Annotated[
    str | None,
    typer.Option("--month", "-m", help="YYYY-MM [default: the last finished month at the practice].", show_default=False, autocompletion=log_months),
]  # fmt: skip


@app.command()
def export(
    ctx: typer.Context,
    month: ExportMonthOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the claims to FILE (atomically, mode 0600) instead of stdout; xlsx needs it.", metavar="FILE")] = None,
    allow_open_month: Annotated[bool, typer.Option("--allow-open-month", help="Export a month that has not ended yet.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Export even when the month's files have errors (rows with errors count toward nothing); exits 1.")] = False,
    reprint: Annotated[bool, typer.Option("--reprint", help="Write every claim already exported for the month, corrections applied; record nothing.")] = False,
    corrections: Annotated[bool, typer.Option("--corrections", help="Write the corrected claims of the patient-months exported before whose claim the data no longer gives (columns frequency and replaces), and record them.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be written (to stdout, whatever -o says); record nothing.")] = False,
    format: Annotated[Format | None, typer.Option("--format", "-f", help="csv (the claims file), json, xlsx (needs -o FILE.xlsx) or a table; the ledger in exports/ stays CSV [default: csv].", show_default=False, case_sensitive=False)] = None,
    bom: BomOpt = False,
    data: DataDirOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Write the month's claims as CSV: those of patient-months never exported before.

    Each exported line is recorded in exports/YYYY-MM.csv. One claim per patient-month: one
    exported before is never written again, and when the data no longer gives its claim (units,
    codes, date of service, diagnoses, NPI, place of service) it is reported as needing a
    corrected claim (exit 1), which --corrections writes. With nothing new, -o FILE is left as
    it was.
    """
    from ccmcli.actions import export as core
    from ccmcli.models.errors import CcmError
    from ccmcli.store.datadir import refuse_output_inside

    d = data_dir(ctx, data)
    if output is not None:
        refuse_output_inside(d, output)
    if reprint and (corrections or dry_run):
        raise CcmError("--reprint records nothing already; it takes neither --corrections nor "
                       "--dry-run", 2)  # fmt: skip
    f = format or fmt(None, None if dry_run else output, Format.csv)
    if dry_run and f is Format.xlsx:
        raise typer.BadParameter("--dry-run prints to stdout: csv, json or a table",
                                 param_hint="--format")  # fmt: skip
    if f is Format.csv:
        write = _writer(None if dry_run else output, bom)
    else:
        from ccmcli.cli.output import destination

        dest = destination(ctx, f, None if dry_run else output, None, bom=bom, quiet=quiet,
                           sheet="claims")  # fmt: skip
        write = _listing_writer(f, dest, _heading(d, month))
    if reprint:
        outcome = core.reprint_month(d, month, write, write_empty=output is None)
    else:
        outcome = core.export_month(d, month, write, allow_open=allow_open_month, force=force,
                                    corrections=corrections, dry_run=dry_run,
                                    write_empty=output is None or dry_run)  # fmt: skip
    for p in outcome.forced:
        err(p.render())
    if outcome.forced:
        err(
            f"warning: exported despite {len(outcome.forced)} errors in the month's files (--force)"
        )
    if not corrections:
        for c in outcome.plan.corrections:
            err(c.message())
    if not quiet:
        for note in outcome.notes:
            err(note)
        err(outcome.summary())
        if output is not None and not outcome.lines and not dry_run:
            hint = "" if reprint else ("; `ccm export --reprint -o FILE` writes every claim "
                                       "already exported")  # fmt: skip
            err(f"{output} left as it was{hint}")
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def _writer(output: Path | None, bom: bool = False):
    """Stdout, flushed before the ledger records anything; or the -o file, written atomically.
    `bom`: a UTF-8 byte-order mark first, for Excel."""
    if output is None:

        def to_stdout(text: str) -> None:
            sys.stdout.write(("\ufeff" if bom else "") + text)
            sys.stdout.flush()

        return to_stdout

    def to_file(text: str) -> None:
        text = ("\ufeff" if bom else "") + text
        from ccmcli.models.errors import CcmError
        from ccmcli.store.fileio import atomic_write

        try:
            atomic_write(output, text)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise CcmError(f"cannot write {output}: {reason}; nothing was recorded") from None

    return to_file


def _heading(d, month: str | None) -> list[str]:
    """The xlsx title row: the practice and the month exported (the export's own default)."""
    from ccmcli.loader import load

    practice = load(d, patient_ids=())
    return [practice.settings.practice, str(practice.month(month, default="last_finished"))]


def _listing_writer(f: Format, dest, heading: list[str]):
    """The claim lines export writes as CSV, shown as json, xlsx or a table instead: the same
    rows, read back from that CSV (its formula guard undone: json and xlsx cells are typed)."""

    def write(text: str) -> None:
        import csv
        import io

        from ccmcli.cli.output import Format as F
        from ccmcli.cli.output import delivered, emit, print_json, sys_flush
        from ccmcli.store.csv_safe import undefuse

        header, *rows = list(csv.reader(io.StringIO(text))) or [[]]
        rows = [[undefuse(c) for c in r] for r in rows]
        dest.heading = heading
        if f is F.json:
            with delivered(dest):
                print_json({"schema": "ccm.export/1", "month": heading[1],
                            "lines": [claim_dict(header, r) for r in rows]})  # fmt: skip
        else:
            emit(f, json_obj=None, header=header, rows=rows, dest=dest,
                 title=f"claims {heading[1]}", keep=("patient_id", "code"))  # fmt: skip
        sys_flush()

    return write


def claim_dict(header: list[str], row: list[str]) -> "ClaimLine":
    """One claim line in ccm's JSON words: the patient's name is `name`, units a whole number,
    the charge a number, an empty cell null."""
    out: ClaimLine = {}  # type: ignore[typeddict-item]  (filled from the columns)
    for key, cell in zip(header, row, strict=True):
        key = "name" if key == "patient_name" else key
        if key == "units":
            out[key] = int(cell)
        elif key == "charge":
            out[key] = float(cell)
        else:
            out[key] = cell or None
    return out
