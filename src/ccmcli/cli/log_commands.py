"""`ccm log`, `ccm void` and `ccm entries`: recording time and seeing what was recorded."""

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
    RowFormatOpt,
    WideOpt,
    app,
    data_dir,
    err,
    fmt,
)
from ccmcli.cli.completion import activities, entry_ids, patient_ids, roles, services
from ccmcli.cli.output import (
    destination,
    emit,
    practice_heading,
    print_csv,
    print_json,
    report_problems,
)

ACTIVITY_HELP = (
    "What kind of work (free text), e.g. care_coordination, medication_management, care_plan, "
    "patient_communication, education, referral, lab_review."
)
StaffOpt = Annotated[
    str | None,
    typer.Option("--staff", help="Who did the work [default: $CCM_STAFF, else the login name].", show_default=False),
]  # fmt: skip
RoleOpt = Annotated[
    str | None,
    typer.Option("--role", help="clinical_staff or practitioner [default: $CCM_ROLE, else clinical_staff].", show_default=False, autocompletion=roles),
]  # fmt: skip


def report_recorded(recorded, format, quiet: bool, first_line: str) -> None:
    """Warnings to stderr; the new row's id, then the month-to-date status, to stdout. With -q
    the table is the id alone and no warning is printed (contract 2)."""
    from ccmcli.reports.wording import status_line
    from ccmcli.store.timelog import SERVICE_COLUMNS

    if not quiet:
        for w in recorded.warnings:
            err(f"warning: {w}")
    f = fmt(format)
    if f is Format.json:
        print_json(recorded.as_dict())
    elif f is Format.csv:
        from ccmcli.store.logappend import cells

        print_csv(SERVICE_COLUMNS[: recorded.columns], [cells(recorded.entry, recorded.columns)])
    elif quiet:
        typer.echo(recorded.entry.id)
    else:
        typer.echo(first_line)
        if recorded.judgement is not None:
            from ccmcli.reports.wording import service_status_line

            tagged = (recorded.voided or recorded.entry).service
            typer.echo(service_status_line(recorded.judgement, tagged) if tagged
                       else status_line(recorded.judgement))  # fmt: skip


@app.command()
def log(
    ctx: typer.Context,
    patient_id: Annotated[str, typer.Argument(metavar="PATIENT", help="Patient id.", autocompletion=patient_ids)],
    minutes: Annotated[str | None, typer.Argument(metavar="MINUTES", help="Whole minutes, 1-720 (may be left out when --start and --end are given).", show_default=False)] = None,
    date: Annotated[str | None, typer.Option("--date", help="Service date: today, yesterday, YYYY-MM-DD, 3/4, 'Mar 4' [default: today at the practice].", show_default=False)] = None,
    start: Annotated[str | None, typer.Option("--start", help="Start time, HH:MM local.", show_default=False)] = None,
    end: Annotated[str | None, typer.Option("--end", help="End time, HH:MM local.", show_default=False)] = None,
    role: RoleOpt = None,
    staff: StaffOpt = None,
    activity: Annotated[str, typer.Option("--activity", "-a", help=ACTIVITY_HELP, autocompletion=activities)] = "",
    note: Annotated[str, typer.Option("--note", "-n", help="Free text, one line.")] = "",
    service: Annotated[str | None, typer.Option("--service", help="Time of another service, which counts toward nothing here: bhi, rpm, rtm, tcm, cocm, other [default: the patient's program].", show_default=False, autocompletion=services)] = None,
    data: DataDirOpt = None,
    format: RowFormatOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Append one time entry; print its id and the patient's month-to-date minutes and status."""
    from ccmcli.actions.recording import LogRequest, log_time

    req = LogRequest(
        patient_id, minutes, date, start, end, role, staff, activity, note, service=service
    )
    recorded = log_time(data_dir(ctx, data), req)
    report_recorded(recorded, format, quiet, recorded.entry.id)


@app.command()
def void(
    ctx: typer.Context,
    entry_id: Annotated[str, typer.Argument(metavar="ENTRY_ID", help="Id of the entry to cancel.", autocompletion=entry_ids)],
    reason: Annotated[str, typer.Option("--reason", help="Why the entry is voided (required).")] = ...,
    staff: StaffOpt = None,
    role: Annotated[str | None, typer.Option("--role", help="Role of who voids [default: $CCM_ROLE, else the entry's role].", show_default=False, autocompletion=roles)] = None,
    data: DataDirOpt = None,
    format: RowFormatOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Append a void row that cancels an entry (logs are never edited)."""
    from ccmcli.actions.recording import void_entry

    recorded = void_entry(data_dir(ctx, data), entry_id, reason, staff, role)
    report_recorded(recorded, format, quiet, f"voided {entry_id}: void row {recorded.entry.id}")


@app.command()
def entries(
    ctx: typer.Context,
    month: MonthOpt = None,
    patient: Annotated[str | None, typer.Option("--patient", "-p", help="Only this patient's entries.", show_default=False)] = None,
    data: DataDirOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    bom: BomOpt = False,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
) -> None:  # fmt: skip
    """List a month's entries and void rows; voided entries name the row that voided them."""
    from ccmcli.actions.entries import LIST_COLUMNS, list_entries

    f = fmt(format, output)
    d = data_dir(ctx, data)
    dest = destination(ctx, f, output, d, bom=bom, quiet=quiet, sheet="entries")
    listing = list_entries(d, month, patient)
    if f is Format.table and not quiet:
        from ccmcli.cli.table_views import entries_table

        entries_table(listing, wide, patient)
    elif f is not Format.table:
        if f is Format.xlsx:
            dest.heading = practice_heading(d, listing.month)
        emit(f, json_obj=listing.as_dict(), header=list(LIST_COLUMNS), rows=listing.rows(),
             dest=dest)  # fmt: skip
    report_problems(listing.problems, quiet)
