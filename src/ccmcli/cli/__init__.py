"""The `ccm` command line: a thin layer that parses options, calls the core and renders.

Command modules register on `app` when imported. Typer builds a Click command for every one it
holds before it runs any, so `ccm log` imports only the module that defines `log`: COMMANDS says
which module defines each command word. `ccm --help`, a bare `ccm`, an unknown word (Click
suggests the nearest command) and shell completion import every module, so they answer as before.
Without the table, `ccm log` would import and build every command: 14% more instructions, past
its start-up target (benchmarks/RESULTS.md, issue 22).
"""

import importlib
import os
import sys

# The first command word -> the modules that register it, in the order they are imported.
COMMANDS: dict[str, tuple[str, ...]] = {
    "audit": ("audit_command",),
    "cache": ("cache_command",),
    "check": ("check_commands",),
    "explain": ("check_commands",),
    "worklist": ("check_commands",),
    "validate": ("check_commands",),
    "rules": ("check_commands",),
    "close": ("close_commands",),
    "reopen": ("close_commands",),
    "compare": ("compare_command",),
    "export": ("export_command",),
    "init": ("init_command",),
    "log": ("log_commands",),
    "void": ("log_commands",),
    "entries": ("log_commands",),
    "patient": ("import_command", "patient_commands"),
    "report": ("report_command",),
    "schema": ("schema_command",),
    "start": ("timer_commands",),
    "stop": ("timer_commands",),
    "status": ("timer_commands",),
    "cancel": ("timer_commands",),
}
# Every command module, in the order `ccm --help` lists their commands.
MODULES = tuple(sorted({m for ms in COMMANDS.values() for m in ms}))

# The root group's options that take a value (cli/app.py `_root`), and its flags that do not
# stop the search for the command word; any other option loads every module.
_VALUED = ("-d", "--data-dir")
_FLAGS = ("--debug",)


def load(modules=MODULES):
    """Register the commands of `modules` (in the order of MODULES) on the app and return it.
    `ccmcli.cli.app` is then the Typer app, not the module cli/app.py (as Python would have it)."""
    for name in MODULES:
        if name in modules:
            importlib.import_module(f"ccmcli.cli.{name}")
    from ccmcli.cli.app import app

    globals()["app"] = app
    return app


def modules_for(args: list[str]) -> tuple[str, ...]:
    """The modules a command line needs: those of its first command word, else all of them."""
    if any(k.startswith(("_CCM_COMPLETE", "_TYPER_COMPLETE")) for k in os.environ):
        return MODULES
    rest = iter(args)
    for arg in rest:
        if arg in _VALUED:
            if next(rest, "-").startswith("-"):
                return MODULES  # no value, or one Click might read as an option: leave it to Click
        elif arg.startswith(("--data-dir=", "-d")) or arg in _FLAGS:
            continue
        else:
            return COMMANDS.get(arg, MODULES)
    return MODULES


def main() -> None:
    try:
        load(modules_for(sys.argv[1:]))(prog_name="ccm")
    except SystemExit as exc:  # Click always ends this way, with the command's exit code
        _end(exc.code)
    _end(0)


def _end(code: object) -> None:
    """End the process as SystemExit would, but without freeing its objects one by one: after
    a large practice's month that takes longer than writing the answer did. Output is flushed
    and exit handlers run first, as at a normal exit."""
    import atexit
    import contextlib

    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away; a closed stream
            stream.flush()
    os._exit(code or 0)


def __getattr__(name: str):
    """`from ccmcli.cli import app` (the tests do) before any `load`: every command registered."""
    if name == "app":
        return load()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
