"""`ccm start`, `ccm stop`, `ccm status` and `ccm cancel`: a running timer per staff member."""

from typing import Annotated

import typer

from ccmcli.cli.app import (
    BomOpt,
    DataDirOpt,
    Format,
    FormatOpt,
    OutputOpt,
    QuietOpt,
    RowFormatOpt,
    ViewFormatOpt,
    app,
    data_dir,
    err,
    fmt,
)
from ccmcli.cli.completion import activities, patient_ids, services
from ccmcli.cli.log_commands import ACTIVITY_HELP, RoleOpt, StaffOpt, report_recorded
from ccmcli.cli.output import destination, emit, practice_heading, print_csv, print_json

ActingStaffOpt = Annotated[
    str | None,
    typer.Option("--staff", help="Whose timer [default: $CCM_STAFF, else the login name].", show_default=False),
]  # fmt: skip


@app.command()
def start(
    ctx: typer.Context,
    patient_id: Annotated[str, typer.Argument(metavar="PATIENT", help="Patient id.", autocompletion=patient_ids)],
    activity: Annotated[str, typer.Option("--activity", "-a", help=ACTIVITY_HELP, autocompletion=activities)] = "",
    role: RoleOpt = None,
    staff: StaffOpt = None,
    service: Annotated[str, typer.Option("--service", help="Time of another service: bhi, rpm, rtm, tcm, cocm or other [default: the patient's program].", show_default=False, autocompletion=services)] = "",
    data: DataDirOpt = None,
    format: ViewFormatOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Start a timer on a patient; `ccm stop` turns it into a log entry."""
    from ccmcli.actions.timers import StartRequest, start_timer

    timer = start_timer(
        data_dir(ctx, data), StartRequest(patient_id, activity, role, staff, service)
    )
    if fmt(format) is Format.json:
        print_json({"schema": "ccm.start/1", "staff": timer.staff, "patient_id": timer.patient_id,
                    "started": timer.started.isoformat(timespec="seconds"), "role": timer.role,
                    "activity": timer.activity, "service": timer.service or None})  # fmt: skip
    elif not quiet:
        err(f"timer started for {timer.patient_id} at {timer.started:%H:%M} ({timer.staff})")


@app.command()
def stop(
    ctx: typer.Context,
    note: Annotated[str, typer.Option("--note", "-n", help="Free text, one line.")] = "",
    at: Annotated[str | None, typer.Option("--at", help="End the timer at this local time, HH:MM (a forgotten timer).", show_default=False)] = None,
    staff: ActingStaffOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Log even though the patient's file changed since the start.")] = False,
    data: DataDirOpt = None,
    format: RowFormatOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Stop your timer and log its whole minutes (one entry per day); print what `ccm log` prints."""
    from ccmcli.actions.timer_stop import StopRequest, stop_timer

    stopped = stop_timer(data_dir(ctx, data), StopRequest(note, at, staff, force))
    if stopped.resumed and not quiet:
        err("warning: finishing a stop that was interrupted; it ends as it was decided then")
    f = fmt(format)
    if not stopped.recorded:
        if not quiet:
            err(f"under a minute ({max(stopped.seconds, 0)} s): nothing logged; "
                "the timer is cleared")  # fmt: skip
        if f is Format.json:
            print_json({"schema": "ccm.stop/1", "entries": []})
        return
    if f is Format.json:
        print_json({"schema": "ccm.stop/1", "entries": [r.as_dict() for r in stopped.recorded]})
    elif f is Format.csv:
        from ccmcli.store.logappend import cells
        from ccmcli.store.timelog import COLUMNS

        print_csv(COLUMNS, [cells(r.entry) for r in stopped.recorded])
    else:
        for r in stopped.recorded:
            report_recorded(r, f, quiet, r.entry.id)


@app.command()
def status(
    ctx: typer.Context,
    data: DataDirOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    bom: BomOpt = False,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """List running timers with their elapsed minutes."""
    from ccmcli.actions.timers import running_timers

    f = fmt(format, output)
    d = data_dir(ctx, data)
    dest = destination(ctx, f, output, d, bom=bom, quiet=quiet, sheet="timers")
    running = running_timers(d)
    if not quiet:
        for r in running:
            if r.interrupted:
                err(f"warning: {r.staff}'s timer was stopped but not all its entries are "
                    f"logged; `ccm stop --staff {r.staff}` finishes it")  # fmt: skip
    header = ["staff", "patient_id", "started", "elapsed_minutes", "activity"]
    if f is not Format.table:
        if f is Format.xlsx:
            dest.heading = practice_heading(d)
        emit(f, json_obj=[r.as_dict() for r in running], header=header,
             rows=[list(r.as_dict().values()) for r in running], dest=dest)  # fmt: skip
        return
    if quiet:
        return
    if not running:
        err("no timers running")
        return
    rows = [[r.staff, r.patient_id, f"{r.started:%Y-%m-%d %H:%M}", r.elapsed_minutes, r.activity]
            for r in running]  # fmt: skip
    from ccmcli.cli.output import print_table

    words = ["staff", "patient", "started", "minutes", "activity"]  # the words of every table
    print_table(words, rows, title="running timers", keep=("staff", "patient", "started"))


@app.command()
def cancel(
    ctx: typer.Context,
    staff: ActingStaffOpt = None,
    data: DataDirOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Discard your running timer without logging anything."""
    from ccmcli.actions.timers import cancel_timer

    timer = cancel_timer(data_dir(ctx, data), staff)
    if not quiet:
        err(f"timer for {timer.patient_id} discarded ({timer.staff}); nothing logged")
