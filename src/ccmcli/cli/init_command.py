"""`ccm init`: create a data directory."""

import os
from pathlib import Path
from typing import Annotated

import typer

from ccmcli.cli.app import DataDirOpt, QuietOpt, app, err


@app.command()
def init(
    ctx: typer.Context,
    directory: Annotated[Path | None, typer.Argument(help="Folder to create or fill [default: -d, else $CCM_DATA_DIR, else the current folder].", show_default=False)] = None,
    practice: Annotated[str, typer.Option("--practice", help="Practice name.")] = ...,
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone, e.g. America/Chicago.")] = ...,
    npi: Annotated[str, typer.Option("--npi", help="Billing NPI (10 digits).")] = ...,
    place_of_service: Annotated[str, typer.Option("--place-of-service", help="POS code.")] = "11",
    data: DataDirOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Create a data directory: ccm.yaml, patients/, logs/, exports/ (refuses to overwrite one)."""
    from ccmcli.actions.init_dir import create_data_dir

    root = create_data_dir(_target(ctx, directory, data), practice, timezone, npi, place_of_service)
    if not quiet:
        err(f"created data directory {root}")


def _target(ctx: typer.Context, directory: Path | None, option: Path | None) -> Path:
    """DIR, else -d (after or before the command name), else $CCM_DATA_DIR, else here: the
    same order that finds a data directory, so `ccm -d X init` never fills the current folder."""
    chosen = option or (ctx.find_root().obj or {}).get("data_dir")
    if directory is not None and chosen is not None and directory != chosen:
        raise typer.BadParameter(f"DIR {directory} and -d {chosen} disagree: give one")
    return (directory or chosen or Path(os.environ.get("CCM_DATA_DIR") or ".")).expanduser()
