"""Rewrite a sync test teardown that drops async work into async code that awaits it.

Used by ASL504, which decides when the rewrite is safe. Each dropped call is awaited
where it stood: a coroutine call ``c()`` becomes ``await c()`` and a spawned task
``asyncio.create_task(c())`` becomes ``await c()``, in place, so loops, conditions and
comprehensions keep their shape (``[await c(x) for x in xs]`` is valid in ``async def``).
The new code replaces the ``def`` through the end of its body; comments above it and
after its last statement stay where they are in the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import libcst as cst

from asynclint.scope import OwnScopeOnly

_ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript)


@dataclass(frozen=True)
class Awaited:
    """A dropped call and what to await in its place."""

    call: cst.Call
    coroutine: int | None
    """Position in ``call.args`` of the coroutine a task is made from; None when the
    call itself returns the coroutine."""


class _AwaitDropped(OwnScopeOnly, cst.CSTTransformer):
    """Awaits the dropped calls of one function body (not of functions nested in it) and
    turns ``super().<hook>()`` into ``await super().<async hook>()``."""

    def __init__(self, awaited: Iterable[Awaited], super_hook: tuple[str, str] | None) -> None:
        super().__init__()
        self._coroutine = {id(item.call): item.coroutine for item in awaited}
        self._super_hook = super_hook

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        key = id(original_node)
        if key in self._coroutine:
            position = self._coroutine[key]
            if position is None:
                return _await(updated_node.with_changes(lpar=(), rpar=()), updated_node)
            return _await(_atom(updated_node.args[position].value), updated_node)
        hook = self._super_hook
        func = updated_node.func
        if hook is not None and _is_super_call(updated_node, hook[0]):
            assert isinstance(func, cst.Attribute)
            renamed = func.with_changes(attr=cst.Name(hook[1]))
            return _await(updated_node.with_changes(func=renamed, lpar=(), rpar=()), updated_node)
        return updated_node


def is_super(expr: cst.BaseExpression) -> bool:
    """``super()`` or ``super(Cls, self)``."""
    return (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Name)
        and expr.func.value == "super"
    )


def _is_super_call(call: cst.Call, method: str) -> bool:
    """``super().<method>(...)``."""
    func = call.func
    return isinstance(func, cst.Attribute) and func.attr.value == method and is_super(func.value)


def _await(expression: cst.BaseExpression, replaced: cst.Call) -> cst.Await:
    """``await expression`` wearing the parentheses the replaced call had."""
    return cst.Await(expression, lpar=replaced.lpar, rpar=replaced.rpar)


def _atom(expression: cst.BaseExpression) -> cst.BaseExpression:
    """`expression` parenthesized unless ``await`` binds it as it is."""
    if isinstance(expression, _ATOMS) or expression.lpar:
        return expression
    return expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _body(function: cst.FunctionDef, transformer: _AwaitDropped) -> cst.IndentedBlock:
    """The function's body with its calls awaited, as an indented block without the
    comments after its last statement: they stay in the file, outside the replaced span
    (so the comment of a one-line ``def f(): body  # note`` ends up after the body)."""
    body = function.body
    if isinstance(body, cst.SimpleStatementSuite):
        body = cst.IndentedBlock([cst.SimpleStatementLine(body.body)])
    changed = body.visit(transformer)
    assert isinstance(changed, cst.IndentedBlock)
    return changed.with_changes(footer=())


def async_teardown(
    function: cst.FunctionDef, awaited: Iterable[Awaited], *, hook: str, async_hook: str
) -> cst.FunctionDef:
    """``def tearDown(self)`` → ``async def asyncTearDown(self)``, awaiting `awaited` and
    ``super().tearDown()``."""
    body = _body(function, _AwaitDropped(awaited, (hook, async_hook)))
    return function.with_changes(
        leading_lines=(),
        asynchronous=cst.Asynchronous(),
        name=cst.Name(async_hook),
        body=body,
    )


def autouse_fixture(
    function: cst.FunctionDef,
    awaited: Iterable[Awaited],
    *,
    decorator: str,
    name: str,
    receiver: str | None,
) -> cst.FunctionDef:
    """``def teardown_method(self, method)`` → an async autouse fixture named `name` whose
    body yields to the test first; `receiver` is the method's ``self`` (None for a module
    function). A docstring stays first; a return annotation goes (``-> None`` would be
    wrong on an async generator)."""
    body = _body(function, _AwaitDropped(awaited, None))
    statements: Sequence[cst.BaseStatement] = body.body
    docstring = 1 if function.get_docstring(clean=False) is not None else 0
    yielding = cst.SimpleStatementLine([cst.Expr(cst.Yield())])
    params = [cst.Param(cst.Name(receiver))] if receiver is not None else []
    return function.with_changes(
        leading_lines=(),
        decorators=[cst.Decorator(cst.parse_expression(f"{decorator}(autouse=True)"))],
        lines_after_decorators=(),
        asynchronous=cst.Asynchronous(),
        name=cst.Name(name),
        params=cst.Parameters(params),
        returns=None,
        body=body.with_changes(body=[*statements[:docstring], yielding, *statements[docstring:]]),
    )
