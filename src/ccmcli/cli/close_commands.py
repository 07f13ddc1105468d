"""`ccm close`, `ccm close --verify` and `ccm reopen`: a billed month cannot change silently."""

from typing import Annotated

import typer

from ccmcli.cli.app import DataDirOpt, Format, QuietOpt, ViewFormatOpt, app, data_dir, err, fmt
from ccmcli.cli.output import print_json

MonthArg = Annotated[str, typer.Argument(metavar="MONTH", help="YYYY-MM.")]


@app.command()
def close(
    ctx: typer.Context,
    month: MonthArg,
    verify: Annotated[bool, typer.Option("--verify", help="Judge the closed month again and list every difference from its record (exit 1 when any).")] = False,
    data: DataDirOpt = None,
    format: ViewFormatOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Record a finished month's judgement in closed/MONTH.json; later entries in it are refused.

    With --verify, compare the month as the files are now with its last close record.
    """
    from ccmcli.actions import month_close

    d = data_dir(ctx, data)
    if verify:
        _verify(month_close.verify_month(d, month), format, quiet)
        return
    written = month_close.close_month(d, month)
    r = written.record
    if fmt(format) is Format.json:
        print_json({"schema": "ccm.close/1", "month": r["month"], "record": written.file,
                    "sha256": r["sha256"], "closed_by": r["by"], "closed_at": r["at"],
                    "summary": r["summary"]})  # fmt: skip
    elif not quiet:
        s = r["summary"]
        typer.echo(f"closed {r['month']}: {s['billable']} of {s['patients']} patients billable, "
                   f"{s['amount']:.2f}; {written.file}")  # fmt: skip
        typer.echo(f"sha256 {r['sha256']} (keep it outside the data directory as proof)")


def _verify(result, format, quiet: bool) -> None:
    """The differences are the data asked for: on stdout, with -q too; the verdict on stderr."""
    if fmt(format) is Format.json:
        print_json(result.as_dict())
    else:
        for p in result.history.problems:
            typer.echo(p.render())
        for d in result.differences:
            typer.echo(d.message())
    if result.ok:
        if not quiet:
            err(f"{result.month} matches its close record ({result.record_file})")
        return
    n = len(result.differences) + len(result.history.problems)
    if not quiet:
        err(f"{result.month} differs from its close record in {n} way{'s' * (n != 1)}; "
            f"to change a closed month: `ccm reopen {result.month} --reason TEXT`, then close "
            "again")  # fmt: skip
    raise typer.Exit(1)


@app.command()
def reopen(
    ctx: typer.Context,
    month: MonthArg,
    reason: Annotated[str, typer.Option("--reason", help="Why the month is reopened (required; kept on record).")] = ...,
    data: DataDirOpt = None,
    format: ViewFormatOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Reopen a closed month so it can change; who, when and why are recorded."""
    from ccmcli.actions import month_close

    written = month_close.reopen_month(data_dir(ctx, data), month, reason)
    r = written.record
    if fmt(format) is Format.json:
        print_json({"schema": "ccm.reopen/1", "month": r["month"], "record": written.file,
                    "sha256": r["sha256"], "reopened_by": r["by"], "reopened_at": r["at"],
                    "reason": r["reason"]})  # fmt: skip
    elif not quiet:
        typer.echo(f"reopened {written.record['month']}: {written.file}")
