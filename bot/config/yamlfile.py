"""YAML loading that remembers the line of every key and list item."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config.errors import Problem, ProjectError

KeyPath = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """Parsed YAML plus the 1-based line of each key path.

    Attributes:
        path: The file it came from.
        data: The parsed document.
        lines: Line number of every mapping key and sequence item, by key path.
    """

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, key_path: KeyPath) -> int | None:
        """The line of `key_path`, or of its nearest ancestor that has one."""
        while key_path:
            if key_path in self.lines:
                return self.lines[key_path]
            key_path = key_path[:-1]
        return 1

    def problem(self, key_path: KeyPath, message: str, severity: str = "error") -> Problem:
        """A problem located at `key_path` in this document."""
        return Problem(self.path, self.line(key_path), message, severity)


def _record_lines(
    node: yaml.Node, key_path: KeyPath, lines: dict[KeyPath, int], repeated: list[KeyPath]
) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*key_path, str(key_node.value))
            if child in lines:
                # PyYAML keeps the last of two equal keys and drops the first in silence.
                repeated.append(child)
            lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, lines, repeated)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*key_path, index)
            lines[child] = item.start_mark.line + 1
            _record_lines(item, child, lines, repeated)


def parse_yaml(text: str, path: Path, first_line: int = 1) -> YamlDocument:
    """Parse YAML text; a syntax error becomes a ProjectError naming file and line.

    Args:
        text: The YAML source.
        path: The file name used in messages.
        first_line: The file line that `text` starts on (for front matter).
    """
    try:
        # The reader checks every character as the loader is made; the parser, as it reads.
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else None
        raise ProjectError([Problem(path, line, f"invalid YAML: {exc.problem}")]) from exc
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow, such as a C1 control from a mis-decoded text.
        line = text.count("\n", 0, exc.position) + first_line
        message = f"character {exc.character!r} is not allowed in YAML"
        raise ProjectError([Problem(path, line, message)]) from exc
    lines: dict[KeyPath, int] = {}
    repeated: list[KeyPath] = []
    if node is not None:
        _record_lines(node, (), lines, repeated)
        lines = {k: v + first_line - 1 for k, v in lines.items()}
    document = YamlDocument(path, data, lines)
    if repeated:
        raise ProjectError(
            [
                document.problem(key, f"key {'.'.join(str(k) for k in key)!r} appears twice")
                for key in repeated
            ]
        )
    return document


def load_yaml(path: Path) -> YamlDocument:
    """Read and parse a YAML file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProjectError([Problem(path, None, f"not UTF-8 text: {exc.reason}")]) from exc
    except OSError as exc:
        raise ProjectError([Problem(path, None, f"cannot read: {exc.strerror}")]) from exc
    return parse_yaml(text, path)
