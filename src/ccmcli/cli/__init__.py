"""The `ccm` command line: a thin layer that parses options, calls the core and renders."""

# Command modules register on `app` when imported; they keep their slow imports inside commands.
from ccmcli.cli import (  # noqa: F401
    audit_command,
    cache_command,
    check_commands,
    close_commands,
    export_command,
    import_command,
    init_command,
    log_commands,
    patient_commands,
    report_command,
    timer_commands,
)
from ccmcli.cli.app import app


def main() -> None:
    app(prog_name="ccm")
