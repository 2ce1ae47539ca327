"""Shared logic of the blocking-call rules (ASL301 to ASL306).

Each call, ``with`` item and ``for`` iterable inside an ``async def`` is classified once per
file against :mod:`asynclint.knowledge.blocking`; the rules only keep the findings of their
own code. Receivers of methods are typed from local evidence only (a constructor call, an
annotation, a ``with ... as`` target, ``self.x`` assigned in the class), so a method name is
never matched on an object of unknown type. The resolver's own inference knows only the
asyncio types, hence the small inference here over the blocking tables.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import libcst as cst

from asynclint import walk
from asynclint.context import Context
from asynclint.knowledge.blocking import (
    ATTRIBUTE_TYPES,
    DIVISION_TYPES,
    FRESH_NEVER_BLOCKS,
    FUNCTIONS,
    ITERATE,
    METHOD_RETURN_TYPES,
    METHODS,
    NON_BLOCKING_MODES,
    RETURN_TYPES,
    SELF_RETURNING_CMS,
    TYPE_ALIASES,
    WITH,
    Blocking,
    Unless,
)
from asynclint.resolve import _union_members
from asynclint.rule import Rule
from asynclint.rules.unawaited_coroutine import callee_spelling
from asynclint.scope import Binding, BindingKind, Scope

_MAX_DEPTH = 8
_CALL = "call"
"""The role of a node that is called (the others are :data:`WITH` and :data:`ITERATE`)."""
_NONE = "builtins.None"
_FALSE_LITERALS = frozenset(["False", "0", "0.0", "0.", ".0"])


@dataclass(frozen=True)
class TypeTables:
    """What local evidence can reveal: the types classes stand for, what calls return."""

    classes: Callable[[str], str | None]
    """Class name (as imported) → the canonical type of its instances, or None."""
    returns: Mapping[str, str] = field(default_factory=dict)
    method_returns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    division: frozenset[str] = frozenset()
    self_returning_cms: frozenset[str] = frozenset()


BLOCKING_TYPES = TypeTables(
    classes=TYPE_ALIASES.get,
    returns=RETURN_TYPES,
    method_returns=METHOD_RETURN_TYPES,
    attributes=ATTRIBUTE_TYPES,
    division=DIVISION_TYPES,
    self_returning_cms=SELF_RETURNING_CMS,
)


class Evidence:
    """The type of an expression when local evidence shows it, per a :class:`TypeTables`."""

    def __init__(self, context: Context, tables: TypeTables) -> None:
        self.context = context
        self.tables = tables

    def infer(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> str | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, cst.Call):
            return self._call_type(expr, scope, depth)
        if isinstance(expr, cst.Name):
            bindings = scope.lookup(expr.value)
            if bindings is None:
                return None
            return _agree(self._binding_type(binding, depth) for binding in bindings)
        if isinstance(expr, cst.Attribute):
            return self._attribute_type(expr, scope, depth)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
            left = self.infer(expr.left, scope, depth + 1)
            return left if left in self.tables.division else None
        if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
            known = {self.infer(side, scope, depth + 1) for side in (expr.left, expr.right)}
            known.discard(None)
            return known.pop() if len(known) == 1 else None
        if isinstance(expr, cst.IfExp):
            return _agree(
                self.infer(side, scope, depth + 1)
                for side in (expr.body, expr.orelse)
                if not _is_none(side)
            )
        return None

    def annotation_type(self, annotation: cst.BaseExpression, scope: Scope) -> str | None:
        """``T``, ``Optional[T]``, ``T | None``, ``"T"`` and ``T[...]`` all name T."""
        if isinstance(annotation, cst.SimpleString):
            text = annotation.evaluated_value
            try:
                annotation = cst.parse_expression(text if isinstance(text, str) else "")
            except cst.ParserSyntaxError:
                return None
        resolver = self.context.resolver
        return _agree(
            self._class_type(
                resolver.qualname(
                    member.value if isinstance(member, cst.Subscript) else member, scope
                )
            )
            for member in _union_members(annotation, resolver, scope)
            if not _is_none(member)
        )

    def _class_type(self, qualname: str | None) -> str | None:
        return None if qualname is None else self.tables.classes(qualname)

    def _call_type(self, call: cst.Call, scope: Scope, depth: int) -> str | None:
        callee = self.context.resolver.qualname(call.func, scope)
        if callee is not None:
            known = self.tables.returns.get(callee) or self._class_type(callee)
            if known is not None:
                return known
        if isinstance(call.func, cst.Attribute):
            receiver = self.infer(call.func.value, scope, depth + 1)
            if receiver is not None:
                return self.tables.method_returns.get(receiver, {}).get(call.func.attr.value)
        return None

    def _binding_type(self, binding: Binding, depth: int) -> str | None:
        if binding.annotation is not None:
            declared = self.annotation_type(binding.annotation, binding.scope)
            if declared is not None or binding.kind is BindingKind.PARAM:
                return declared
        if binding.kind is BindingKind.ASSIGN and binding.value is not None:
            if _is_none(binding.value):
                return _NONE
            return self.infer(binding.value, binding.scope, depth + 1)
        if binding.kind is BindingKind.WITH and binding.value is not None:
            managed = self.infer(binding.value, binding.scope, depth + 1)
            return managed if managed in self.tables.self_returning_cms else None
        return None

    def _attribute_type(self, expr: cst.Attribute, scope: Scope, depth: int) -> str | None:
        """``self.x``: every value or annotation given to ``x`` in the class agrees; else an
        attribute of a known type (``path.parent``)."""
        resolver = self.context.resolver
        if isinstance(expr.value, cst.Name):
            class_scope = resolver.class_of_self(expr.value.value, scope)
            if class_scope is not None:
                sources = resolver._attributes(class_scope).get(expr.attr.value, [])
                return _agree(self._source_type(node, where, depth) for node, where in sources)
        owner = self.infer(expr.value, scope, depth + 1)
        if owner is None:
            return None
        return self.tables.attributes.get(owner, {}).get(expr.attr.value)

    def _source_type(self, node: cst.CSTNode, where: Scope, depth: int) -> str | None:
        if isinstance(node, cst.Annotation):
            return self.annotation_type(node.annotation, where)
        if isinstance(node, cst.BaseExpression):
            return _NONE if _is_none(node) else self.infer(node, where, depth + 1)
        return None


def _agree(results: Iterable[str | None]) -> str | None:
    """The one type every result shows (``None`` values aside); unknown poisons."""
    seen = set(results)
    seen.discard(_NONE)
    return seen.pop() if len(seen) == 1 else None


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


@dataclass(frozen=True)
class Hit:
    """A blocking operation found: the table entry and how to name it in the message."""

    entry: Blocking
    spelling: str
    qualname: str
    """The function's qualified name, or ``Type.method`` for a method or pseudo-method."""


class Finder:
    """Classifies nodes of one file; each node is classified once for all the rules."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.evidence = Evidence(context, BLOCKING_TYPES)
        self.awaited: set[int] = set()
        self._last: tuple[str, cst.CSTNode | None, Hit | None] = ("", None, None)
        self._mode_switched: dict[int, frozenset[str]] = {}
        self._previous: dict[int, dict[int, cst.BaseStatement]] = {}

    def classify(
        self, role: str, node: cst.BaseExpression, statement: cst.BaseStatement | None
    ) -> Hit | None:
        """What `node` does in `role` (a call, a ``with`` item or a ``for`` iterable) in
        `statement`, computed once: the rules visit the same node one after another."""
        last_role, last_node, hit = self._last
        if last_node is not node or last_role != role:
            hit = self._classify(role, node, statement)
            self._last = (role, node, hit)
        return hit

    def _classify(
        self, role: str, node: cst.BaseExpression, statement: cst.BaseStatement | None
    ) -> Hit | None:
        if role == _CALL:
            assert isinstance(node, cst.Call)
            return self._call(node, statement)
        if isinstance(node, cst.Call) and self._call(node, statement) is not None:
            return None  # `for line in open(path)`: the call is the finding
        found = self._method(node, role, statement)
        if found is None:
            return None
        spelling = callee_spelling(self.context, node)
        spelling = f"with {spelling}" if role == WITH else f"for ... in {spelling}"
        return Hit(found[1], spelling, f"{found[0]}.{role}")

    def _call(self, call: cst.Call, statement: cst.BaseStatement | None) -> Hit | None:
        if id(call) in self.awaited:
            return None
        qualname = self.context.qualname(call.func)
        if qualname in FUNCTIONS:
            entry = FUNCTIONS[qualname]
            return self._hit(entry, call, qualname) if self._blocks(entry, call.args) else None
        if not isinstance(call.func, cst.Attribute):
            return None
        method = call.func.attr.value
        found = self._method(call.func.value, method, statement)
        if found is None or not self._blocks(found[1], call.args):
            return None
        return self._hit(found[1], call, f"{found[0]}.{method}")

    def _hit(self, entry: Blocking, call: cst.Call, qualname: str) -> Hit:
        """The hit, spelt as written (generating the callee's code: only for hits)."""
        spelling = f"{callee_spelling(self.context, call.func)}({'...' if call.args else ''})"
        return Hit(entry, spelling, qualname)

    def _method(
        self, receiver: cst.BaseExpression, method: str, statement: cst.BaseStatement | None
    ) -> tuple[str, Blocking] | None:
        kind = self.evidence.infer(receiver, self.context.scope)
        entry = METHODS.get(kind or "", {}).get(method)
        if kind is None or entry is None:
            return None
        if kind in NON_BLOCKING_MODES and not self._in_blocking_mode(receiver, kind):
            return None
        if kind in FRESH_NEVER_BLOCKS and self._created_just_before(receiver, kind, statement):
            return None
        return kind, entry

    def _created_just_before(
        self, receiver: cst.BaseExpression, kind: str, statement: cst.BaseStatement | None
    ) -> bool:
        """`lock = threading.Lock()` then `lock.acquire()` in the same block: nobody else
        can hold a local lock that was created by the statement just before."""
        function = self.context.function
        if not (
            function is not None
            and statement is not None
            and isinstance(receiver, cst.Name)
            and self.context.is_local(receiver.value)
        ):
            return False
        key = id(function.node)
        if key not in self._previous:
            self._previous[key] = _previous_statements(function.node)
        previous = self._previous[key].get(id(statement))
        if not (isinstance(previous, cst.SimpleStatementLine) and len(previous.body) == 1):
            return False
        assign = previous.body[0]
        return (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and assign.targets[0].target.value == receiver.value
            and self.evidence.infer(assign.value, self.context.scope) == kind
        )

    def _in_blocking_mode(self, receiver: cst.BaseExpression, kind: str) -> bool:
        """A socket is known to block only when this function created it (not a parameter
        or an attribute: asyncio code passes non-blocking sockets around) and never
        switched its mode."""
        function = self.context.function
        if function is None or not isinstance(receiver, cst.Name):
            return False
        bindings = function.scope.bindings.get(receiver.value, [])
        if not bindings or any(
            b.kind not in (BindingKind.ASSIGN, BindingKind.WITH) for b in bindings
        ):
            return False
        key = id(function.node)
        if key not in self._mode_switched:
            self._mode_switched[key] = _receivers_of(function.node, NON_BLOCKING_MODES[kind])
        return receiver.value not in self._mode_switched[key]

    def _blocks(self, entry: Blocking, args: Iterable[cst.Arg]) -> bool:
        """False when an argument makes the call return at once, or may (unknown switch)."""
        arguments = list(args)
        return all(self._argument_blocks(unless, arguments) for unless in entry.unless)

    def _argument_blocks(self, unless: Unless, args: list[cst.Arg]) -> bool:
        value = _argument(args, unless)
        if value is _UNKNOWN:
            return unless.is_timeout
        if value is None:
            return True
        if unless.flag is not None:
            return not any(self.context.qualname(e) == unless.flag for e in _operands(value))
        code = self.context.code(value).strip()
        if code in _FALSE_LITERALS:
            return False
        literal = isinstance(value, (cst.Integer, cst.Float)) or (
            isinstance(value, cst.Name) and value.value in ("True", "None")
        )
        return literal or unless.is_timeout


_UNKNOWN = cst.Name("_unknown_")
"""Stands for an argument hidden in ``*args``/``**kwargs``."""


def _argument(args: list[cst.Arg], unless: Unless) -> cst.BaseExpression | None:
    """The argument `unless` is about, None when absent, :data:`_UNKNOWN` when hidden."""
    for arg in args:
        if arg.keyword is not None and arg.keyword.value == unless.keyword:
            return arg.value
    positional = [arg for arg in args if arg.keyword is None]
    if any(arg.star for arg in args):
        return _UNKNOWN
    if unless.position is not None and unless.position < len(positional):
        return positional[unless.position].value
    return None


def _operands(expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The leaves of ``a | b | c``."""
    if isinstance(expr, cst.BinaryOperation):
        yield from _operands(expr.left)
        yield from _operands(expr.right)
    else:
        yield expr


class _Blocks(cst.CSTVisitor):
    """Maps each statement of a function to the statement just before it in its block."""

    def __init__(self) -> None:
        super().__init__()
        self.previous: dict[int, cst.BaseStatement] = {}

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        for before, statement in itertools.pairwise(node.body):
            self.previous[id(statement)] = before


def _previous_statements(node: cst.CSTNode) -> dict[int, cst.BaseStatement]:
    blocks = _Blocks()
    walk.visit(node, blocks)
    return blocks.previous


class _MethodCalls(cst.CSTVisitor):
    """Collects the names on which one of `methods` is called."""

    def __init__(self, methods: frozenset[str]) -> None:
        super().__init__()
        self.methods = methods
        self.receivers: set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in self.methods
            and isinstance(func.value, cst.Name)
        ):
            self.receivers.add(func.value.value)


def _receivers_of(node: cst.CSTNode, methods: frozenset[str]) -> frozenset[str]:
    """Names on which one of `methods` is called anywhere in `node`."""
    calls = _MethodCalls(methods)
    walk.visit(node, calls)
    return frozenset(calls.receivers)


def finder(context: Context) -> Finder:
    """The file's :class:`Finder`, shared by every blocking rule of the pass."""
    return context.shared(Finder, lambda: Finder(context))


class BlockingCallRule(Rule):
    """Base of ASL301 to ASL305: reports the blocking operations whose entry has its code."""

    async_only = True
    message = "`{call}` blocks the event loop; use {instead}"

    def visit_Await(self, node: cst.Await) -> None:
        finder(self.context).awaited.add(id(node.expression))

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.in_async_def:
            self._check(_CALL, node, self.context.statement)

    def visit_With(self, node: cst.With) -> None:
        if self.context.in_async_def and node.asynchronous is None:
            for item in node.items:
                self._check(WITH, item.item, node)

    def visit_For(self, node: cst.For) -> None:
        if self.context.in_async_def and node.asynchronous is None:
            self._check(ITERATE, node.iter, None)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if self.context.in_async_def and node.asynchronous is None:
            self._check(ITERATE, node.iter, None)

    def _check(
        self, role: str, node: cst.BaseExpression, statement: cst.BaseStatement | None
    ) -> None:
        hit = finder(self.context).classify(role, node, statement)
        if hit is not None and hit.entry.code == self.code:
            self.report_hit(node, hit)

    def report_hit(self, node: cst.BaseExpression, hit: Hit) -> None:
        """Report `hit` on `node`; ASL301 overrides it to add its fix."""
        self.report(node, call=hit.spelling, instead=hit.entry.instead)
