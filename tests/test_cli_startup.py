"""`ccm log` imports only the command module it runs (cli/__init__.py COMMANDS); these tests
keep that table whole and show that what a person sees does not depend on it."""

import subprocess
import sys
from pathlib import Path

import pytest
import typer

from ccmcli import cli
from helpers import CCM

CLI_DIR = Path(cli.__file__).parent


def registered(app) -> set[str]:
    """The command words of the built Click group."""
    return set(typer.main.get_command(app).commands)


def test_the_table_names_every_registered_command():
    assert registered(cli.load()) == set(cli.COMMANDS)


def test_every_module_that_registers_commands_is_in_the_table():
    registering = {
        p.stem
        for p in CLI_DIR.glob("*.py")
        if ".command(" in p.read_text() or ".add_typer(" in p.read_text()
    }
    assert registering - {"app"} == set(cli.MODULES)


@pytest.mark.parametrize("word", sorted(cli.COMMANDS))
def test_each_word_alone_registers_its_command(word):
    code = (
        "import typer, ccmcli.cli as c;"
        f"app = c.load(c.modules_for([{word!r}]));"
        "g = typer.main.get_command(app);"
        f"print({word!r} in g.commands, len(g.commands) < len(c.COMMANDS))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["True", "True"], done.stderr


@pytest.mark.parametrize(
    ("args", "modules"),
    [
        (["log", "P1", "5"], ("log_commands",)),
        (["-d", "x", "log", "P1"], ("log_commands",)),
        (["--data-dir", "x", "--debug", "void", "E1"], ("log_commands",)),
        (["--data-dir=x", "check"], ("check_commands",)),
        (["-dx", "patient", "show", "P1"], ("import_command", "patient_commands")),
        (["-d", "log", "check"], ("check_commands",)),  # `log` is -d's value here
        ([], cli.MODULES),
        (["--help"], cli.MODULES),
        (["--version"], cli.MODULES),
        (["-d", "x"], cli.MODULES),
        (["-d", "--debug", "log"], cli.MODULES),
        (["--data-dir"], cli.MODULES),
        (["lgo"], cli.MODULES),
        (["--bogus", "log"], cli.MODULES),
        (["--", "log"], cli.MODULES),
    ],
)
def test_the_modules_a_command_line_needs(args, modules, monkeypatch):
    for var in ("_CCM_COMPLETE", "_TYPER_COMPLETE_ARGS"):
        monkeypatch.delenv(var, raising=False)
    assert cli.modules_for(args) == modules


def test_shell_completion_loads_every_module(monkeypatch):
    monkeypatch.setenv("_CCM_COMPLETE", "complete_bash")
    assert cli.modules_for(["log", "P"]) == cli.MODULES


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CCM, *args], capture_output=True, text=True, timeout=60)


def listed(help_text: str) -> list[str]:
    """The command words of a help page, in order."""
    commands = help_text.split("Commands:\n")[1].split("\n\n")[0]
    return [
        line.split()[0]
        for line in commands.splitlines()
        if line.startswith("  ") and line[2] != " "
    ]


def test_help_lists_every_command_as_the_full_app_does(runner):
    full = runner.invoke(cli.load(), ["--help"], prog_name="ccm")
    done = run("--help")
    assert done.returncode == 0
    assert listed(done.stdout) == listed(full.stdout)
    assert sorted(listed(done.stdout)) == sorted(cli.COMMANDS)


def test_an_unknown_command_is_refused_with_the_nearest_one():
    done = run("lgo")
    assert done.returncode == 2
    assert "No such command 'lgo'. Did you mean 'log'?" in done.stderr


def test_log_runs_and_loads_no_other_command_module(clinic):
    data = clinic
    done = run("-d", str(data), "log", "P0001", "25", "--date", "2025-03-04", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("E")
    listed = run("-d", str(data), "entries", "--month", "2025-03", "--format", "csv")
    assert done.stdout.strip() in listed.stdout
    code = (  # main() ends the process itself; exit handlers still run
        "import atexit, sys, ccmcli.cli as c; sys.argv = ['ccm', '-d', sys.argv[1], 'log', '--help'];"
        "atexit.register(lambda: print(sorted(m for m in sys.modules"
        " if m.startswith('ccmcli.cli.')), file=sys.stderr)); c.main()"
    )
    out = subprocess.run([sys.executable, "-c", code, str(data)], capture_output=True, text=True)
    assert "ccmcli.cli.check_commands" not in out.stderr
    assert "'ccmcli.cli.log_commands'" in out.stderr


def test_the_process_ends_with_the_commands_exit_code_and_all_its_output(clinic, cli):
    """main() ends the process without tearing its objects down: nothing written may be lost
    and the exit code must be the command's."""
    import json

    done = run("-d", str(clinic), "check", "--month", "2026-10", "--format", "json")
    inside = cli("-d", clinic, "check", "--month", "2026-10", "--format", "json")
    assert done.returncode == inside.exit_code
    assert json.loads(done.stdout) == json.loads(inside.stdout)
    assert run("-d", str(clinic / "nowhere"), "check").returncode == 1
    assert run("check", "--no-such-option").returncode == 2
