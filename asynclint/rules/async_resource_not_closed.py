"""ASL202 async-resource-not-closed.

Also home of what ASL201 shares with it: :class:`Flow` (which statements of a function
can run after which) and :class:`Resources` (what a creating expression makes, what
type a receiver has).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst

from asynclint import walk
from asynclint.context import Context
from asynclint.knowledge import inert
from asynclint.knowledge.resources import (
    CONSTRUCTORS,
    FACTORY_METHODS,
    LOCK_CLASSES,
    LOCKS,
    OWNER_CLASSES,
    RESOURCES,
    Constructor,
    Enter,
    Resource,
)
from asynclint.rule import Invalid, Report, Rule, Valid
from asynclint.scope import Binding, BindingKind, Scope, ScopeKind, dotted_name, walk_small

Unit = cst.BaseStatement | cst.SimpleStatementSuite
"""A statement, or the small statements of a one-line suite (``if x: a(); b()``)."""

_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
_MAX_DEPTH = 6
_FACTORY_NAMES = frozenset(name for methods in FACTORY_METHODS.values() for name in methods)
EXPECT_RAISES = inert(frozenset(["pytest.raises"]))
EXPECT_RAISES_METHODS = frozenset(["assertRaises", "assertRaisesRegex"])
"""unittest's context managers for an expected exception, by method name."""


class Role(enum.Enum):
    """Which suite of its owner a statement sits in."""

    PLAIN = "plain"
    BRANCH = "branch"
    LOOP_BODY = "loop body"
    LOOP_ELSE = "loop else"
    TRY_BODY = "try body"
    HANDLER = "handler"
    TRY_ELSE = "try else"
    FINALLY = "finally"


@dataclass(frozen=True)
class Place:
    suite: cst.BaseSuite | None
    """The suite holding the statement (None for an ``elif``)."""
    units: Sequence[Unit]
    index: int
    owner: cst.BaseCompoundStatement | None
    role: Role


def nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`root` and what runs with it: nested functions, lambdas and classes left out."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed([c for c in walk.children(node) if not isinstance(c, _SCOPES)]))


def suspensions(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The ``await`` expressions and ``async`` comprehensions run by `root`."""
    for node in nodes(root):
        if isinstance(node, cst.Await) or (
            isinstance(node, cst.CompFor) and node.asynchronous is not None
        ):
            yield node


def headers(unit: Unit) -> list[cst.CSTNode]:
    """The parts of a compound statement that run before its body is entered."""
    if isinstance(unit, (cst.If, cst.While)):
        return [unit.test]
    if isinstance(unit, cst.For):
        return [unit.iter]
    if isinstance(unit, cst.With):
        return [item.item for item in unit.items]
    if isinstance(unit, cst.Match):
        return [unit.subject]
    return []


def _units(suite: cst.BaseSuite) -> Sequence[Unit]:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    assert isinstance(suite, cst.SimpleStatementSuite)
    return [suite]


def _suites(node: cst.BaseCompoundStatement) -> Iterator[tuple[cst.BaseSuite, Role]]:
    if isinstance(node, cst.If):
        yield node.body, Role.BRANCH
        if isinstance(node.orelse, cst.Else):
            yield node.orelse.body, Role.BRANCH
    elif isinstance(node, (cst.For, cst.While)):
        yield node.body, Role.LOOP_BODY
        if node.orelse is not None:
            yield node.orelse.body, Role.LOOP_ELSE
    elif isinstance(node, (cst.Try, cst.TryStar)):
        yield node.body, Role.TRY_BODY
        for handler in node.handlers:
            yield handler.body, Role.HANDLER
        if node.orelse is not None:
            yield node.orelse.body, Role.TRY_ELSE
        if node.finalbody is not None:
            yield node.finalbody.body, Role.FINALLY
    elif isinstance(node, cst.With):
        yield node.body, Role.PLAIN
    elif isinstance(node, cst.Match):
        for case in node.cases:
            yield case.body, Role.PLAIN


class Flow:
    """The statements of one function and which can run after which.

    Statement-level and path-insensitive: every branch may be taken, a loop may run any
    number of times, an exception in a ``try`` body may reach any of its handlers. A
    nested ``def`` or ``class`` is one statement; its body is not part of the flow.
    """

    def __init__(self, function: cst.FunctionDef) -> None:
        self.places: dict[int, Place] = {}
        self._add(function.body, _units(function.body), None, Role.PLAIN)

    def _add(
        self,
        suite: cst.BaseSuite | None,
        units: Sequence[Unit],
        owner: cst.BaseCompoundStatement | None,
        role: Role,
    ) -> None:
        for index, unit in enumerate(units):
            self.places[id(unit)] = Place(suite, units, index, owner, role)
            if not isinstance(unit, cst.BaseCompoundStatement) or isinstance(unit, _SCOPES):
                continue
            for inner, inner_role in _suites(unit):
                self._add(inner, _units(inner), unit, inner_role)
            if isinstance(unit, cst.If) and isinstance(unit.orelse, cst.If):
                self._add(None, [unit.orelse], unit, Role.BRANCH)

    def first(self, suite: cst.BaseSuite) -> Unit:
        return _units(suite)[0]

    def after(self, unit: Unit) -> list[Unit]:
        """What runs when `unit` completes normally."""
        place = self.places[id(unit)]
        if place.index + 1 < len(place.units):
            return [place.units[place.index + 1]]
        owner = place.owner
        if owner is None:
            return []
        if place.role is Role.LOOP_BODY:
            assert isinstance(owner, (cst.For, cst.While))
            return [self.first(owner.body), *self._loop_exit(owner)]
        if place.role is Role.TRY_BODY:
            assert isinstance(owner, (cst.Try, cst.TryStar))
            if owner.orelse is not None:
                return [self.first(owner.orelse.body)]
            return self._finally_or_after(owner)
        if place.role in (Role.HANDLER, Role.TRY_ELSE):
            assert isinstance(owner, (cst.Try, cst.TryStar))
            return self._finally_or_after(owner)
        return self.after(owner)

    def _loop_exit(self, loop: cst.For | cst.While) -> list[Unit]:
        """Where a loop goes when its test fails (``while True`` only leaves by ``break``)."""
        if isinstance(loop, cst.While) and _always_true(loop.test):
            return []
        return [self.first(loop.orelse.body)] if loop.orelse is not None else self.after(loop)

    def _finally_or_after(self, node: cst.Try | cst.TryStar) -> list[Unit]:
        return [self.first(node.finalbody.body)] if node.finalbody is not None else self.after(node)

    def enter(self, unit: Unit, handlers: bool = True) -> list[Unit]:
        """What runs right after the header of a compound statement (an exception in a
        ``try`` body reaches its handlers unless `handlers` is false)."""
        if isinstance(unit, cst.If):
            other: list[Unit]
            if isinstance(unit.orelse, cst.If):
                other = [unit.orelse]
            elif isinstance(unit.orelse, cst.Else):
                other = [self.first(unit.orelse.body)]
            else:
                other = self.after(unit)
            return [self.first(unit.body), *other]
        if isinstance(unit, (cst.For, cst.While)):
            return [self.first(unit.body), *self._loop_exit(unit)]
        if isinstance(unit, (cst.Try, cst.TryStar)):
            caught = unit.handlers if handlers else ()
            return [self.first(unit.body), *(self.first(h.body) for h in caught)]
        if isinstance(unit, cst.With):
            return [self.first(unit.body)]
        if isinstance(unit, cst.Match):
            return [*(self.first(case.body) for case in unit.cases), *self.after(unit)]
        return self.after(unit)

    def jump(self, small: cst.Break | cst.Continue, unit: Unit) -> list[Unit]:
        """Where ``break``/``continue`` in `unit` goes."""
        place = self.places[id(unit)]
        while place.owner is not None:
            if place.role is Role.LOOP_BODY:
                loop = place.owner
                assert isinstance(loop, (cst.For, cst.While))
                if isinstance(small, cst.Break):
                    return self.after(loop)
                return [self.first(loop.body), *self._loop_exit(loop)]
            place = self.places[id(place.owner)]
        return []

    def ancestors(self, unit: Unit) -> Iterator[Place]:
        """The places of `unit` and of each compound statement around it, innermost first."""
        place = self.places[id(unit)]
        while True:
            yield place
            if place.owner is None:
                return
            place = self.places[id(place.owner)]


def _always_true(test: cst.BaseExpression) -> bool:
    return (isinstance(test, cst.Name) and test.value == "True") or (
        isinstance(test, cst.Integer) and test.value != "0"
    )


def smalls(unit: Unit) -> Sequence[cst.BaseSmallStatement]:
    return (
        unit.body if isinstance(unit, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else ()
    )


def is_simple(unit: Unit) -> bool:
    return isinstance(unit, (cst.SimpleStatementLine, cst.SimpleStatementSuite))


# -- what a creating expression makes -----------------------------------------------------


@dataclass(frozen=True)
class Creation:
    """A statement that makes a resource."""

    call: cst.Call
    constructor: Constructor
    target: str | None
    """The local the resource is bound to; None when it is dropped."""
    owner: cst.BaseExpression | None
    """The receiver of a factory method (``session`` in ``await session.get(url)``)."""

    @property
    def resource(self) -> Resource:
        return RESOURCES[self.constructor.resource]


class Resources:
    """What expressions make and what type receivers have, from local evidence.

    The resolver knows asyncio's types; this adds the resource owners and anyio locks of
    :mod:`asynclint.knowledge.resources`: a local assigned from a constructor, a parameter
    or attribute annotated with the class, ``async with Ctor() as x``, and ``self.x``
    assigned or annotated anywhere in the class.
    """

    def __init__(self, context: Context) -> None:
        self.context = context
        self._attributes: dict[int, dict[str, list[tuple[cst.CSTNode, Scope]]]] = {}

    def _constructor(
        self, call: cst.Call, scope: Scope, depth: int
    ) -> tuple[Constructor, cst.BaseExpression | None] | None:
        qualname = self.context.resolver.qualname(call.func, scope)
        found = CONSTRUCTORS.get(qualname or "")
        if found is not None:
            return found, None
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in _FACTORY_NAMES:
            owner_type = self.type_of(call.func.value, scope, depth + 1)
            found = FACTORY_METHODS.get(owner_type or "", {}).get(call.func.attr.value)
            if found is not None:
                return found, call.func.value
        return None

    def made_by(
        self, value: cst.BaseExpression, scope: Scope, depth: int = 0
    ) -> tuple[Constructor, cst.BaseExpression | None] | None:
        """The constructor `value` calls (awaited when it must be) and the receiver of a
        factory method."""
        call = value.expression if isinstance(value, cst.Await) else value
        if not isinstance(call, cst.Call):
            return None
        made = self._constructor(call, scope, depth)
        if made is None or made[0].awaited != isinstance(value, cst.Await):
            return None
        return made

    def managed(self, value: cst.BaseExpression, scope: Scope, depth: int) -> str | None:
        """The resource type ``async with value as x`` binds to ``x``."""
        made = self.made_by(value, scope, depth)
        if made is not None:
            return made[0].resource if made[0].enter is Enter.VALUE else None
        if isinstance(value, cst.Call):
            made = self._constructor(value, scope, depth)
            if made is not None and made[0].enter is Enter.CALL:
                return made[0].resource
        return None

    def type_of(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> str | None:
        """The canonical type (a resource or lock of the knowledge tables) of `expr`."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, cst.Call):
            qualname = self.context.resolver.qualname(expr.func, scope)
            if qualname in LOCK_CLASSES:
                return qualname
        if isinstance(expr, (cst.Call, cst.Await)):
            made = self.made_by(expr, scope, depth)
            return None if made is None else made[0].resource
        if isinstance(expr, cst.Name):
            bindings = scope.lookup(expr.value)
            if not bindings:
                return None
            return _agree(self._binding_type(binding, depth) for binding in bindings)
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            class_scope = self.context.resolver.class_of_self(expr.value.value, scope)
            if class_scope is None:
                return None
            sources = self._class_attributes(class_scope).get(expr.attr.value, [])
            return _agree(self._source_type(node, where, depth) for node, where in sources)
        return None

    def _binding_type(self, binding: Binding, depth: int) -> str | None:
        if binding.annotation is not None:
            return self.annotated(binding.annotation, binding.scope)
        if binding.kind is BindingKind.ASSIGN and binding.value is not None:
            return self.type_of(binding.value, binding.scope, depth + 1)
        if (
            binding.kind is BindingKind.WITH
            and binding.value is not None
            and isinstance(binding.node, cst.With)
            and binding.node.asynchronous is not None
        ):
            return self.managed(binding.value, binding.scope, depth + 1)
        return None

    def _source_type(self, node: cst.CSTNode, scope: Scope, depth: int) -> str | None:
        if isinstance(node, cst.Annotation):
            return self.annotated(node.annotation, scope)
        if isinstance(node, cst.BaseExpression):
            return self.type_of(node, scope, depth + 1)
        return None

    def annotated(self, annotation: cst.BaseExpression, scope: Scope) -> str | None:
        """The type an annotation names: ``T``, ``T | None``, ``Optional[T]``, quoted or not."""
        if isinstance(annotation, cst.SimpleString):
            try:
                annotation = cst.parse_expression(str(annotation.evaluated_value))
            except cst.ParserSyntaxError:
                return None
        if isinstance(annotation, cst.BinaryOperation) and isinstance(
            annotation.operator, cst.BitOr
        ):
            sides = [s for s in (annotation.left, annotation.right) if not _is_none(s)]
            return self.annotated(sides[0], scope) if len(sides) == 1 else None
        if isinstance(annotation, cst.Subscript) and len(annotation.slice) == 1:
            origin = self.context.resolver.qualname(annotation.value, scope) or ""
            element = annotation.slice[0].slice
            if origin.endswith("Optional") and isinstance(element, cst.Index):
                return self.annotated(element.value, scope)
            return None
        qualname = self.context.resolver.qualname(annotation, scope) or ""
        return OWNER_CLASSES.get(qualname) or (qualname if qualname in LOCK_CLASSES else None)

    def _class_attributes(self, class_scope: Scope) -> dict[str, list[tuple[cst.CSTNode, Scope]]]:
        """Every value or annotation given to ``self.<attr>`` in a method of the class, or
        to a class attribute, with the scope it is evaluated in."""
        key = id(class_scope.node)
        if key in self._attributes:
            return self._attributes[key]
        found: dict[str, list[tuple[cst.CSTNode, Scope]]] = {}
        for name, bindings in class_scope.bindings.items():
            for binding in bindings:
                if binding.annotation is not None:
                    found.setdefault(name, []).append(
                        (cst.Annotation(binding.annotation), class_scope)
                    )
        node = class_scope.node
        assert isinstance(node, cst.ClassDef)
        for method in node.body.body:
            if not isinstance(method, cst.FunctionDef):
                continue
            positional = [*method.params.posonly_params, *method.params.params]
            if not positional:
                continue
            receiver = positional[0].name.value
            method_scope: Scope | None = None
            for small in walk_small(method.body):
                for attribute, source in _self_assignments(small, receiver):
                    method_scope = method_scope or Scope.build(
                        ScopeKind.FUNCTION, method, class_scope
                    )
                    found.setdefault(attribute, []).append((source, method_scope))
        self._attributes[key] = found
        return found

    def lock_type(self, expr: cst.BaseExpression) -> str | None:
        """The lock type of `expr`: asyncio's through the resolver (project subclasses
        through the index), anyio's through :meth:`type_of`."""
        known = self.context.infer(expr)
        index = self.context.resolver.index
        for _ in range(_MAX_DEPTH):
            if known is None or known in LOCKS:
                break
            found = index.class_fact(known)
            bases = (
                []
                if found is None
                else [self.context.resolver.known_type(b) for b in found[1].bases]
            )
            known = next((b for b in bases if b is not None), None)
        if known in LOCKS:
            return known
        found_type = self.type_of(expr, self.context.scope)
        return found_type if found_type in LOCKS else None

    def creation(self, small: cst.BaseSmallStatement) -> Creation | None:
        """The resource a small statement makes, bound to a plain local or dropped."""
        target: cst.BaseExpression | None = None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target, value = small.targets[0].target, small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            target, value = small.target, small.value
        elif isinstance(small, cst.Expr):
            value = small.value
        else:
            return None
        made = self.made_by(value, self.context.scope)
        if made is None:
            return None
        constructor, owner = made
        call = value.expression if isinstance(value, cst.Await) else value
        assert isinstance(call, cst.Call)
        if constructor.element is not None and isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            if len(elements) <= constructor.element:
                return None
            target = elements[constructor.element].value
        elif constructor.element is not None and target is not None:
            return None
        if target is None:
            return Creation(call, constructor, None, owner)
        if not isinstance(target, cst.Name):
            return None
        name = target.value
        if name == "_":
            return Creation(call, constructor, None, owner)
        return Creation(call, constructor, name, owner) if self.context.is_local(name) else None


def _agree(results: Iterator[str | None]) -> str | None:
    seen = set(results)
    seen.discard(None)
    return seen.pop() if len(seen) == 1 else None


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _self_assignments(
    small: cst.BaseSmallStatement, receiver: str
) -> Iterator[tuple[str, cst.CSTNode]]:
    """``self.x = value`` (the value) and ``self.x: T`` (the annotation)."""
    targets: list[tuple[cst.BaseExpression, cst.CSTNode]] = []
    if isinstance(small, cst.Assign):
        targets = [(t.target, small.value) for t in small.targets]
    elif isinstance(small, cst.AnnAssign):
        targets = [(small.target, small.annotation)]
    for target, source in targets:
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == receiver
        ):
            yield target.attr.value, source


# -- how a function uses a resource -------------------------------------------------------


class Use(enum.Enum):
    CLOSE = "close"
    """A closer called on it (or the owner taking it back)."""
    HANDED = "handed"
    """A closer passed on uncalled (``stack.push_async_callback(session.close)``)."""
    MANAGED = "managed"
    """``async with x``."""
    ESCAPE = "escape"
    """Returned, yielded, stored, passed to a call, put in a container: someone else may
    close it."""
    CAPTURED = "captured"
    """Referenced by a nested function or lambda, which may close it whenever it runs."""
    CONSUMED = "consumed"
    """A member that drains it to its end (a process's output): handled, for ASL202."""
    OTHER = "other"


_TRANSPARENT = (
    cst.BooleanOperation,
    cst.IfExp,
)
_CONTAINERS = (
    cst.Element,
    cst.StarredElement,
    cst.DictElement,
    cst.StarredDictElement,
    cst.Tuple,
    cst.List,
    cst.Set,
    cst.Dict,
)
_BENIGN = (
    cst.Comparison,
    cst.ComparisonTarget,
    cst.UnaryOperation,
    cst.Subscript,
    cst.FormattedStringExpression,
    cst.Assert,
    cst.If,
    cst.While,
    cst.Expr,
    cst.Del,
    cst.Global,
    cst.Nonlocal,
    cst.NameItem,
)


@dataclass(frozen=True)
class Subject:
    """What is tracked: a dotted spelling (``writer``, ``self._lock``) and what closes it."""

    spelling: str
    closers: frozenset[str]
    consumers: frozenset[str] = frozenset()
    owner: str | None = None
    """The spelling of the receiver whose `owner_closer` method takes it back."""
    owner_closer: str | None = None


class Uses(cst.CSTVisitor):
    """Every reference to a subject in a function body, classified by what it does."""

    def __init__(self, subject: Subject) -> None:
        super().__init__()
        self.subject = subject
        self.found: list[tuple[Use, cst.CSTNode]] = []
        """(use, node): for CLOSE the call, otherwise the reference."""
        self.in_finally: set[int] = set()
        """Ids of the found nodes inside a ``finally``."""
        self._stack: list[cst.CSTNode] = []

    @classmethod
    def of(cls, function: cst.FunctionDef, subject: Subject) -> Uses:
        uses = cls(subject)
        walk.visit(function.body, uses)
        return uses

    def kinds(self) -> set[Use]:
        return {use for use, _ in self.found}

    def calls(self) -> set[int]:
        """Ids of the calls that close the subject."""
        return {id(node) for use, node in self.found if use is Use.CLOSE}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Name, cst.Attribute)) and (
            dotted_name(node) == self.subject.spelling
        ):
            use, found = self._classify(node)
            self.found.append((use, found))
            if any(isinstance(outer, cst.Finally) for outer in self._stack):
                self.in_finally.add(id(found))
        self._stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._stack.pop()

    def _classify(self, node: cst.CSTNode) -> tuple[Use, cst.CSTNode]:
        stack = self._stack
        if any(isinstance(outer, _SCOPES) for outer in stack):
            return Use.CAPTURED, node
        child = node
        for depth in range(len(stack) - 1, -1, -1):
            parent = stack[depth]
            grand = stack[depth - 1] if depth else None
            if isinstance(parent, cst.Attribute):
                return self._member(parent, grand)
            if isinstance(parent, cst.Arg):
                return self._argument(grand, node)
            if isinstance(parent, _TRANSPARENT) and not (
                isinstance(parent, cst.IfExp) and parent.test is child
            ):
                child = parent
                continue
            if isinstance(parent, _CONTAINERS):
                if _is_target(stack, depth):
                    return Use.OTHER, node
                return Use.ESCAPE, node
            if isinstance(parent, cst.WithItem):
                if parent.item is not child:
                    return Use.OTHER, node
                managed = isinstance(grand, cst.With) and grand.asynchronous is not None
                return (Use.MANAGED if managed else Use.ESCAPE), node
            if _is_binding(parent, child) or isinstance(parent, (*_BENIGN, cst.IfExp)):
                return Use.OTHER, node
            if isinstance(parent, cst.Call) and parent.func is child:
                return Use.OTHER, node
            return Use.ESCAPE, node
        return Use.ESCAPE, node

    def _member(
        self, attribute: cst.Attribute, grand: cst.CSTNode | None
    ) -> tuple[Use, cst.CSTNode]:
        if attribute.attr.value in self.subject.consumers:
            return Use.CONSUMED, attribute
        if attribute.attr.value not in self.subject.closers:
            return Use.OTHER, attribute
        if isinstance(grand, cst.Call) and grand.func is attribute:
            return Use.CLOSE, grand
        return Use.HANDED, attribute

    def _argument(self, call: cst.CSTNode | None, node: cst.CSTNode) -> tuple[Use, cst.CSTNode]:
        subject = self.subject
        if (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == subject.owner_closer
            and dotted_name(call.func.value) == subject.owner
        ):
            return Use.CLOSE, call
        return Use.ESCAPE, node


def _is_binding(parent: cst.CSTNode, child: cst.CSTNode) -> bool:
    """`child` is where `parent` binds a name (not a value it reads)."""
    if isinstance(parent, cst.AssignTarget):
        return True
    if isinstance(parent, (cst.AnnAssign, cst.AugAssign)):
        return parent.target is child
    if isinstance(parent, (cst.For, cst.CompFor)):
        return parent.target is child
    return isinstance(parent, cst.AsName)


def _is_target(stack: list[cst.CSTNode], depth: int) -> bool:
    """The container at ``stack[depth]`` is (part of) an assignment target."""
    child = stack[depth]
    for index in range(depth - 1, -1, -1):
        parent = stack[index]
        if isinstance(parent, _CONTAINERS):
            child = parent
            continue
        return _is_binding(parent, child)
    return False


def targets(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """What `node` assigns to (an assignment, ``for``, ``as``, ``:=``), tuples unpacked."""
    found: list[cst.BaseExpression] = []
    if isinstance(node, cst.Assign):
        found = [target.target for target in node.targets]
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr)):
        found = [node.target]
    elif isinstance(node, cst.AsName):
        found = [node.name]
    flat = []
    while found:
        target = found.pop()
        if isinstance(target, (cst.Tuple, cst.List)):
            found += [element.value for element in target.elements]
        elif isinstance(target, cst.StarredElement):
            found.append(target.value)
        else:
            flat.append(target)
    return flat


def binds(node: cst.CSTNode, name: str) -> bool:
    """`node` assigns a new value to the local `name`."""
    return any(isinstance(t, cst.Name) and t.value == name for t in targets(node))


def expects_exception(flow: Flow, unit: Unit, context: Context) -> bool:
    """`unit` runs in ``with pytest.raises(...)`` or ``with self.assertRaises(...)``: what
    it creates is expected to fail."""
    for place in flow.ancestors(unit):
        if not isinstance(place.owner, cst.With):
            continue
        for item in place.owner.items:
            call = item.item
            if not isinstance(call, cst.Call):
                continue
            func = call.func
            if context.qualname(func) in EXPECT_RAISES or (
                isinstance(func, cst.Attribute) and func.attr.value in EXPECT_RAISES_METHODS
            ):
                return True
    return False


# -- the rule -----------------------------------------------------------------------------


def creations(flow: Flow, resources: Resources) -> Iterator[tuple[Unit, int, Creation]]:
    """Every statement of the function that makes a resource: (unit, small index, what);
    not those expected to raise."""
    for place in flow.places.values():
        unit = place.units[place.index]
        for index, small in enumerate(smalls(unit)):
            creation = resources.creation(small)
            if creation is not None and not expects_exception(flow, unit, resources.context):
                yield unit, index, creation


def subject_of(creation: Creation, context: Context) -> Subject | None:
    """What to track for a resource bound to a local (None when it is dropped)."""
    if creation.target is None:
        return None
    owner = None if creation.owner is None else dotted_name(creation.owner)
    resource = creation.resource
    return Subject(
        creation.target,
        resource.closers,
        resource.consumers,
        owner,
        creation.constructor.owner_closer,
    )


def spelling(code: str, limit: int = 40) -> str:
    """Code for a message, on one line and cut short."""
    flat = " ".join(code.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class Verdict(enum.Enum):
    FOUND = "found"
    STOP = "stop"
    """This path is settled without what is searched for."""


def search(
    flow: Flow,
    unit: Unit,
    start: int,
    decide: Callable[[cst.CSTNode], Verdict | None],
    *,
    at_end: bool,
    handlers: bool,
) -> bool:
    """Whether some path from `unit` (its small statement `start` on) finds what `decide`
    looks for in a small statement or a compound statement's header; paths end at a
    ``return`` or ``raise`` and, found when `at_end`, at the end of the function."""
    work: list[tuple[Unit, int]] = [(unit, start)]
    seen: set[int] = set()
    while work:
        current, first = work.pop()
        if is_simple(current):
            following = flow.after(current)
            for small in smalls(current)[first:]:
                verdict = decide(small)
                if verdict is Verdict.FOUND:
                    return True
                if verdict is Verdict.STOP or isinstance(small, (cst.Return, cst.Raise)):
                    following = []
                    break
                if isinstance(small, (cst.Break, cst.Continue)):
                    following = flow.jump(small, current)
                    break
            else:
                if not following and at_end:
                    return True
        else:
            verdicts = {decide(header) for header in headers(current)}
            if Verdict.FOUND in verdicts:
                return True
            following = [] if Verdict.STOP in verdicts else flow.enter(current, handlers)
        for successor in following:
            if id(successor) not in seen:
                seen.add(id(successor))
                work.append((successor, 0))
    return False


def touches(node: cst.CSTNode, ids: set[int]) -> bool:
    """Some node run by `node` is one of `ids`."""
    return any(id(inner) in ids for inner in nodes(node))


class AsyncResourceNotClosed(Rule):
    """
    ## What it does
    Flags an async resource created in an `async def` that the function neither manages
    with `async with`, nor closes on every path, nor hands on to someone else:

    - `aiohttp.ClientSession()`, and responses from a known session's `get`, `post`,
      `put`, `patch`, `delete`, `head`, `options` or `request` (reading the body releases
      the connection, so `read`/`text`/`json` count as closing);
    - the writer of `asyncio.open_connection`/`open_unix_connection`, and processes of
      `asyncio.create_subprocess_exec`/`create_subprocess_shell` (waited for, or killed or
      terminated);
    - `httpx.AsyncClient()`, `redis.asyncio.Redis()`/`from_url()`;
    - database connections and pools of `asyncpg`, `aiosqlite`, `aiomysql` and `aiopg`,
      and connections checked out of a known pool with `await pool.acquire()`;
    - files of `aiofiles.open` and `anyio.open_file`, and `anyio.connect_tcp`/
      `connect_unix` streams.

    A resource that is returned, yielded, stored (`self._session = session`, in a
    container), passed to any call (`await stack.enter_async_context(session)`,
    `Client(session)`), captured by a nested function or used in `async with` is someone
    else's to close and is not flagged; nor is one closed in a `finally`, or whose closer
    is handed on (`stack.push_async_callback(session.close)`). Only normal paths count:
    an exception or a cancellation that skips the close is ASL201's finding.

    Names are resolved: `from aiohttp import ClientSession as Session`, `import asyncpg as
    pg`; a response is only tracked when its session is known to be an
    `aiohttp.ClientSession` (assigned from one, annotated as one, `async with
    ClientSession() as session`, or `self._session` assigned one anywhere in the class).

    ## Why is this bad?
    An unclosed session or connection keeps its sockets, its pool slot or its worker
    thread until the garbage collector finds it, if it ever does: aiohttp logs
    `Unclosed client session`, a server runs out of file descriptors or database
    connections under load, and a process that is never waited for is left running with
    nobody checking how it ended.

    ## Example
    ```python
    async def fetch_status(url):
        session = aiohttp.ClientSession()
        response = await session.get(url)
        return response.status
    ```

    ## Use instead
    ```python
    async def fetch_status(url):
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                return response.status
    ```

    ## Fix safety
    There is no automatic fix: where the resource's lifetime should end is a design
    decision.

    ## Options
    None.
    """

    code = "ASL202"
    name = "async-resource-not-closed"
    message = "`{name}` ({noun} from `{call}`) is never {closed}; {advice}"
    async_only = True

    examples = (
        Invalid(
            """
            import aiohttp
            from aiohttp import ClientSession as Session


            async def fetch_status(url):
                session = aiohttp.ClientSession()  # error: ASL202@15
                async with session.get(url) as response:
                    return response.status


            async def early_exit(url, cached):
                session = Session(raise_for_status=True)  # error: ASL202@15
                if cached:
                    return cached
                text = await (await session.get(url)).text()
                await session.close()
                return text


            class Api:
                def __init__(self):
                    self._session = aiohttp.ClientSession()

                async def status(self, url):
                    response = await self._session.get(url)  # error: ASL202@26
                    return response.status

                async def notify(self, url, payload):
                    await self._session.post(url, json=payload)  # error: ASL202@15


            async def head(session: aiohttp.ClientSession, url):
                response = await session.head(url)  # error: ASL202@22
                return response.headers
            """
        ),
        Invalid(
            """
            import asyncio
            from asyncio import create_subprocess_exec as spawn


            async def probe(host):
                reader, writer = await asyncio.open_connection(host, 80)  # error: ASL202@28
                writer.write(b"HEAD / HTTP/1.0\\r\\n\\r\\n")
                return await reader.read()


            async def run(cmd):
                proc = await spawn(*cmd)  # error: ASL202@18
                return proc.pid


            async def fire_and_forget(cmd):
                await asyncio.create_subprocess_shell(cmd)  # error: ASL202@11


            async def last_only(hosts):
                writer = None
                for host in hosts:
                    _, writer = await asyncio.open_connection(host, 80)  # error: ASL202@27
                    writer.write(b"x")
                if writer is not None:
                    writer.close()
            """
        ),
        Invalid(
            """
            import aiofiles
            import aiosqlite
            import anyio
            import asyncpg
            import httpx
            import redis.asyncio as redis


            async def count(dsn):
                conn = await asyncpg.connect(dsn)  # error: ASL202@18
                return await conn.fetchval("SELECT count(*) FROM t")


            async def checkout(pool: asyncpg.Pool):
                conn = await pool.acquire()  # error: ASL202@18
                await conn.execute("SELECT 1")


            async def read_config(path):
                f = await aiofiles.open(path)  # error: ASL202@15
                return await f.read()


            async def slurp(path):
                f = await anyio.open_file(path)  # error: ASL202@15
                return await f.read()


            async def closed_only_on_error(path):
                db = await aiosqlite.connect(path)  # error: ASL202@16
                try:
                    await db.execute("DELETE FROM t")
                except aiosqlite.Error:
                    await db.close()
                    raise
                return True


            async def cache():
                r = redis.from_url("redis://localhost")  # error: ASL202@9
                await r.set("k", "v")


            async def client():
                c = httpx.AsyncClient()  # error: ASL202@9
                return (await c.get("https://example.com")).text
            """
        ),
        Invalid(
            """
            import asyncio

            import asyncpg


            async def grouped(dsn):
                conn = await asyncpg.connect(dsn)  # error: ASL202@18
                try:
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(conn.execute("SELECT 1"))
                except* OSError:
                    await conn.close()
                    raise
            """,
            min_python=(3, 11),
        ),
        Valid(
            """
            import asyncio
            import contextlib

            import aiohttp
            import aiosqlite
            import asyncpg


            async def managed(url):
                async with aiohttp.ClientSession() as session:
                    async with session.get(url) as response:
                        return await response.text()


            async def closed_in_finally(host):
                reader, writer = await asyncio.open_connection(host, 80)
                try:
                    return await reader.read()
                finally:
                    writer.close()
                    await writer.wait_closed()


            async def every_path(host, quick):
                reader, writer = await asyncio.open_connection(host, 80)
                if quick:
                    writer.close()
                    return None
                data = await reader.read()
                writer.close()
                return data


            async def factory():
                session = aiohttp.ClientSession()
                return session


            async def generator():
                session = aiohttp.ClientSession()
                yield session


            class Holder:
                async def start(self, dsn):
                    session = aiohttp.ClientSession()
                    self._session = session
                    self._conn = await asyncpg.connect(dsn)


            async def entered(stack: contextlib.AsyncExitStack):
                session = aiohttp.ClientSession()
                await stack.enter_async_context(session)


            async def callback_on_stack(url):
                async with contextlib.AsyncExitStack() as stack:
                    session = aiohttp.ClientSession()
                    stack.push_async_callback(session.close)
                    await session.get(url)


            async def passed_on(client_class):
                session = aiohttp.ClientSession()
                return client_class(session=session)


            async def as_context_manager(path):
                db = await aiosqlite.connect(path)
                async with db:
                    await db.execute("SELECT 1")


            async def closed_in_else(path, log):
                db = await aiosqlite.connect(path)
                try:
                    await db.execute("SELECT 1")
                except aiosqlite.Error:
                    log.exception("query failed")
                    raise
                else:
                    await db.close()


            async def closure(url):
                session = aiohttp.ClientSession()

                async def close():
                    await session.close()

                return close
            """
        ),
        Valid(
            """
            import asyncio

            import aiohttp
            import asyncpg
            import pytest


            async def waited(cmd):
                proc = await asyncio.create_subprocess_exec(*cmd)
                await proc.wait()


            async def communicated(cmd):
                proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
                out, _ = await asyncio.wait_for(proc.communicate(), timeout=5)
                return out


            async def streamed(cmd):
                proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
                async for line in proc.stdout:
                    print(line)


            async def read_body(session: aiohttp.ClientSession, url):
                response = await session.get(url)
                return await response.json()


            async def checked_out(pool: asyncpg.Pool):
                conn = await pool.acquire()
                try:
                    await conn.execute("SELECT 1")
                finally:
                    await pool.release(conn)


            async def unknown_session(session, url):
                response = await session.get(url)
                return response.status


            async def sqlalchemy(session, model):
                return await session.get(model, 1)


            async def expected_failure():
                with pytest.raises(ValueError):
                    await asyncio.create_subprocess_exec("x", text=True)


            async def attribute_target(url):
                session = aiohttp.ClientSession()
                session.headers["x"] = "y"
                await session.close()


            def sync_code():
                session = aiohttp.ClientSession()
                session.headers.clear()


            async def loop_until_closed(host):
                reader, writer = await asyncio.open_connection(host, 80)
                while True:
                    line = await reader.readline()
                    if not line:
                        writer.close()
                        return
            """
        ),
        Valid(
            """
            import asyncio

            import asyncpg


            async def grouped(dsn):
                conn = await asyncpg.connect(dsn)
                try:
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(conn.execute("SELECT 1"))
                except* OSError:
                    pass
                finally:
                    await conn.close()
            """,
            min_python=(3, 11),
        ),
    )

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        super().__init__(context, settings, reports)
        self._pending: dict[int, str] = {}
        self._resources = Resources(context)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None:
            return
        flow = Flow(node)
        for unit, index, creation in creations(flow, self._resources):
            message = self._check(node, flow, unit, index, creation)
            if message is not None:
                self._pending[id(creation.call)] = message

    def visit_Call(self, node: cst.Call) -> None:
        message = self._pending.pop(id(node), None)
        if message is not None:
            self.report(node, message)

    def _check(
        self, function: cst.FunctionDef, flow: Flow, unit: Unit, index: int, creation: Creation
    ) -> str | None:
        resource = creation.resource
        if creation.constructor.closed_with_owner and self._made_here(creation.owner):
            return None
        call = f"{spelling(self.context.code(creation.call.func))}(...)"
        subject = subject_of(creation, self.context)
        if subject is None:
            return f"the {resource.noun} from `{call}` is dropped without being {resource.closed}"
        uses = Uses.of(function, subject)
        if uses.kinds() & {Use.ESCAPE, Use.CAPTURED, Use.MANAGED, Use.HANDED, Use.CONSUMED}:
            return None
        closes = uses.calls()
        if closes & uses.in_finally:
            return None
        name = subject.spelling

        def leak(node: cst.CSTNode) -> Verdict | None:
            if touches(node, closes) or isinstance(node, cst.Raise):
                return Verdict.STOP
            if isinstance(node, cst.Return) or binds(node, name):
                return Verdict.FOUND
            return None

        if closes and not search(flow, unit, index + 1, leak, at_end=True, handlers=False):
            return None
        state = f"never {resource.closed}"
        if closes:
            state = f"not {resource.closed} on every path"
        advice = self._advice(creation, subject.spelling)
        return f"`{subject.spelling}` ({resource.noun} from `{call}`) is {state}; {advice}"

    def _made_here(self, owner: cst.BaseExpression | None) -> bool:
        """`owner` is a local of this function, assigned or bound by ``async with`` (its
        close, this function's business, closes what it made)."""
        if not isinstance(owner, cst.Name):
            return False
        bindings = self.context.scope.lookup(owner.value) or ()
        return bool(bindings) and all(
            binding.scope is self.context.scope
            and binding.kind in (BindingKind.ASSIGN, BindingKind.WITH)
            for binding in bindings
        )

    def _advice(self, creation: Creation, name: str) -> str:
        close = creation.resource.close.format(name)
        if creation.constructor.enter is None:
            return f"call {close} in a `finally`"
        return f"use `async with`, or call {close} in a `finally`"
