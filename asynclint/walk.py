"""A read-only walk over a LibCST tree, in exactly the order of ``CSTNode.visit``.

LibCST's own traversal rebuilds every node it passes (``_visit_and_replace_children``
constructs and validates a copy, even for a visitor that changes nothing): on real code that
costs more than the parse itself. This walk reads the children straight from the node's
fields instead, in the order LibCST visits them. That order is learnt once per node type,
from LibCST itself: its traversal announces each field (``on_visit_attribute``) before
visiting it, present or not, so one recorded traversal of one instance gives the order of
every field it visits. A field it skips conditionally (an f-string's ``format_spec`` when
empty) is checked on every node of that type, and a node where such a field holds children
is walked through LibCST's ``children``, which is exact.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import libcst as cst

Handler = Callable[[Any], None]


class _FieldOrder(cst.CSTVisitor):
    """Records the fields LibCST's traversal visits, without descending into them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)


@dataclasses.dataclass(frozen=True)
class _Layout:
    visited: tuple[str, ...]
    """Fields in LibCST's visiting order."""
    unannounced: tuple[str, ...]
    """Fields that can hold nodes but that traversal did not announce on the recorded
    instance."""


def node_types() -> frozenset[type]:
    """Every subclass of ``CSTNode``, abstract ones and those a slotted copy replaced."""
    found: set[type] = set()
    pending: list[type] = [cst.CSTNode]
    while pending:
        subclass: type
        for subclass in pending.pop().__subclasses__():
            if subclass not in found:
                found.add(subclass)
                pending.append(subclass)
    return frozenset(found)


_NODE_TYPES = node_types()
"""Every node class: membership of ``type(value)`` is much cheaper than ``isinstance``
against LibCST's abstract base classes."""
_LAYOUTS: dict[type, _Layout] = {}


def _may_hold_nodes(annotation: object) -> bool:
    """Whether a field annotated so can hold nodes (unknown annotations can)."""
    if isinstance(annotation, type):
        return issubclass(annotation, cst.CSTNode)
    arguments = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return False
    return not arguments or any(_may_hold_nodes(argument) for argument in arguments)


def _layout(node: cst.CSTNode) -> _Layout:
    kind = type(node)
    layout = _LAYOUTS.get(kind)
    if layout is None:
        recorder = _FieldOrder()
        node._visit_and_replace_children(recorder)
        visited = tuple(dict.fromkeys(recorder.fields))
        rest = tuple(
            f.name
            for f in dataclasses.fields(kind)
            if f.name not in visited and _may_hold_nodes(f.type)
        )
        layout = _LAYOUTS[kind] = _Layout(visited, rest)
    return layout


def _holds_nodes(value: object) -> bool:
    if type(value) in _NODE_TYPES:
        return True
    return isinstance(value, (tuple, list)) and any(type(item) in _NODE_TYPES for item in value)


def _irregular(node: cst.CSTNode, layout: _Layout) -> bool:
    """True when a field LibCST's traversal did not announce on the recorded instance holds
    children here (LibCST then decides the order)."""
    return any(_holds_nodes(getattr(node, name)) for name in layout.unannounced)


def children(node: cst.CSTNode) -> Sequence[cst.CSTNode]:
    """The node's children in LibCST's order (what ``node.children`` returns, faster)."""
    layout = _layout(node)
    if _irregular(node, layout):
        return node.children
    found: list[cst.CSTNode] = []
    for name in layout.visited:
        value = getattr(node, name)
        kind = type(value)
        if kind in _NODE_TYPES:
            found.append(value)
        elif kind is tuple or kind is list:
            found.extend(item for item in value if type(item) in _NODE_TYPES)
    return found


@functools.cache
def _subclasses() -> dict[type, frozenset[type]]:
    """Every class of LibCST's nodes with the node classes derived from it (read from the
    classes' MROs: ``issubclass`` against LibCST's abstract base classes is slow)."""
    found: dict[type, set[type]] = {}
    for kind in _NODE_TYPES:
        for base in kind.__mro__:
            found.setdefault(base, set()).add(kind)
    return {base: frozenset(kinds) for base, kinds in found.items()}


@functools.cache
def _held_types(annotation: object) -> frozenset[type] | None:
    """The node classes a field annotated so can hold; None when the annotation does not
    say (then it may hold anything)."""
    if isinstance(annotation, typing.ForwardRef):
        annotation = getattr(cst, annotation.__forward_arg__, None)
    if isinstance(annotation, type):
        return _subclasses().get(annotation, frozenset())
    if typing.get_origin(annotation) is typing.Literal:
        return frozenset()
    arguments = typing.get_args(annotation)
    if not arguments:
        return None
    held: set[type] = set()
    for argument in arguments:
        inner = _held_types(argument)
        if inner is None:
            return None
        held |= inner
    return frozenset(held)


@functools.cache
def _holders() -> dict[type, frozenset[type]]:
    """For every node class, the classes that can hold it directly, per LibCST's field
    annotations (any class whose annotation does not say can hold anything)."""
    holders: dict[type, set[type]] = {kind: set() for kind in _NODE_TYPES}
    for kind in _NODE_TYPES:
        for field in dataclasses.fields(kind):
            held = _held_types(typing.cast(object, field.type))
            for inner in _NODE_TYPES if held is None else held:
                holders[inner].add(kind)
    return {kind: frozenset(found) for kind, found in holders.items()}


@functools.cache
def _worth_walking(wanted: frozenset[type]) -> frozenset[type]:
    """The node classes that are in `wanted` or can have a descendant in it: any other
    subtree (whitespace, mostly: over half of all nodes) has nothing to visit."""
    holders = _holders()
    found = set(wanted)
    pending = list(wanted)
    while pending:
        for holder in holders.get(pending.pop(), ()):
            if holder not in found:
                found.add(holder)
                pending.append(holder)
    return frozenset(found)


class Walker:
    """Calls ``enter``, the visit handlers of the node's exact type, the same for every child,
    then the leave handlers and ``leave``: what a ``CSTVisitor`` whose ``on_visit`` always
    returns True would see.

    With `hooked`, the node classes ``enter`` and ``leave`` care about, the walk calls them
    for those only and skips the subtrees where no node can have a handler: the handlers
    see exactly the calls a full walk makes for their nodes, in the same order."""

    def __init__(
        self,
        enter: Handler,
        leave: Handler,
        visits: Mapping[type, Sequence[Handler]],
        leaves: Mapping[type, Sequence[Handler]],
        hooked: Collection[type] | None = None,
    ) -> None:
        hooks = _NODE_TYPES if hooked is None else frozenset(hooked)
        self._visits = {kind: [enter, *visits.get(kind, ())] for kind in hooks}
        self._leaves = {kind: [*leaves.get(kind, ()), leave] for kind in hooks}
        for kind, handlers in visits.items():
            self._visits.setdefault(kind, list(handlers))
        for kind, handlers in leaves.items():
            self._leaves.setdefault(kind, list(handlers))
        wanted = frozenset(self._visits) | frozenset(self._leaves)
        self._walked = _NODE_TYPES if hooked is None else _worth_walking(wanted)

    def walk(self, node: cst.CSTNode) -> None:
        kind = type(node)
        for handler in self._visits.get(kind, ()):
            handler(node)
        walked = self._walked
        layout = _LAYOUTS.get(kind) or _layout(node)
        if layout.unannounced and _irregular(node, layout):
            for child in node.children:
                if type(child) in walked:
                    self.walk(child)
        else:
            for name in layout.visited:
                value = getattr(node, name)
                value_kind = type(value)
                if value_kind in walked:
                    self.walk(value)
                elif value_kind is tuple or value_kind is list:
                    for item in value:
                        if type(item) in walked:
                            self.walk(item)
        for handler in self._leaves.get(kind, ()):
            handler(node)


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node below `node`, in LibCST's order."""
    pending = list(reversed(children(node)))
    while pending:
        current = pending.pop()
        yield current
        pending.extend(reversed(children(current)))


def visit(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """``node.visit(visitor)`` for a visitor that only reads (its ``visit_*`` methods may
    return False to skip children), without LibCST rebuilding every node it passes. A
    visitor that keeps LibCST's ``on_visit``/``on_leave`` (it has ``visit_X``/``leave_X``
    methods only) is not walked into subtrees where none of them can be called."""
    plan = _plan(type(visitor))
    if plan is None:
        _visit_all(node, visitor)
    else:
        _visit_some(node, visitor, plan)


@dataclasses.dataclass(frozen=True)
class _Plan:
    visits: Mapping[type, str]
    leaves: Mapping[type, str]
    walked: frozenset[type]


_PLANS: dict[type, _Plan | None] = {}


def _plan(visitor: type[cst.CSTVisitor]) -> _Plan | None:
    """The methods a visitor class has for each node class, as LibCST's ``on_visit`` and
    ``on_leave`` look them up (by the class name); None when it overrides those."""
    if visitor not in _PLANS:
        plan = None
        if (
            visitor.on_visit is cst.CSTVisitor.on_visit
            and visitor.on_leave is cst.CSTVisitor.on_leave
        ):
            visits = {k: f"visit_{k.__name__}" for k in _NODE_TYPES}
            leaves = {k: f"leave_{k.__name__}" for k in _NODE_TYPES}
            visits = {k: name for k, name in visits.items() if _overrides(visitor, name)}
            leaves = {k: name for k, name in leaves.items() if _overrides(visitor, name)}
            plan = _Plan(visits, leaves, _worth_walking(frozenset(visits) | frozenset(leaves)))
        _PLANS[visitor] = plan
    return _PLANS[visitor]


def _overrides(visitor: type[cst.CSTVisitor], name: str) -> bool:
    """Whether the visitor has a method `name` of its own (``CSTVisitor`` has one for every
    node class, which does nothing)."""
    return getattr(visitor, name, None) not in (None, getattr(cst.CSTVisitor, name, None))


def _visit_all(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    if visitor.on_visit(node):
        for child in children(node):
            _visit_all(child, visitor)
    visitor.on_leave(node)


def _visit_some(node: cst.CSTNode, visitor: cst.CSTVisitor, plan: _Plan) -> None:
    kind = type(node)
    name = plan.visits.get(kind)
    if name is None or getattr(visitor, name)(node) is not False:
        walked = plan.walked
        for child in children(node):
            if type(child) in walked:
                _visit_some(child, visitor, plan)
    name = plan.leaves.get(kind)
    if name is not None:
        getattr(visitor, name)(node)
