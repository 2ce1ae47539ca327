"""Every node's position, as LibCST's ``PositionProvider`` gives it, at a fraction of its cost.

The provider generates the module's code while recording, for every node, where its code
starts and ends. Run through ``MetadataWrapper`` that costs two to three times the parse of
the file, mostly for the objects it builds for every node and every token. This state does
the same recording with plain tuples and builds a node's ``CodeRange`` only when it is
asked for: about five times faster, with identical positions (``tests/test_positions.py``
compares both on real code). It relies on the code-generation protocol LibCST's own
provider implements (``CodegenState``'s hooks), which that test guards.

A file usually reports a few nodes, so the engine records the statements that hold them
only (:meth:`Positions.within`), each generated alone and placed by where the parse guard
saw it start; the same test checks every statement so placed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange

from asynclint import source

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
        if kind is not None:
            return  # the statement's header is recorded alone (:class:`_HeaderRecorder`)
        end = (self.line, self.column)
        if start_node is not None:
            start = self.spans[id(start_node)][0]
        if end_node is not None:
            end = self.spans[id(end_node)][1]
        key = id(node)
        self.spans[key] = (start, end)
        self.nodes[key] = node


class _BodyReached(Exception):
    """The code generation of a header recorded alone reached the body."""


class _HeaderRecorder(_Recorder):
    """Records a compound statement up to its body (the ``def`` line of a function, with
    its decorators): a report on a function's name needs no more."""

    def __init__(self, module: cst.Module, body: cst.BaseSuite) -> None:
        super().__init__(module)
        self.body = body

    def before_codegen(self, node: cst.CSTNode) -> None:
        if node is self.body:
            raise _BodyReached
        super().before_codegen(node)


class Positions(Mapping[cst.CSTNode, CodeRange]):
    """Node → ``CodeRange`` (what ``PositionProvider`` resolves to), recorded on demand.

    Most files report a few nodes, and generating the code of the rest is the whole cost.
    So, given the source and where its logical lines start (the parse guard's scan),
    :meth:`within` records a single statement: the innermost of a node's ancestors that
    sits in the module's body or, so placed, in the body of a class or function, placed
    by where its first token is. A node not recorded that way makes the whole module be
    recorded, as does a statement whose code is not the source's where it was placed."""

    def __init__(
        self,
        module: cst.Module,
        text: str | None = None,
        lines: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        self._module = module
        self._text = text or ""
        self._lines = lines
        self._spans: dict[int, _Span] = {}
        self._nodes: dict[int, cst.CSTNode] = {}
        self._blocks: dict[int, list[int]] = {}
        self._complete = False

    @property
    def complete(self) -> bool:
        """Whether every node is recorded."""
        return self._complete

    def within(self, trail: Sequence[cst.CSTNode], node: cst.CSTNode | None = None) -> Positions:
        """Make sure the nodes of the innermost placeable statement of `trail` (ancestors,
        outermost first) are recorded; only its header when that holds `node` (reported
        where the trail ends in a compound statement: on a function's name, say)."""
        if self._complete or self._lines is None or not trail:
            return self
        if self.recorded(trail[-1]):
            return self  # recorded with a statement around it, with all it holds
        placed = self._place(trail, self._lines)
        if placed is None:
            return self
        statement, start, indents = placed
        if self.recorded(statement):
            return self
        body = getattr(statement, "body", None)
        if (
            node is not None
            and statement is trail[-1]
            and isinstance(body, cst.BaseSuite)
            and self._record(_HeaderRecorder(self._module, body), statement, start, indents)
            and self.recorded(node)
        ):
            return self
        if not self._record(_Recorder(self._module), statement, start, indents):
            self._record_all()
        return self

    def _place(
        self, trail: Sequence[cst.CSTNode], starts: Sequence[tuple[int, int]]
    ) -> tuple[cst.BaseStatement, int, list[str]] | None:
        """The statement, where its first token is, and the indentation of the blocks
        around it; None when the trail does not start in the module's body or the body's
        statements do not pair with the lines."""
        body: Sequence[cst.BaseStatement] = self._module.body
        lines = self._children(starts, -1, -1)
        indents: list[str] = []
        placed = None
        for node in trail:
            if len(lines) != len(body):
                break
            number = next((n for n, statement in enumerate(body) if statement is node), None)
            if number is None:
                break
            statement = body[number]
            offset, width = starts[lines[number]]
            placed = statement, offset, list(indents)
            if not isinstance(statement, (cst.ClassDef, cst.FunctionDef)) or not isinstance(
                statement.body, cst.IndentedBlock
            ):
                break
            block = statement.body
            indents.append(self._module.default_indent if block.indent is None else block.indent)
            lines = self._children(starts, lines[number], width)
            body = block.body
        return placed

    def _children(self, starts: Sequence[tuple[int, int]], first: int, width: int) -> list[int]:
        """The lines (indexes into the scan's) where the statements of the block after
        line `first` (of indentation `width`) start: the next lines deeper than `width`,
        those as deep as the first, a run of decorators and what they decorate as one."""
        if first in self._blocks:
            return self._blocks[first]
        found = self._blocks[first] = []
        header = first
        while header >= 0 and self._text[starts[header][0]] == "@":
            header += 1  # the decorated statement's own line
        depth = None
        decorated = False
        for number in range(header + 1, len(starts)):
            offset, indentation = starts[number]
            if indentation <= width:
                break
            if offset >= len(self._text) or self._text[offset] in _NOT_CODE:
                continue  # the start of the file, without code
            if depth is None:
                depth = indentation
            if indentation == depth:
                if not decorated:
                    found.append(number)
                decorated = self._text[offset] == "@"
        return found

    def _record(
        self, recorder: _Recorder, statement: cst.BaseStatement, start: int, indents: list[str]
    ) -> bool:
        """Record `statement`, whose first token is at offset `start`, inside blocks
        indented by `indents`; False when its code is not the source's there."""
        recorder.indent_tokens = indents
        with contextlib.suppress(_BodyReached):
            statement._codegen(recorder)
        code = "".join(recorder.tokens)
        lead = _BEFORE_CODE.match(code)
        begin = start - (lead.end() if lead else 0)
        if begin < 0 or not self._text.startswith(code, begin):
            return False
        shift = source.line_breaks(self._text, 0, begin)
        for key, ((line, column), (end_line, end_column)) in recorder.spans.items():
            self._spans[key] = ((line + shift, column), (end_line + shift, end_column))
        self._nodes.update(recorder.nodes)
        return True

    def _record_all(self) -> None:
        recorder = _Recorder(self._module)
        self._module._codegen(recorder)
        self._spans, self._nodes, self._complete = recorder.spans, recorder.nodes, True

    def recorded(self, node: object) -> bool:
        """Whether `node`'s position is known without recording more."""
        return self._nodes.get(id(node)) is node

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        if not self.recorded(node):
            if self._complete:
                raise KeyError(node)
            self._record_all()
            return self[node]
        (line, column), (end_line, end_column) = self._spans[id(node)]
        return CodeRange(CodePosition(line, column), CodePosition(end_line, end_column))

    def __contains__(self, node: object) -> bool:
        if not self.recorded(node) and not self._complete:
            self._record_all()
        return self.recorded(node)

    def __iter__(self) -> Iterator[cst.CSTNode]:
        if not self._complete:
            self._record_all()
        return iter(self._nodes.values())

    def __len__(self) -> int:
        if not self._complete:
            self._record_all()
        return len(self._spans)


_NOT_CODE = " \t\f\r\n#"
_BEFORE_CODE = re.compile(r"(?:[ \t\f]*(?:#[^\r\n]*)?(?:\r\n|\r|\n))*[ \t\f]*")
"""Blank and comment lines, then indentation: what a statement's code has before its first
token."""


def positions(
    module: cst.Module, text: str | None = None, lines: Sequence[tuple[int, int]] | None = None
) -> Positions:
    """The syntactic position of every node of `module`; recorded per statement when `text`
    is its source and `lines` where its logical lines start (``source.parse_scanned``)."""
    return Positions(module, text, lines)
