"""The `ccm` command line: a thin layer that parses options, calls the core and renders."""

# Command modules register on `app` when imported; they keep their slow imports inside commands.
from ccmcli.cli import checks, exporting, patients, recording, roster, setup  # noqa: F401
from ccmcli.cli.app import app


def main() -> None:
    app(prog_name="ccm")
