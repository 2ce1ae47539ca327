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
from types import TracebackType

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange

_NEWLINE = re.compile(r"\r\n?|\n")
_Point = tuple[int, int]
_Span = tuple[_Point, _Point]
_Pending = tuple[cst.CSTNode, "cst.CSTNode | None", "cst.CSTNode | None", _Point]


class _Recorder(CodegenState):
    """Tracks the line and column of the code generated so far (lines 1-based, columns
    0-based, as LibCST counts), and each node's syntactic start and end.

    Its hooks run for every node and token, so they stay cheap: spans are keyed by the
    node's id (a node's hash is its id, computed in Python) and hold plain tuples of ints
    (which the garbage collector stops tracking), and the recorder itself is the context
    manager ``record_syntactic_position`` returns, with a stack of the positions it is
    recording (LibCST nests them), instead of a generator-based one per call. `nodes`
    keeps every recorded node, so that no id is reused while the positions are in use."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.line = 1
        self.column = 0
        self.starts: list[_Point] = []
        self.spans: dict[int, _Span] = {}
        self.nodes: dict[int, cst.CSTNode] = {}
        self.syntactic: list[_Pending] = []

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
        key = id(node)
        if key not in self.spans:  # a syntactic position recorded inside wins
            self.spans[key] = (start, (self.line, self.column))
            self.nodes[key] = node

    def record_syntactic_position(  # type: ignore[override]  # any context manager will do
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _Recorder:
        self.syntactic.append((node, start_node, end_node, (self.line, self.column)))
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        node, start_node, end_node, start = self.syntactic.pop()
        end = (self.line, self.column)
        if start_node is not None:
            start = self.spans[id(start_node)][0]
        if end_node is not None:
            end = self.spans[id(end_node)][1]
        key = id(node)
        self.spans[key] = (start, end)
        self.nodes[key] = node


class Positions(Mapping[cst.CSTNode, CodeRange]):
    """Node → ``CodeRange`` (what ``PositionProvider`` resolves to), built on demand."""

    def __init__(self, spans: Mapping[int, _Span], nodes: Mapping[int, cst.CSTNode]) -> None:
        self._spans = spans
        self._nodes = nodes

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        if self._nodes.get(id(node)) is not node:
            raise KeyError(node)
        (line, column), (end_line, end_column) = self._spans[id(node)]
        return CodeRange(CodePosition(line, column), CodePosition(end_line, end_column))

    def __contains__(self, node: object) -> bool:
        return self._nodes.get(id(node)) is node

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._nodes.values())

    def __len__(self) -> int:
        return len(self._spans)


def positions(module: cst.Module) -> Positions:
    """The syntactic position of every node of `module`."""
    recorder = _Recorder(module)
    module._codegen(recorder)
    return Positions(recorder.spans, recorder.nodes)
