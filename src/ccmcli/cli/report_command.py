"""`ccm report`: the practice report with charts, one self-contained HTML file (contract 10)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from ccmcli.cli.app import DataDirOpt, QuietOpt, app, data_dir, err
from ccmcli.cli.completion import log_months

ReportMonthOpt = Annotated[
    str | None,
    typer.Option("--month", "-m", help="YYYY-MM [default: the last finished month at the practice].", show_default=False, autocompletion=log_months),
]  # fmt: skip


@app.command()
def report(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write (mode 0600; never inside the data directory).", metavar="FILE.html")],
    month: ReportMonthOpt = None,
    months: Annotated[int, typer.Option("--months", "-n", min=0, max=120, help="How many months before MONTH the amount chart shows.")] = 12,
    data: DataDirOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Write the practice report: patients by status and blocker, amounts, minutes per patient
    against the thresholds, amount per month, minutes per staff member, and every patient.

    One HTML file with its charts drawn in: it opens offline, prints, and reads on a phone.
    """
    from ccmcli.reports.practice_report import build_report
    from ccmcli.reports.report_charts import month_charts
    from ccmcli.reports.report_html import report_html
    from ccmcli.store.fileio import atomic_write

    d = data_dir(ctx, data)
    from ccmcli.store.datadir import refuse_output_inside

    refuse_output_inside(d, output)
    drawn: dict = {}
    with _progress(0 if quiet else months + 1) as step:
        practice = build_report(d, month, months, step, lambda r: drawn.update(month_charts(r)))
    page = report_html(practice, drawn)
    try:
        atomic_write(output, page)
    except OSError as exc:
        from ccmcli.models.errors import CcmError

        raise CcmError(f"cannot write {output}: {exc.strerror or type(exc).__name__}") from None
    if not quiet:
        s = practice.summary
        from ccmcli.reports.wording import plural

        err(f"wrote {output}: {practice.month}, {plural(s['patients'], 'patient')}, "
            f"{s['billable']} billable, amount {s['amount']:.2f}" + (
                f", with other services {s['total_amount']:.2f}"
                if s.get("total_amount", s["amount"]) != s["amount"] else ""))  # fmt: skip
        errors = sum(m.errors for m in practice.history[-1:])
        if errors:
            err(f"warning: {plural(errors, 'error')} in {practice.month}'s files count toward "
                "nothing (run `ccm validate`)")  # fmt: skip


class _progress:
    """A Rich progress bar on stderr while months are judged, when stderr is a terminal and
    there is more than one month; nothing otherwise (cron mail stays clean)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar = None

    def __enter__(self):
        if self.total < 2 or not sys.stderr.isatty():
            return None
        from rich.progress import Progress

        from ccmcli.cli.output import console

        # No refresh thread: the months are judged in forked processes.
        self.bar = Progress(console=console(stderr=True), transient=True, auto_refresh=False)
        self.bar.start()
        task = self.bar.add_task("judging months", total=self.total)
        return lambda done, _total: self.bar.update(task, completed=done, refresh=True)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
