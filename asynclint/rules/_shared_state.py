"""What the shared-state rules (ASL401 to ASL403) ask about a function body.

Where a coroutine can be suspended (so another task can run), in source order and without
entering nested functions or classes, whose bodies run at some other time; and the line
of a node, for messages that point at a second place ("the `await` on line 12").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeGuard

import libcst as cst

from asynclint.context import Context
from asynclint.walk import children

Suspension = cst.Await | cst.With | cst.For | cst.CompFor
"""An ``await``, or the ``async with``/``async for`` that awaits on entry and each step."""

_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and its descendants in source order, not inside nested defs, classes or
    lambdas (`node` itself may be one)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is node or not isinstance(current, _SCOPES):
            stack.extend(reversed(children(current)))


def is_suspension(node: cst.CSTNode) -> TypeGuard[Suspension]:
    if isinstance(node, cst.Await):
        return True
    if isinstance(node, (cst.With, cst.For, cst.CompFor)):
        return node.asynchronous is not None
    return False


def first_suspension(node: cst.CSTNode) -> Suspension | None:
    """The first place in `node` where the running task can be suspended."""
    for inner in walk(node):
        if is_suspension(inner):
            return inner
    return None


def describe(context: Context, suspension: cst.CSTNode) -> str:
    """``the `await` on line 12`` (or `async with`/`async for`), for messages."""
    keyword = "await" if isinstance(suspension, cst.Await) else "async " + _keyword(suspension)
    return f"the `{keyword}` on line {line_of(context, suspension)}"


def _keyword(node: cst.CSTNode) -> str:
    return "with" if isinstance(node, cst.With) else "for"


def line_of(context: Context, node: cst.CSTNode) -> int:
    """The 1-based line where `node` starts (the file's positions, shared with the engine)."""
    return context.position(node).start.line
