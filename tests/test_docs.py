"""Docs that cannot drift (STYLE.md 14): every command has help text and appears in the README."""

import re
from pathlib import Path

import pytest

from helpers import leaf_commands

README = Path(__file__).resolve().parent.parent / "README.md"


COMMANDS = [(" ".join(path), cmd) for path, cmd in leaf_commands()]


def test_there_are_commands_to_document():
    assert len(COMMANDS) >= 9


@pytest.mark.parametrize(("name", "cmd"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help_text(name, cmd):
    assert (cmd.help or "").strip(), f"`ccm {name}` has no docstring"
    for param in cmd.params:
        if getattr(param, "param_type_name", "") == "option" and not param.hidden:
            assert (param.help or "").strip(), f"`ccm {name}` option {param.opts} has no help"


@pytest.mark.parametrize("name", [n for n, _ in COMMANDS])
def test_command_appears_in_the_readme(name):
    """`ccm NAME` written in the README, perhaps with a data directory option before the name."""
    text = README.read_text(encoding="utf-8")
    words = r"\s+".join(map(re.escape, name.split()))
    pattern = rf"\bccm(\s+(-d|--data-dir)\s+\S+)?\s+{words}\b"
    assert re.search(pattern, text), f"README.md never shows `ccm {name}`"
