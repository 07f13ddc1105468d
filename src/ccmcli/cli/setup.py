"""`ccm init`: create a data directory."""

from pathlib import Path
from typing import Annotated

import typer

from ccmcli.cli.app import QuietOpt, app, err


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create or fill.")] = Path("."),
    practice: Annotated[str, typer.Option("--practice", help="Practice name.")] = ...,
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone, e.g. America/Chicago.")] = ...,
    npi: Annotated[str, typer.Option("--npi", help="Billing NPI (10 digits).")] = ...,
    place_of_service: Annotated[str, typer.Option("--place-of-service", help="POS code.")] = "11",
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Create a data directory: ccm.yaml, patients/, logs/, exports/ (refuses to overwrite one)."""
    from ccmcli.setup import create_data_dir

    root = create_data_dir(directory, practice, timezone, npi, place_of_service)
    if not quiet:
        err(f"created data directory {root}")
