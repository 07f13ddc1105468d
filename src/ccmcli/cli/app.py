"""The Typer application, its shared options, and the one place errors become messages.

Command modules register on `app` (or `patient_app`) and keep slow imports inside the command
functions, so `ccm --help` and `ccm log` start fast.
"""

import contextlib
import gc
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from ccmcli.cli.completion import log_months
from ccmcli.cli.output import Format, RowFormat, ViewFormat
from ccmcli.models.errors import CcmError

ENV_HELP = (
    "Env: CCM_DATA_DIR, CCM_STAFF, CCM_ROLE, CCM_NOW, CCM_CACHE_DIR (code index), CCM_NO_CACHE,"
    " NO_COLOR."
)


class CcmGroup(TyperGroup):
    """Turns CcmError into `ccm: message` and its exit code; any other error into one line."""

    def invoke(self, ctx):
        if ctx.parent is None:  # the words after the root's options, before Click consumes them
            words = getattr(ctx, "_protected_args", None)
            if words is None:
                words = ctx.protected_args
            ctx.meta["ccm.quiet"] = _quiet_asked([*words, *ctx.args])
        try:
            with _collector_paused():
                return super().invoke(ctx)
        except CcmError as exc:
            err(f"ccm: {exc.message}")
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:
            if _is_click_error(exc) or _debug(ctx):
                raise  # usage errors: Click prints them with the usage line, exit 2
            if isinstance(exc, BrokenPipeError):
                raise typer.Exit(0) from None
            if isinstance(exc, OSError):
                where = f"{exc.filename}: " if exc.filename else ""
                err(f"ccm: {where}{exc.strerror or type(exc).__name__}")
                raise typer.Exit(1) from None
            err(f"ccm: unexpected error ({type(exc).__name__}); run again with --debug for details")
            raise typer.Exit(1) from None


@contextlib.contextmanager
def _collector_paused():
    """A command builds many objects but no reference cycles, so Python's cycle collector would
    only scan them again and again (a third of `ccm check` on a large practice): it rests while
    a command runs."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _is_click_error(exc: Exception) -> bool:
    """Click's own errors (bad option, unknown command). Recent Typer bundles its own copy of
    Click, so `click.ClickException` is not the class Typer raises: match by class name."""
    return any(c.__name__ == "ClickException" for c in type(exc).__mro__)


def _debug(ctx) -> bool:
    root = ctx.find_root()
    return bool(getattr(root, "obj", None) and root.obj.get("debug")) or bool(
        os.environ.get("CCM_DEBUG")
    )


app = typer.Typer(
    cls=CcmGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Chronic Care Management from plain files: log minutes, check months, export claims.",
    epilog=ENV_HELP,
)
patient_app = typer.Typer(
    cls=CcmGroup, no_args_is_help=True, help="Add, list, show and import patients."
)
app.add_typer(patient_app, name="patient")


DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", "-d", help="Data directory [default: $CCM_DATA_DIR, else the nearest folder up with ccm.yaml].", show_default=False),
]  # fmt: skip
FormatOpt = Annotated[
    Format | None,
    typer.Option("--format", "-f", help="Output format; xlsx needs -o FILE.xlsx [default: table].", show_default=False, case_sensitive=False),
]  # fmt: skip
ViewFormatOpt = Annotated[
    ViewFormat | None,
    typer.Option(
        "--format",
        "-f",
        help="Output format [default: table].",
        show_default=False,
        case_sensitive=False,
    ),
]
RowFormatOpt = Annotated[
    RowFormat | None,
    typer.Option("--format", "-f", help="Output format [default: table].", show_default=False, case_sensitive=False),
]  # fmt: skip
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="Write the csv, json or xlsx to FILE (mode 0600; never inside the data directory) instead of stdout.", show_default=False),
]  # fmt: skip
BomOpt = Annotated[
    bool,
    typer.Option("--bom", help="CSV: begin with a UTF-8 byte-order mark, so Excel reads names such as Muñoz right.")
]  # fmt: skip
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print only the data asked for (a table: nothing) and errors; no warnings or progress."),
]  # fmt: skip
WideOpt = Annotated[
    bool,
    typer.Option("--wide", "-w", help="Table: every column at full width, whatever the terminal."),
]
MonthOpt = Annotated[
    str | None,
    typer.Option("--month", "-m", help="YYYY-MM [default: this month at the practice].", show_default=False, autocompletion=log_months),
]  # fmt: skip


def _version(wanted: bool) -> None:
    """Eager, so `ccm --version` answers without a command (a group would ask for one)."""
    if wanted:
        from ccmcli import __version__

        typer.echo(f"ccm {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: DataDirOpt = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of unexpected errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_version)] = False,
) -> None:  # fmt: skip
    ctx.obj = {"data_dir": data_dir, "debug": debug}
    _clock_notice(ctx.meta.get("ccm.quiet", False))


def _quiet_asked(words: list[str]) -> bool:
    """Whether the command line asks for -q (contract 2: then no warnings at all), read before
    the command itself has parsed it: any -q/--quiet word before a `--`, or -q among short flags."""
    for word in words:
        if word == "--":
            return False
        if word == "--quiet" or (word.startswith("-") and not word.startswith("--")
                                  and word[1:].isalpha() and "q" in word[1:]):  # fmt: skip
            return True
    return False


def _clock_notice(quiet: bool = False) -> None:
    """A command run on a stand-in clock says so, once, so nobody mistakes a replay for today;
    a CCM_NOW that is not an instant stops the command before it reads the clock."""
    if os.environ.get("CCM_NOW", "").strip():
        from ccmcli.models.months import clock_override

        clock_override()
        if not quiet:
            err("warning: CCM_NOW is set")


def data_dir(ctx: typer.Context, option: Path | None):
    """The data directory: this command's -d, else the one before the command name, else the
    environment or the folders above (contract section 1)."""
    from ccmcli.store.datadir import find_data_dir

    root = ctx.find_root().obj or {}
    return find_data_dir(option or root.get("data_dir"))


def err(message: str) -> None:
    """Messages and errors go to stderr, data to stdout."""
    print(message, file=sys.stderr)


def fmt(
    value: "Format | ViewFormat | RowFormat | None", output: Path | None = None,
    default: Format = Format.table,
) -> Format:  # fmt: skip
    """The format asked for, as a Format whatever option type offered it; without --format,
    the one `-o FILE`'s suffix names (`.csv`, `.json`, `.xlsx`), else `default`."""
    if value:
        return Format(value.value)
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    return Format(suffix) if suffix in ("csv", "json", "xlsx") else default
