"""YAML loading that remembers where every key and value sits.

`load_yaml(text, file)` returns plain Python data plus a `Marks` index from field path
(tuple of keys / list indices) to (line, column), both 1-based. Syntax errors, empty
documents and duplicate keys become `SpecError`s with line and column. Composition runs
in libyaml (CSafeLoader) so thousands of specs load in well under a second.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml

from modelfleet.errors import Problem, SpecError

try:  # libyaml is in every PyYAML wheel; the pure loader is a slow but correct fallback
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader

Path_ = tuple[Hashable, ...]


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


def load_yaml(text: str, file: str) -> tuple[Any, Marks]:
    """Parse one YAML document. Raises SpecError on syntax errors and empty documents."""
    loader = _BaseLoader(text)
    marks = Marks()
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError([Problem(file, "the file is empty", line=1, field="",
                                     fix="write a mapping with at least name, version, owner, model and serving")])
        return _construct(node, loader, (), marks, file), marks
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
