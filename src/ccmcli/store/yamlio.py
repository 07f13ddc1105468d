"""Reading YAML without YAML 1.1's traps, and finding the line behind a field.

Every scalar is kept a string (`BaseLoader`), so `0123` stays "0123", `20:30` stays "20:30",
`yes` is only a word and `1950-02-30` reaches the model as text that fails with a clear message
instead of a bare `ValueError`. The models type the strings.
"""

from dataclasses import dataclass

import yaml

LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


class _StrictLoader(LOADER):  # type: ignore[misc, valid-type]
    """Refuses a key given twice: YAML would silently keep the last one (a second `consent:`
    block would erase the first without a word)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None,
                        f'key "{key_node.value}" appears twice (first on line {seen[key_node.value]})',
                        key_node.start_mark,
                    )  # fmt: skip
                seen[key_node.value] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


@dataclass(frozen=True, slots=True)
class YamlSyntaxError(Exception):
    line: int | None
    column: int | None
    message: str


def load(text: str) -> object:
    """Parse one YAML document into dicts, lists and strings; YamlSyntaxError on bad syntax."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        what = exc.problem or "is not valid YAML"
        raise YamlSyntaxError(line, column, f"YAML syntax: {what}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids, e.g. NUL: one line, no dump
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "\0")
        raise YamlSyntaxError(line, None, f"YAML syntax: {exc.reason} (#x{char:04X})") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(None, None, f"YAML syntax: {exc}") from None


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key (`  - code: E11.9`), as people write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def dump(data: dict) -> str:
    """Write plain, block-style YAML in the order given, quoting what YAML 1.1 would misread.

    Dates stay bare (`2026-01-05`); strings that a YAML 1.1 reader would take for a number, a
    date or a boolean (an NPI, `0123`, `yes`) are quoted, so no other tool misreads our files.
    """
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
        width=100,
    )  # fmt: skip


def line_of(text: str, path: tuple) -> int | None:
    """The 1-based line of the node at `path` (keys and list indexes), or of its nearest parent.

    Used only on the error path, so the second parse costs nothing when files are valid.
    """
    try:
        node = yaml.compose(text, Loader=LOADER)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for step in path:
        child = _child(node, step)
        if child is None:
            break
        key_node, node = child
        line = (key_node or node).start_mark.line + 1
    return line


def _child(node, step):
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == step:
                return key, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return None, node.value[step]
    return None
