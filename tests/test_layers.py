"""The layers of src/ccmcli point down (README, "How the code is organised"): a module imports
its own layer and the layers below it, never one above, and no modules import each other in a
circle, inside a layer or across it.

Every import counts, at the top of a module, inside a function or under TYPE_CHECKING: each is a
dependency all the same. An import moved into a function, or behind TYPE_CHECKING, hides a circle
from Python's start-up without opening it: the two modules still cannot be read, tested or moved
apart. Two kinds of arrow are not drawn: the import of a package's `__init__` that Python runs
before any module of the package (else every package whose `__init__` names one of its modules
would be a circle), and a module named in a string to `importlib.import_module` (cli/__init__'s
table of commands: data, not an import)."""

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


def imported(
    module: str, source: str, modules: frozenset[str] = frozenset(), package: bool = False
) -> list[tuple[int, str]]:
    """(line, module) of every import of ccm's own modules in `source`, the text of `module`
    (relative imports resolved; `from ccmcli import loader` names the module loader, and so does
    `from x import y` name x.y when `modules` holds it; `package`: `module` is an __init__)."""
    parts = module.split(".")
    here = parts if package else parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:
                sub = f"{name}.{a.name}"
                if sub in modules or (name == "ccmcli" and a.name in LAYERS):
                    found.add((node.lineno, sub))
                elif name != "ccmcli" or modules:  # ccmcli's own names: its __init__
                    found.add((node.lineno, name))
    return sorted((line, name) for line, name in found if layer_of(name) is not None)


def upward(module: str, source: str) -> list[str]:
    """Each import of `module` from a layer above its own, as `line: module (layer)`."""
    own = rank(layer_of(module))  # type: ignore[arg-type]
    return [
        f"{line}: {name} ({layer_of(name)})"
        for line, name in imported(module, source)
        if layer_of(name) not in TOP and rank(layer_of(name)) > own  # type: ignore[arg-type]
    ]


def module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def arrows(src: Path) -> dict[str, set[str]]:
    """Module -> the modules of the package `src` (a folder named ccmcli) it imports, wherever the
    import stands; an import of a name that is not a module points at the module defining it."""
    paths = {module_name(p, src): p for p in sorted(src.rglob("*.py"))}
    modules = frozenset(paths)
    out = {}
    for name, path in paths.items():
        found = imported(name, path.read_text(encoding="utf-8"), modules,
                         package=path.name == "__init__.py")  # fmt: skip
        out[name] = {target for _, target in found if target in modules and target != name}
    return out


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each set of modules that import each other in a loop, directly or through others (a
    strongly connected component of two or more), its members sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:  # Tarjan's algorithm; ccm's few hundred modules stay shallow
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def loop(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest loop of imports from the circle's first module back to it: [a, b, a]."""
    start, inside = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & inside):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    raise AssertionError(group)  # a component of two or more always loops back


def circle_words(graph: dict[str, set[str]]) -> list[str]:
    """Each circle in words: one loop, and the circle's other modules."""
    out = []
    for group in circles(graph):
        path = loop(group, graph)
        rest = sorted(set(group) - set(path))
        out.append(
            " -> ".join(path) + (f" (the circle also holds {', '.join(rest)})" if rest else "")
        )
    return out


PATHS = sorted(SRC.rglob("*.py"))


def test_every_module_is_in_a_known_layer():
    for path in PATHS:
        layer = layer_of(module_name(path))
        assert layer in LAYERS or layer in TOP, f"{path}: add its layer to LAYERS and the README"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_a_layer_above_its_own(path):
    name = module_name(path)
    assert upward(name, path.read_text(encoding="utf-8")) == [], f"{name} imports from above"


def test_no_modules_import_each_other_in_a_circle():
    found = circle_words(arrows(SRC))
    assert found == [], "modules that import each other in a circle:\n" + "\n".join(found)


def test_a_circle_is_found_wherever_its_imports_stand(tmp_path):
    """Not vacuous: circles inside one folder, direct or through a third module, by imports at
    the top, inside functions, under TYPE_CHECKING and relative ones, are each named; a chain that
    does not loop back and a package whose __init__ imports its own module are not circles."""
    files = {
        "__init__.py": "",
        "reports/__init__.py": "from . import views\n",  # the package face naming its module
        "reports/views.py": "from ccmcli.reports.pages import page\n",
        "reports/pages.py": "def page():\n    from ccmcli.reports import views\n",
        "reports/a.py": "from typing import TYPE_CHECKING\n"
                        "if TYPE_CHECKING:\n    from .b import B\n",
        "reports/b.py": "import ccmcli.reports.c as c\nclass B: ...\n",
        "reports/c.py": "def f():\n    from ccmcli.reports.a import x\n",
        "reports/d.py": "from ccmcli.reports import a, e\n",  # into a circle, not part of it
        "reports/e.py": "from ccmcli.store import f\n",
        "store/__init__.py": "",
        "store/f.py": "import json\n",
    }  # fmt: skip
    src = tmp_path / "ccmcli"
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    graph = arrows(src)
    assert graph["ccmcli.reports"] == {"ccmcli.reports.views"}
    assert graph["ccmcli.reports.d"] == {"ccmcli.reports.a", "ccmcli.reports.e"}
    assert circle_words(graph) == [
        "ccmcli.reports.a -> ccmcli.reports.b -> ccmcli.reports.c -> ccmcli.reports.a",
        "ccmcli.reports.pages -> ccmcli.reports.views -> ccmcli.reports.pages",
    ]
    (src / "reports" / "pages.py").write_text("def page(): ...\n")
    (src / "store" / "f.py").write_text("def f():\n    from ..reports import d\n")
    (src / "reports" / "b.py").write_text("import ccmcli.reports.c as c\nimport ccmcli.reports.a\n")
    assert circles(arrows(src)) == [
        ["ccmcli.reports.a", "ccmcli.reports.b", "ccmcli.reports.c"],
        ["ccmcli.reports.d", "ccmcli.reports.e", "ccmcli.store.f"],
    ]
    assert circle_words(arrows(src))[0] == (
        "ccmcli.reports.a -> ccmcli.reports.b -> ccmcli.reports.a"
        " (the circle also holds ccmcli.reports.c)"
    )


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
