"""Every node's position, as LibCST's ``PositionProvider`` gives it, at a fraction of its cost.

The provider generates the module's code while recording, for every node, where its code
starts and ends. Run through ``MetadataWrapper`` that costs two to three times the parse of
the file, mostly for the objects it builds for every node and every token. This state does
the same recording with plain tuples and builds a node's ``CodeRange`` only when it is
asked for: about five times faster, with identical positions (``tests/test_positions.py``
compares both on real code). It relies on the code-generation protocol LibCST's own
provider implements (``CodegenState``'s hooks), which that test guards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange

_NEWLINE = re.compile(r"\r\n?|\n")
_Point = tuple[int, int]


class _Recorder(CodegenState):
    """Tracks the line and column of the code generated so far (lines 1-based, columns
    0-based, as LibCST counts), and each node's syntactic start and end."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.line = 1
        self.column = 0
        self.starts: list[_Point] = []
        self.spans: dict[cst.CSTNode, tuple[_Point, _Point]] = {}

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" in value or "\r" in value:
            segments = _NEWLINE.split(value)
            self.line += len(segments) - 1
            self.column = len(segments[-1])
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.starts.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self.starts.pop()
        if node not in self.spans:  # a syntactic position recorded inside wins
            self.spans[node] = (start, (self.line, self.column))

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        start = (self.line, self.column)
        try:
            yield
        finally:
            end = (self.line, self.column)
            if start_node is not None:
                start = self.spans[start_node][0]
            if end_node is not None:
                end = self.spans[end_node][1]
            self.spans[node] = (start, end)


class Positions(Mapping[cst.CSTNode, CodeRange]):
    """Node → ``CodeRange`` (what ``PositionProvider`` resolves to), built on demand."""

    def __init__(self, spans: Mapping[cst.CSTNode, tuple[_Point, _Point]]) -> None:
        self._spans = spans

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        (line, column), (end_line, end_column) = self._spans[node]
        return CodeRange(CodePosition(line, column), CodePosition(end_line, end_column))

    def __contains__(self, node: object) -> bool:
        return node in self._spans

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)


def positions(module: cst.Module) -> Positions:
    """The syntactic position of every node of `module`."""
    recorder = _Recorder(module)
    module._codegen(recorder)
    return Positions(recorder.spans)
