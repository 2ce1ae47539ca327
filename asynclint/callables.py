"""Does calling this expression produce a coroutine? True, False, or None for unknown.

Rules that flag a coroutine nobody awaits (ASL101, ASL103, ASL105) ask here. Evidence, in
order of confidence: ``async def``/``def`` of the same module (functions, nested functions,
methods through ``self``/``cls`` and same-module base classes), the standard library's
coroutine functions, the async methods of receivers whose type is known (of every member
of a union annotation) and the project index. Decorators are resolved through the index
(:meth:`~asynclint.index.ProjectIndex.decorated_kind`); one whose effect is not known makes
the answer unknown, and unknown makes rules silent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import libcst as cst

from asynclint import walk
from asynclint.context import Context
from asynclint.index import FunctionFact
from asynclint.knowledge.coroutines import ASYNC_METHODS, COROUTINE_FUNCTIONS, COROUTINE_TYPES
from asynclint.scope import BindingKind, OwnScopeOnly, Scope, ScopeKind

_MAX_BASES = 10
_T = TypeVar("_T")


def returns_coroutine(context: Context, func: cst.BaseExpression) -> bool | None:
    """Whether ``func(...)`` returns a coroutine object."""
    return _remembered(context, _returns_coroutine, func)


def _remembered(
    context: Context, answer: Callable[[Context, cst.BaseExpression], _T], func: cst.BaseExpression
) -> _T:
    """`answer` for `func` where the traversal is, worked out once per file: several rules
    ask about the same callee, and the answer depends on the callee and its scope only.
    The answers hold on to both, whose ids key them."""
    answers: dict[tuple[int, int], tuple[object, Scope, _T]] = context.shared(answer, dict)
    key = (id(func), id(context.scope))
    known = answers.get(key)
    if known is None:
        known = answers[key] = (func, context.scope, answer(context, func))
    return known[2]


def _returns_coroutine(context: Context, func: cst.BaseExpression) -> bool | None:
    qualname = context.qualname(func)
    configured = context.resolver.index.configured
    if qualname in COROUTINE_FUNCTIONS or configured.is_coroutine_function(qualname):
        return True
    if isinstance(func, cst.Name):
        local = _name_kind(func.value, context.scope, context)
        if local is not None:
            return local
    elif isinstance(func, cst.Attribute):
        receiver_type = context.infer(func.value)
        if receiver_type is not None:
            if _known_method_kind(context, receiver_type, func.attr.value):
                return True
        else:
            members = context.resolver.union_members(func.value, context.scope)
            if members is not None:
                return _union_method_kind(context, members, func.attr.value)
        class_scope = _receiver_class(func.value, context)
        if class_scope is not None:
            local = _method_kind(class_scope, func.attr.value, context, 0)
            if local is not None:
                return local
    if qualname is not None and context.resolver.index.class_fact(qualname) is not None:
        return False  # calling a class makes an instance
    return context.resolver.index.call_kind(indexed_function(context, func))


def _known_method_kind(context: Context, receiver_type: str, method: str) -> bool:
    """An async method of a standard-library type, or one the configuration names."""
    if method in ASYNC_METHODS.get(receiver_type, ()):
        return True
    return context.resolver.index.configured.is_coroutine_function(f"{receiver_type}.{method}")


def _union_method_kind(context: Context, members: list[str], method: str) -> bool | None:
    """A method of a receiver annotated with a union: a coroutine only when it is one on
    every member, sync only when sync on every member."""
    project = context.resolver.index
    kinds = {
        True
        if _known_method_kind(context, member, method)
        else project.call_kind(project.method(member, method))
        for member in members
    }
    return kinds.pop() if len(kinds) == 1 else None


def indexed_function(context: Context, func: cst.BaseExpression) -> FunctionFact | None:
    """What the project index knows about the function or method `func` names."""
    return _remembered(context, _indexed_function, func)


def _indexed_function(context: Context, func: cst.BaseExpression) -> FunctionFact | None:
    project = context.resolver.index
    if isinstance(func, cst.Attribute):
        owner = context.infer(func.value)
        if owner is None:
            class_scope = _receiver_class(func.value, context)
            owner = None if class_scope is None else context.resolver.class_name(class_scope)
        if owner is not None:
            return project.method(owner, func.attr.value)
    qualname = context.qualname(func)
    return None if qualname is None else project.function(qualname)


def _name_kind(name: str, scope: Scope, context: Context) -> bool | None:
    bindings = scope.lookup(name)
    if not bindings:
        return None
    kinds = {
        _def_kind(binding.node, context, binding.scope) if binding.kind is BindingKind.DEF else None
        for binding in bindings
    }
    return kinds.pop() if len(kinds) == 1 else None


def _def_kind(node: cst.CSTNode, context: Context, scope: Scope) -> bool | None:
    assert isinstance(node, cst.FunctionDef)
    decorators = [_decorator_name(d.decorator, context, scope) for d in node.decorators]
    if node.asynchronous is not None:
        is_async = not _is_generator(node)
    else:
        is_async = node.returns is not None and (
            context.resolver.annotation_origin(node.returns.annotation, scope) in COROUTINE_TYPES
        )
    return context.resolver.index.decorated_kind(is_async, decorators)


def _decorator_name(expr: cst.BaseExpression, context: Context, scope: Scope) -> str | None:
    """The decorator's qualified name, with ``()`` when it is called (``@retry(3)``)."""
    if isinstance(expr, cst.Call):
        called = context.resolver.qualname(expr.func, scope)
        return None if called is None else f"{called}()"
    return context.resolver.qualname(expr, scope)


class _YieldFinder(OwnScopeOnly, cst.CSTVisitor):
    """Finds a ``yield`` of the function itself, not of nested functions or classes."""

    def __init__(self) -> None:
        self.found = False

    def visit_Yield(self, node: cst.Yield) -> bool:
        self.found = True
        return False


def _is_generator(node: cst.FunctionDef) -> bool:
    """An ``async def`` with ``yield`` makes an async generator, not a coroutine."""
    finder = _YieldFinder()
    walk.visit(node.body, finder)
    return finder.found


def _receiver_class(receiver: cst.BaseExpression, context: Context) -> Scope | None:
    """The class scope for ``self``/``cls`` inside one of its methods."""
    if not isinstance(receiver, cst.Name):
        return None
    return context.resolver.class_of_self(receiver.value, context.scope)


def _method_kind(class_scope: Scope, name: str, context: Context, depth: int) -> bool | None:
    """The kind of method `name` on the class, searching same-module bases in order."""
    bindings = class_scope.bindings.get(name)
    if bindings:
        if all(binding.kind is BindingKind.DEF for binding in bindings):
            kinds = {_def_kind(binding.node, context, class_scope) for binding in bindings}
            return kinds.pop() if len(kinds) == 1 else None
        return None
    assert isinstance(class_scope.node, cst.ClassDef)
    if depth > _MAX_BASES or class_scope.parent is None:
        return None
    for base in class_scope.node.bases:
        base_scope = _local_class(base.value, class_scope.parent)
        if base_scope is None:
            return None
        found = _method_kind(base_scope, name, context, depth + 1)
        if found is not None:
            return found
    return None


def _local_class(expr: cst.BaseExpression, scope: Scope) -> Scope | None:
    if not isinstance(expr, cst.Name):
        return None
    bindings = scope.lookup(expr.value)
    if not bindings or len(bindings) != 1 or bindings[0].kind is not BindingKind.CLASS:
        return None
    return Scope.build(ScopeKind.CLASS, bindings[0].node, bindings[0].scope)
