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
        _refuse_repeated_keys(node)
        return super().construct_mapping(node, deep)


def _refuse_repeated_keys(node) -> None:
    """A ConstructorError at the second of two equal keys of a mapping node."""
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


class _Loader(_StrictLoader):
    """The loader `load` parses with. Its resolver gives each node the tag BaseResolver would
    (no implicit or path resolvers are registered there: every node gets its kind's default
    tag) without BaseResolver's general search, which the C parser called for every node: a
    sixth of reading a patient file. `_construct` reads no tags anyway."""

    def resolve(self, kind, value, implicit):
        return _DEFAULT_TAGS[kind]

    def descend_resolver(self, current_node, current_index):
        return None

    def ascend_resolver(self):
        return None


_DEFAULT_TAGS = {
    yaml.ScalarNode: yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG,
    yaml.SequenceNode: yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    yaml.MappingNode: yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
}


@dataclass(frozen=True, slots=True)
class YamlSyntaxError(Exception):
    line: int | None
    column: int | None
    message: str


def load(text: str) -> object:
    """Parse one YAML document into dicts, lists and strings; YamlSyntaxError on bad syntax."""
    try:
        return _load(text)
    except RecursionError:  # nested deeper than Python goes (libyaml stops at 1,000 levels)
        raise YamlSyntaxError(None, None, "YAML syntax: nested too deeply") from None
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


def _load(text: str) -> object:
    """yaml.load(text, Loader=_StrictLoader): the C parser composes the nodes, and `_construct`
    builds what _StrictLoader's constructor would from them, several times faster (PyYAML's
    constructor is Python even under the C loader, and was a third of reading a patient file)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _construct(node, {})
    finally:
        loader.dispose()


def _construct(node, made: dict):
    """What BaseConstructor.construct_object makes of `node` for _StrictLoader: a scalar's text
    (tags are ignored: every scalar stays a string), a list, or a dict, in the same order with
    the same errors (a key given twice, an unhashable key, an alias inside itself). `made`
    holds each collection node's object (None while it is being built), as aliases share it."""
    if isinstance(node, yaml.ScalarNode):
        return node.value
    if node in made:
        if made[node] is None:
            raise yaml.constructor.ConstructorError(
                None, None, "found unconstructable recursive node", node.start_mark
            )
        return made[node]
    made[node] = None
    if isinstance(node, yaml.SequenceNode):
        data: object = [_construct(child, made) for child in node.value]
    else:
        data = _construct_mapping(node, made)
    made[node] = data
    return data


def _construct_mapping(node, made: dict) -> dict:
    _refuse_repeated_keys(node)  # as _StrictLoader.construct_mapping: every key checked first
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = _construct(key_node, made)
        if isinstance(key, list | dict):
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found unhashable key",
                key_node.start_mark,
            )  # fmt: skip
        mapping[key] = _construct(value_node, made)
    return mapping


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key (`  - code: E11.9`), as people write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data) -> bool:
        """Never `&id001` / `*id001`: a record read back from the cache may share one date
        object between fields (a consent and a visit on the same day), and a patient file is
        plain data people read, each value written where it belongs."""
        return True


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
