"""`ccm patient import FILE [--dry-run] [--update]` (contract section 6)."""

from typing import Annotated

import typer

from ccmcli.cli.app import DataDirOpt, QuietOpt, data_dir, err, patient_app
from ccmcli.models.errors import CcmError


def _read_input(file: str) -> tuple[bytes, str]:
    """The roster's bytes and the name its problems carry; `-` is standard input. What is read
    is bounded (a roster of a few hundred thousand patients fits well within it), so neither
    /dev/zero nor a runaway pipe can exhaust memory."""
    from ccmcli.store.regular_files import read_stream

    if file == "-":
        return read_stream(typer.get_binary_stream("stdin"), "standard input"), "<stdin>"
    try:
        with open(file, "rb") as f:
            return read_stream(f, file), file
    except FileNotFoundError:
        raise CcmError(f"cannot read {file}: no such file", 2) from None
    except OSError as exc:
        raise CcmError(f"cannot read {file}: {exc.strerror or type(exc).__name__}", 2) from None


@patient_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="Roster CSV with the header id,name,birth_date,mbi,program,principal_condition,conditions,consent_date,consent_method,initiating_visit_date,initiating_visit_type,care_plan_established; - reads standard input.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report; write nothing.")] = False,
    update: Annotated[bool, typer.Option("--update", help="Rewrite existing patients with the roster's values, keeping what it leaves empty or lacks.")] = False,
    data: DataDirOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Write one patient file per roster row: all rows or none (each error as FILE:LINE)."""
    from ccmcli.actions.roster_import import import_roster

    d = data_dir(ctx, data)
    raw, name = _read_input(file)
    result = import_roster(d, raw, name, update=update, dry_run=dry_run)
    for note in result.notes:
        if not quiet:
            err(f"ccm: {note}")
    for p in result.problems:
        if not quiet or p.severity == "error":
            err(p.render())
    if result.has_errors:
        err(
            f"ccm: nothing imported: {sum(p.severity == 'error' for p in result.problems)} error(s)"
        )
        raise typer.Exit(1)
    if not quiet:
        err(result.summary())
