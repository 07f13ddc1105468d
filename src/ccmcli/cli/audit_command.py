"""`ccm audit`: the documentation packet an auditor asks for, per patient-month (contract 9)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from ccmcli.cli.app import DataDirOpt, MonthOpt, QuietOpt, app, data_dir, err
from ccmcli.cli.completion import patient_ids


@app.command()
def audit(
    ctx: typer.Context,
    patient_id: Annotated[str | None, typer.Argument(metavar="ID", help="Patient id (leave out with --all).", show_default=False, autocompletion=patient_ids)] = None,
    month: MonthOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="FILE.html (self-contained) or FILE.md [default: Markdown to stdout]; with --all, a folder.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="One HTML packet per billed patient-month (exported, or billable now) and index.html, into the folder -o names.")] = False,
    data: DataDirOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Write the audit packet for one patient-month: record, entries, codes and why, exports, close."""
    from ccmcli.actions import audit as core

    d = data_dir(ctx, data)
    if output is not None:
        from ccmcli.store.datadir import refuse_output_inside

        refuse_output_inside(d, output)
    if all_:
        if patient_id is not None or output is None:
            raise typer.BadParameter("--all takes no ID and needs -o DIR", param_hint="--all")
        written = core.write_all(d, month, output, _progress if sys.stderr.isatty() else None)
        for pid in written.skipped:
            err(f"warning: {pid}: its file has errors; no packet written (see `ccm validate`)")
        if not quiet:
            err(f"wrote {len(written.files) - 1} packets and index.html for {written.month} "
                f"to {output}")  # fmt: skip
        if written.skipped:
            raise typer.Exit(1)
        return
    if patient_id is None:
        raise typer.BadParameter("give a patient ID, or --all with -o DIR", param_hint="ID")
    kind = "md" if output is None else core.kind_of(output)
    text, which = core.packet_and_month(d, patient_id, month, kind)
    if month is None and not quiet:  # never a month the auditor did not ask for, unsaid
        err(f"audit of {which}, the current month at the practice (--month YYYY-MM for another)")
    if output is None:
        sys.stdout.write(text)
        return
    core.write_file(output, text)
    if not quiet:
        err(f"wrote {output}")


def _progress(total: int):
    """A bar per packet on a terminal: an auditor's request often lists dozens of claims."""
    from ccmcli.cli.output import progress_step

    return progress_step(total, "audit packets") or (lambda: None)
