"""Which calls wrap a coroutine in a new task, and when a statement drops that task.

Shared by the rules about tasks nobody keeps (ASL102) and tasks a sync teardown schedules
that nobody awaits (ASL103), so both recognise the same spellings: ``asyncio.create_task``,
``asyncio.Task``, ``asyncio.ensure_future`` of a coroutine (a future passes through
unchanged) and ``create_task`` on a receiver known to be an event loop.
"""

from __future__ import annotations

import libcst as cst

from asynclint.context import Context
from asynclint.knowledge.asyncio_api import (
    ENSURE_FUTURE,
    FUTURE_RETURNING,
    LOOP,
    LOOP_FUTURE_METHODS,
    LOOP_TASK_METHODS,
    TASK_FACTORIES,
    TASK_METHODS_RETURNING_NONE,
)


def spawns_task(context: Context, call: cst.Call) -> bool:
    """True when `call` creates a new task from a coroutine and returns it."""
    qualname = context.qualname(call.func)
    if qualname in TASK_FACTORIES:
        return True
    if qualname in ENSURE_FUTURE:
        return bool(call.args) and makes_coroutine(context, call.args[0].value)
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value in LOOP_TASK_METHODS
        and context.infer(func.value) == LOOP
    )


def makes_coroutine(context: Context, expr: cst.BaseExpression) -> bool:
    """A call not known to return a future (``ensure_future`` would pass a future through)."""
    if not isinstance(expr, cst.Call):
        return False
    if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in LOOP_FUTURE_METHODS:
        return False
    return context.qualname(expr.func) not in FUTURE_RETURNING


def dropped_task(context: Context, value: cst.BaseExpression) -> cst.Call | None:
    """The spawning call whose task is lost when `value` is evaluated as a statement: the
    spawn itself, or a spawn chained with a method returning None
    (``create_task(...).add_done_callback(...)``)."""
    if not isinstance(value, cst.Call):
        return None
    if spawns_task(context, value):
        return value
    func = value.func
    if (
        isinstance(func, cst.Attribute)
        and func.attr.value in TASK_METHODS_RETURNING_NONE
        and isinstance(func.value, cst.Call)
        and spawns_task(context, func.value)
    ):
        return func.value
    return None
