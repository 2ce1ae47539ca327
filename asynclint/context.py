"""The traversal context every rule reads: where the current node sits.

The engine updates it before a node's ``visit_*`` methods run and after its ``leave_*``
methods ran, so rules never re-derive "am I in an ``async def``?" (a nested ``def`` or a
``lambda`` inside an ``async def`` is *not* async code: the classic trap).
"""

from __future__ import annotations

import enum
import functools
import os
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange

from asynclint import index
from asynclint.index import module_name
from asynclint.positions import Positions
from asynclint.positions import positions as positions_of
from asynclint.resolve import Resolver
from asynclint.scope import Scope, ScopeKind
from asynclint.usage import loaded_names, reads_any_local

_T = typing.TypeVar("_T")
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
TRACKED = frozenset(
    [
        cst.SimpleStatementLine,
        cst.FunctionDef,
        cst.Lambda,
        cst.ClassDef,
        *_COMPREHENSIONS,
        cst.Try,
        cst.TryStar,
        cst.ExceptHandler,
        cst.ExceptStarHandler,
        cst.Finally,
        cst.Else,
        cst.With,
        cst.For,
        cst.While,
        cst.If,
        cst.Match,
    ]
)
"""The node types the context tracks (the engine's walk calls :meth:`Context.enter` and
:meth:`Context.leave` for these only), looked up by exact type (LibCST's node classes are
final): most nodes are none of them, and ``isinstance`` against LibCST's abstract base
classes is slow when asked for every node."""


class BlockKind(enum.Enum):
    TRY = "try"
    EXCEPT = "except"
    ELSE = "else"
    FINALLY = "finally"
    WITH = "with"
    ASYNC_WITH = "async with"
    LOOP = "loop"


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    node: cst.CSTNode


@dataclass(frozen=True)
class Function:
    """An enclosing ``def``, ``async def`` or ``lambda``."""

    node: cst.FunctionDef | cst.Lambda
    scope: Scope
    class_node: cst.ClassDef | None
    """The class when this is a method (defined directly in a class body)."""

    @property
    def is_async(self) -> bool:
        return isinstance(self.node, cst.FunctionDef) and self.node.asynchronous is not None

    @property
    def name(self) -> str:
        return self.node.name.value if isinstance(self.node, cst.FunctionDef) else "<lambda>"


class Context:
    """Mutable traversal state for one file, shared by all rules of the pass."""

    def __init__(
        self,
        path: str,
        module: cst.Module,
        text: str | None = None,
        lines: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        self.path = path
        self.module = module
        self._text = text
        self._lines = lines
        self.trail: list[cst.CSTNode] = []
        """The tracked nodes the pass is in, outermost first."""
        self._shared: dict[object, object] = {}
        self.resolver = Resolver(
            module_name(path), os.path.basename(path) == "__init__.py", index.active()
        )
        self.scope = Scope.build(ScopeKind.MODULE, module, None)
        self.functions: list[Function] = []
        self.classes: list[cst.ClassDef] = []
        self.blocks: list[Block] = []
        self.statements: list[cst.SimpleStatementLine] = []
        self._else_owner: dict[int, BlockKind] = {}
        self._loads: dict[int, frozenset[str]] = {}

    # -- questions rules ask -------------------------------------------------------------

    @property
    def function(self) -> Function | None:
        return self.functions[-1] if self.functions else None

    @property
    def in_async_def(self) -> bool:
        """True in the body of an ``async def`` (not in a nested ``def`` or ``lambda``)."""
        return bool(self.functions) and self.functions[-1].is_async

    @property
    def statement(self) -> cst.SimpleStatementLine | None:
        return self.statements[-1] if self.statements else None

    def qualname(self, expr: cst.BaseExpression) -> str | None:
        return self.resolver.qualname(expr, self.scope)

    def infer(self, expr: cst.BaseExpression) -> str | None:
        return self.resolver.infer(expr, self.scope)

    def is_local(self, name: str) -> bool:
        """True when `name` is a plain local variable of the enclosing function."""
        function = self.function
        return (
            function is not None
            and name in function.scope.bindings
            and name not in function.scope.global_names
            and name not in function.scope.nonlocal_names
        )

    def is_used(self, name: str) -> bool:
        """True when the enclosing function reads `name` anywhere (closures included)."""
        function = self.function
        if function is None:
            return True
        key = id(function.node)
        if key not in self._loads:
            self._loads[key] = loaded_names(function.node)
        names = self._loads[key]
        return name in names or reads_any_local(names)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def shared(self, key: object, make: Callable[[], _T]) -> _T:
        """A value the rules of this file share (built by `make` the first time `key` is
        asked for). It lives as long as the file's pass: a module-level cache keyed by the
        context would keep every file's tree alive if the value refers back to it."""
        if key not in self._shared:
            self._shared[key] = make()
        return typing.cast(_T, self._shared[key])

    @property
    def text(self) -> str:
        """The module's source (what the engine read; regenerated when not given)."""
        if self._text is None:
            self._text = self.module.code
        return self._text

    @functools.cached_property
    def positions(self) -> Positions:
        """Every node's position, recorded on demand, once per file for the engine and
        every rule: recording a statement costs about half its parse, and most files
        report nothing."""
        return positions_of(self.module, self._text, self._lines)

    def position(self, node: cst.CSTNode) -> CodeRange:
        """Where `node`, in the statement the pass is in, is."""
        return self.positions.within(self.trail, node)[node]

    # -- maintained by the engine --------------------------------------------------------

    def close(self) -> None:
        """End of the pass: drop everything, the tree first (see ``engine._end_pass``)."""
        vars(self).clear()

    def enter(self, node: cst.CSTNode) -> None:
        if type(node) not in TRACKED:
            return
        self.trail.append(node)
        if type(node) is cst.SimpleStatementLine:  # the most frequent
            self.statements.append(node)
        elif isinstance(node, (cst.FunctionDef, cst.Lambda)):
            method_of = self.classes[-1] if self.scope.kind is ScopeKind.CLASS else None
            kind = ScopeKind.FUNCTION if isinstance(node, cst.FunctionDef) else ScopeKind.LAMBDA
            self.scope = Scope.build(kind, node, self.scope)
            self.functions.append(Function(node, self.scope, method_of))
        elif isinstance(node, cst.ClassDef):
            self.scope = Scope.build(ScopeKind.CLASS, node, self.scope)
            self.classes.append(node)
        elif isinstance(node, _COMPREHENSIONS):
            self.scope = Scope.build(ScopeKind.COMPREHENSION, node, self.scope)
        else:
            block = self._block_kind(node)
            if block is not None:
                self.blocks.append(Block(block, node))

    def leave(self, node: cst.CSTNode) -> None:
        if type(node) not in TRACKED:
            return
        self.trail.pop()
        if type(node) is cst.SimpleStatementLine:
            self.statements.pop()
        elif isinstance(node, (cst.FunctionDef, cst.Lambda)):
            self.functions.pop()
            self._pop_scope()
        elif isinstance(node, cst.ClassDef):
            self.classes.pop()
            self._pop_scope()
        elif isinstance(node, _COMPREHENSIONS):
            self._pop_scope()
        elif self.blocks and self.blocks[-1].node is node:
            self.blocks.pop()

    def _pop_scope(self) -> None:
        assert self.scope.parent is not None
        self.scope = self.scope.parent

    def _block_kind(self, node: cst.CSTNode) -> BlockKind | None:
        if isinstance(node, (cst.Try, cst.TryStar)):
            if node.orelse is not None:
                self._else_owner[id(node.orelse)] = BlockKind.ELSE
            return BlockKind.TRY
        if isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)):
            return BlockKind.EXCEPT
        if isinstance(node, cst.Finally):
            return BlockKind.FINALLY
        if isinstance(node, cst.Else):
            return self._else_owner.pop(id(node), None)
        if isinstance(node, cst.With):
            return BlockKind.WITH if node.asynchronous is None else BlockKind.ASYNC_WITH
        if isinstance(node, (cst.For, cst.While)):
            return BlockKind.LOOP
        return None
