"""`ccm check`, `explain`, `worklist`, `validate` and `rules`."""

from typing import Annotated

import typer

from ccmcli.cli.app import (
    BomOpt,
    DataDirOpt,
    Format,
    FormatOpt,
    MonthOpt,
    OutputOpt,
    QuietOpt,
    ViewFormatOpt,
    WideOpt,
    app,
    data_dir,
    err,
    fmt,
)
from ccmcli.cli.completion import STATUSES, patient_ids, statuses
from ccmcli.cli.output import (
    delivered,
    destination,
    emit,
    practice_heading,
    print_json,
    report_problems,
)

CHECK_CSV = ["patient_id", "name", "program", "status", "clinical_staff_minutes",
             "practitioner_minutes", "codes", "date_of_service", "amount", "minutes_needed",
             "blockers", "services", "total_amount", "patient_share", "next_codes",
             "next_role",
             # after the contract's columns: the warnings, and the bill without doubted minutes
             "warnings", "codes_without_doubted_minutes"]  # fmt: skip


@app.command()
def check(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...", help="Only these patients.", autocompletion=patient_ids)] = None,
    month: MonthOpt = None,
    status: Annotated[str | None, typer.Option("--status", "-s", help="Only patients with this status: billable, blocked, below_threshold, no_time, error.", autocompletion=statuses)] = None,
    data: DataDirOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    bom: BomOpt = False,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
) -> None:  # fmt: skip
    """Judge each patient's month: billable codes and units, blockers, minutes still needed."""
    from ccmcli.reports import check_views

    status = status.strip().lower() if status else status  # choices in any case
    if status and status not in STATUSES:
        raise typer.BadParameter(f"must be one of {', '.join(STATUSES)}", param_hint="--status")
    from ccmcli.cli.output import progress_step

    bar = None if quiet else (lambda n: progress_step(n, "judging patients", least=2000))
    f = fmt(format, output)
    d = data_dir(ctx, data)
    dest = destination(ctx, f, output, d, bom=bom, quiet=quiet, sheet="check")
    report = check_views.run_check(d, month, ids, status, bar, f is Format.json)
    if f is Format.json:
        with delivered(dest):
            print_json(report.as_dict(lazy=True))
    elif f is Format.table:
        if not quiet:
            from ccmcli.cli.table_views import check_table

            check_table(report, wide)
    else:
        dest.heading = practice_heading(d, report.month)
        emit(f, json_obj=None, header=CHECK_CSV, rows=check_views.check_csv_rows(report),
             dest=dest)  # fmt: skip
    if report.rules_note and not quiet:
        err(f"note: {report.rules_note}")
    for pid in report.not_enrolled if not quiet else ():
        err(f"note: {pid}: not enrolled in {report.month} (ccm-rules A17)")
    report_problems(report.problems, quiet=quiet or f is Format.json)


@app.command()
def explain(
    ctx: typer.Context,
    patient_id: Annotated[str, typer.Argument(metavar="ID", autocompletion=patient_ids)],
    month: MonthOpt = None,
    data: DataDirOpt = None,
    format: ViewFormatOpt = None,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
) -> None:
    """Show every rule applied to one patient's month and every entry, counted or not."""
    from ccmcli.reports import check_views

    ex = check_views.run_explain(data_dir(ctx, data), patient_id, month)
    if fmt(format) is Format.json:
        print_json(ex.as_dict())
    elif not quiet:
        from ccmcli.cli.text_views import explain_view

        explain_view(ex, wide)
    report_problems(ex.problems, quiet=True)


@app.command()
def worklist(
    ctx: typer.Context,
    month: MonthOpt = None,
    data: DataDirOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    bom: BomOpt = False,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
) -> None:  # fmt: skip
    """Patients who can still reach a further code this month: fewest minutes needed first."""
    from ccmcli.reports import check_views

    f = fmt(format, output)
    d = data_dir(ctx, data)
    dest = destination(ctx, f, output, d, bom=bom, quiet=quiet, sheet="worklist")
    wl = check_views.run_worklist(d, month)
    if f is Format.table:
        if not quiet:
            from ccmcli.cli.table_views import worklist_table

            worklist_table(wl, wide)
    else:
        if f is Format.xlsx:
            dest.heading = practice_heading(d, wl.month)
        emit(f, json_obj=wl.as_dict(), header=check_views.WORKLIST_CSV, rows=wl.rows(),
             dest=dest)  # fmt: skip
    report_problems(wl.problems, quiet=True)


@app.command()
def validate(
    ctx: typer.Context,
    data: DataDirOpt = None,
    format: ViewFormatOpt = None,
    quiet: QuietOpt = False,
    no_code_check: Annotated[bool, typer.Option("--no-code-check", help="Do not check condition codes against the ICD-10-CM code set.")] = False,
) -> None:  # fmt: skip
    """Check every file; print each problem as FILE:LINE: error: MESSAGE. Silent when clean.

    With -q only the errors are printed (warnings are not)."""
    from ccmcli.reports.validate import validate as run

    practice = run(data_dir(ctx, data), code_check=not no_code_check)
    if not quiet:
        for note in practice.notes:
            err(f"ccm: warning: {note}")
    problems = practice.problems
    if fmt(format) is Format.json:
        print_json({"schema": "ccm.validate/1", "problems": [p.as_dict() for p in problems],
                    "summary": {"errors": sum(p.severity == "error" for p in problems),
                                "warnings": sum(p.severity == "warning" for p in problems)}})  # fmt: skip
    else:
        for p in problems:
            if not quiet or p.severity == "error":
                typer.echo(p.render())
    if any(p.severity == "error" for p in problems):
        raise typer.Exit(1)


@app.command()
def rules(
    ctx: typer.Context,
    code: Annotated[str | None, typer.Argument(metavar="[CODE]", help="One code, explained in plain words (e.g. 99491, G0557).", show_default=False)] = None,
    year: Annotated[int | None, typer.Option("--year", "-y", help="Service year [default: this year at the practice].")] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    bom: BomOpt = False,
    data: DataDirOpt = None,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
) -> None:  # fmt: skip
    """Print the codes, thresholds, caps and amounts in force; with CODE, a page on that code
    (table or json only)."""
    from ccmcli.reports.rules_view import ROWS_HEADER, rules_dict, rules_rows

    f = fmt(format, output)
    if code is not None:
        if f not in (Format.table, Format.json) or output is not None or bom:
            raise typer.BadParameter("a page on one code is a table or json, on stdout",
                                     param_hint="--format")  # fmt: skip
        _code_page(code, year or _practice_year(ctx, data), f, wide, quiet)
        return
    found = _found_data_dir(ctx, data)  # the rules need none; -o stays outside one there is
    dest = destination(ctx, f, output, found, bom=bom, quiet=quiet, sheet="rules")
    view = rules_dict(year or _practice_year(ctx, data))
    if f is Format.table:
        if not quiet:
            from ccmcli.cli.table_views import rules_tables

            rules_tables(view, wide)
    else:
        if f is Format.xlsx:
            practice = practice_heading(found) if found is not None else []
            dest.heading = [*practice, f"rules {view['year']}", view["source"]]
        emit(f, json_obj=view, header=ROWS_HEADER, rows=rules_rows(view), dest=dest)


def _code_page(code: str, year: int | None, f: Format, wide: bool, quiet: bool) -> None:
    from ccmcli.cli.output import table_width
    from ccmcli.cli.tables import wrap
    from ccmcli.models.months import now
    from ccmcli.reports.code_page import code_page, page_lines

    page = code_page(code, year or now().year)
    if f is Format.json:
        print_json({"schema": "ccm.rules_code/1", **page})
        return
    if quiet:
        return
    width = table_width(wide)
    for line in page_lines(page):  # prose folds at spaces; codes and amounts stay whole
        for part in wrap(line, width, "    " if line.startswith("  ") else "  "):
            typer.echo(part)


def _found_data_dir(ctx: typer.Context, data):
    """The data directory when there is one; None where ccm runs outside any."""
    from ccmcli.models.errors import CcmError

    try:
        return data_dir(ctx, data)
    except CcmError:
        return None


def _practice_year(ctx: typer.Context, data) -> int | None:
    """This year at the practice when a data directory is found; else None (the host's year)."""
    from ccmcli.models.errors import CcmError

    try:
        from ccmcli.loader import load
        from ccmcli.models.months import today_in

        return today_in(load(data_dir(ctx, data), patient_ids=()).settings.timezone).year
    except CcmError:
        return None
