"""The layers of src/ccmcli point down (README, "How the code is organised"): a module imports
its own layer and the layers below it, never one above. Every import counts, at the top of a
module, inside a function or under TYPE_CHECKING: each is a dependency all the same."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "ccmcli"

# From the ground up; a folder is a layer, and so is a module that stands alone.
LAYERS = ("workers", "codes", "models", "store", "rules", "loader", "reports", "actions", "cli")
TOP = ("__init__", "__main__")  # the package's face and `python -m ccmcli`: above everything


def layer_of(module: str) -> str | None:
    """The layer of `ccmcli.x.y`: its folder, or the module standing alone (None: not ccm's)."""
    parts = module.split(".")
    if parts[0] != "ccmcli":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def rank(layer: str) -> int:
    return len(LAYERS) if layer in TOP else LAYERS.index(layer)


def imported(module: str, source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of ccm's own modules in `source`, the text of `module`
    (relative imports resolved; `from ccmcli import loader` names the module loader)."""
    package = module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            if name == "ccmcli":  # the names are layers (`loader`), or the package's own names
                found += [(node.lineno, f"ccmcli.{a.name}") for a in node.names
                          if a.name in LAYERS]  # fmt: skip
            else:
                found.append((node.lineno, name))
    return sorted((line, name) for line, name in found if layer_of(name) is not None)


def upward(module: str, source: str) -> list[str]:
    """Each import of `module` from a layer above its own, as `line: module (layer)`."""
    own = rank(layer_of(module))  # type: ignore[arg-type]
    return [
        f"{line}: {name} ({layer_of(name)})"
        for line, name in imported(module, source)
        if layer_of(name) not in TOP and rank(layer_of(name)) > own  # type: ignore[arg-type]
    ]


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


PATHS = sorted(SRC.rglob("*.py"))


def test_every_module_is_in_a_known_layer():
    for path in PATHS:
        layer = layer_of(module_name(path))
        assert layer in LAYERS or layer in TOP, f"{path}: add its layer to LAYERS and the README"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_a_layer_above_its_own(path):
    name = module_name(path)
    assert upward(name, path.read_text(encoding="utf-8")) == [], f"{name} imports from above"


def test_an_import_from_above_is_found_wherever_it_stands():
    """Not vacuous: an import inside a function, a relative one and a type-only one are found."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from ccmcli.models.months import Month\n"
        "from . import cache\n"
        "if TYPE_CHECKING:\n    from ccmcli.loader import Practice\n"
        "def f():\n    from ..reports import month_record\n    import ccmcli.cli.app\n"
        "from ccmcli import __version__, loader\n"
    )
    assert upward("ccmcli.store.example", source) == [
        "5: ccmcli.loader (loader)",
        "7: ccmcli.reports (reports)",
        "8: ccmcli.cli.app (cli)",
        "9: ccmcli.loader (loader)",
    ]
    assert upward("ccmcli.cli.example", source) == []


def test_the_readme_states_the_same_layers():
    """README's table of folders, from the ground up, is this test's LAYERS."""
    readme = (SRC.parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### How the code is organised") :]
    section = section[: section.index("**How data flows.**")]
    rows = [line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| `")]
    assert [r.strip("`").removesuffix("/").removesuffix(".py") for r in rows] == list(LAYERS)
