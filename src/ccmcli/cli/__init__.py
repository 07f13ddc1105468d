"""The `ccm` command line: a thin layer that parses options, calls the core and renders."""

from ccmcli.cli import checks, patients, setup  # noqa: F401  (commands register on import)
from ccmcli.cli.app import app


def main() -> None:
    app(prog_name="ccm")
