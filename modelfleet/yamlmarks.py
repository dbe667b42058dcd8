"""YAML loading that remembers where every key and value sits.

`load_yaml(text, file)` returns plain Python data plus a `Marks` index from field path
(tuple of keys / list indices) to (line, column), both 1-based. Syntax errors, empty
documents and duplicate keys become `SpecError`s with line and column. Composition runs
in libyaml (CSafeLoader) so thousands of specs load in well under a second.

Hostile input is refused before it can cost memory or time:
- `read_source(path)` refuses files over `MAX_BYTES` and bytes that are not UTF-8 text
  (UTF-16/32 byte-order marks, NUL bytes, Latin-1), locating the first bad byte.
- aliases may add at most `ALIAS_BUDGET` nodes beyond those written in the file
  (billion-laughs documents expand exponentially); a self-referencing alias and nesting
  deeper than `MAX_DEPTH` are refused too. The expansion is measured on the composed
  node graph, with a memo per node, so measuring a bomb is itself linear.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from modelfleet.errors import Problem, SpecError

try:  # libyaml is in every PyYAML wheel; the pure loader is a slow but correct fallback
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader

Path_ = tuple[Hashable, ...]

# A spec or stack is a few kilobytes; 1 MiB leaves room for stacks listing thousands of nodes.
MAX_BYTES = 1024 * 1024
# Nodes that aliases may add beyond the literal document: generous for `<<: *defaults` reuse,
# far below what a billion-laughs document asks for.
ALIAS_BUDGET = 10_000
MAX_DEPTH = 64
_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


class Marks:
    """Path → (line, column) for every mapping key and sequence item."""

    def __init__(self) -> None:
        self.positions: dict[Path_, tuple[int, int]] = {}

    def locate(self, path: Path_) -> tuple[int | None, int | None]:
        """The position of `path`, or of its nearest existing ancestor."""
        for end in range(len(path), -1, -1):
            pos = self.positions.get(tuple(path[:end]))
            if pos is not None:
                return pos
        return None, None

    def has(self, path: Path_) -> bool:
        return tuple(path) in self.positions


def _construct(node: yaml.Node, loader: Any, path: Path_, marks: Marks, file: str) -> Any:
    marks.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise SpecError([Problem(file, "mapping keys must be plain scalars",
                                         line=key_node.start_mark.line + 1, column=key_node.start_mark.column + 1,
                                         fix="quote the key or restructure the mapping")])
            key_path = (*path, key)
            if key in result:
                raise SpecError([Problem(
                    file, f"duplicate key {key!r}", line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1, field=".".join(map(str, key_path)),
                    fix="keep one occurrence of the key; YAML would silently use only the last one")])
            marks.positions[key_path] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _construct(value_node, loader, key_path, marks, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, loader, (*path, i), marks, file) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def decode_source(data: bytes, file: str) -> str:
    """UTF-8 text of a spec or stack file, or a located SpecError."""
    if len(data) > MAX_BYTES:
        raise SpecError([Problem(file, f"the file is {len(data):,} bytes, over the {MAX_BYTES:,}-byte limit", line=1,
                                 allowed=f"spec and stack files up to {MAX_BYTES // 1024} KiB",
                                 fix="keep one model per spec file; data does not belong in a spec")])
    for bom, encoding in _BOMS.items():
        if data.startswith(bom):
            raise SpecError([Problem(file, f"the file is {encoding}-encoded", line=1, column=1, allowed="UTF-8 text",
                                     fix="save the file as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8`)")])
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _line_col(data, nul)
        raise SpecError([Problem(file, "the file contains a NUL byte: it is binary, not YAML text", line=line, column=column,
                                 allowed="UTF-8 text", fix="point the command at the YAML file, or re-create it as text")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line, column = _line_col(data, e.start)
        raise SpecError([Problem(file, f"byte 0x{data[e.start]:02x} is not UTF-8", line=line, column=column,
                                 allowed="UTF-8 text", fix="re-save the file as UTF-8 (e.g. `iconv -f LATIN1 -t UTF-8`)")]) from e
    return text.removeprefix("\ufeff")


def read_source(path: Path) -> str:
    """Read a spec or stack file as UTF-8 text within the size limit; SpecError otherwise."""
    try:
        if path.stat().st_size > MAX_BYTES:  # refuse before reading 50 MB into memory
            return decode_source(b"\0" * (MAX_BYTES + 1), str(path))
        data = path.read_bytes()
    except OSError as e:
        raise SpecError([Problem(str(path), f"cannot read the file: {e.strerror or e}", fix="check the path and permissions")]) from e
    return decode_source(data, str(path))


def _check_expansion(root: yaml.Node, file: str) -> None:
    """Refuse alias expansion beyond the budget, self-referencing aliases and deep nesting."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        where = {"line": node.start_mark.line + 1, "column": node.start_mark.column + 1}
        if key in visiting:
            raise SpecError([Problem(file, "an alias refers to a node that contains it", **where,
                                     allowed="aliases to complete, non-enclosing nodes", fix="remove the recursive alias")])
        if depth > MAX_DEPTH:
            raise SpecError([Problem(file, f"the document nests deeper than {MAX_DEPTH} levels", **where,
                                     allowed=f"at most {MAX_DEPTH} levels", fix="flatten the structure")])
        visiting.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        total = 1 + sum(size(child, depth + 1) for child in children)
        visiting.discard(key)
        sizes[key] = total
        return total

    expanded = size(root, 0)
    written = len(sizes)
    if expanded - written > ALIAS_BUDGET:
        raise SpecError([Problem(file, f"YAML aliases expand the document to {expanded:,} nodes from {written:,} written",
                                 line=1, allowed=f"aliases adding at most {ALIAS_BUDGET:,} nodes",
                                 fix="write the values out instead of nesting aliases")])


def load_yaml(text: str, file: str) -> tuple[Any, Marks]:
    """Parse one YAML document. Raises SpecError on syntax errors, empty documents,
    alias bombs and excessive nesting."""
    if len(text) > MAX_BYTES:
        decode_source(text.encode("utf-8", "replace"), file)
    loader = _BaseLoader(text)
    marks = Marks()
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError([Problem(file, "the file is empty", line=1, field="",
                                     fix="write a mapping with at least name, version, owner, model and serving")])
        _check_expansion(node, file)
        return _construct(node, loader, (), marks, file), marks
    except RecursionError as e:
        raise SpecError([Problem(file, f"the document nests too deeply to read (limit {MAX_DEPTH} levels)", line=1,
                                 fix="flatten the structure")]) from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise SpecError([Problem(file, f"YAML syntax error: {e.problem or e}", line=line, column=column,
                                 fix="correct the YAML syntax at that position (indentation, quotes, colons)")]) from e
    except yaml.YAMLError as e:
        raise SpecError([Problem(file, f"YAML error: {e}", fix="correct the YAML syntax")]) from e
    finally:
        loader.dispose()
