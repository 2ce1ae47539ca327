"""ASL606: a task that was cancelled but swallowed the cancellation.

``Task.cancel`` belongs to a C type and cannot be wrapped, so event loops create tasks of
a subclass instead (``asyncio.tasks.Task``, which ``loop.create_task`` looks up at each
call, is replaced; uvloop's ``create_task`` and 3.12's eager task factory are redirected to
it). The subclass is also named ``Task`` and ``isinstance`` treats every asyncio task as
one of it, so reprs and type checks are unchanged. Its ``cancel()`` costs nothing until
called: the first successful request adds a done callback that checks, once the task
finishes, whether it ended cancelled.

It did not if it returned or raised something else while a request was still counted
(``cancelling() > 0``; ``uncancel()``, as ``asyncio.timeout`` and TaskGroup use it,
consumes a request deliberately). A framework's own tasks decide for themselves (anyio
turns a cancellation into ``concurrent.futures.CancelledError`` for the thread waiting on
a portal call, say). Two more exceptions: on 3.11 and 3.12 a TaskGroup that sees a
child fail while its ``__aexit__`` is already waiting cancels its parent and never
uncancels it (fixed in 3.13), so such requests are not counted; on 3.10, which has no
``cancelling()``, requests made by cancel-scope libraries (anyio, async_timeout) are
theirs to absorb and are not counted either.
"""

from __future__ import annotations

import asyncio
import os
import sys
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

from asynclint.sanitizer import awaits, frames
from asynclint.sanitizer.checks import loops, tasks
from asynclint.sanitizer.core import Sanitizer
from asynclint.sanitizer.findings import Frame
from asynclint.sanitizer.patches import Patcher

_CTask = asyncio.Task
_san: Sanitizer | None = None
"""Set by `install` through the patcher, so deactivation resets it for tasks still alive."""
_SCOPE_LIBRARIES = frozenset({"anyio", "async_timeout"})
_TG_PARENT_CANCEL = (
    getattr(asyncio, "TaskGroup", None)._on_task_done.__code__  # type: ignore[union-attr]
    if (3, 11) <= sys.version_info < (3, 13)
    else None
)


class _Request:
    """What is known about the cancellation requests of one task."""

    __slots__ = ("absorbed", "requested_at", "suspended_at")

    def __init__(self, requested_at: tuple[Frame, ...], task: Any) -> None:
        self.requested_at = requested_at
        self.suspended_at = awaits.user_chain(task)
        self.absorbed = 0
        """Requests that CPython's TaskGroup never uncancels (3.11, 3.12)."""


_requests: weakref.WeakKeyDictionary[Any, _Request] = weakref.WeakKeyDictionary()


class _TaskMeta(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _CTask)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _CTask)


class Task(asyncio.Task, metaclass=_TaskMeta):  # type: ignore[type-arg]
    """``asyncio.Task`` whose ``cancel()`` is noted."""

    __slots__ = ()

    def cancel(self, msg: Any = None) -> bool:
        requested = _CTask.cancel(self, msg)
        if requested and _san is not None:
            _noted(self, sys._getframe(1))
        return requested


Task.__module__ = _CTask.__module__


def _noted(task: Any, caller: FrameType) -> None:
    code = caller.f_code
    if sys.version_info < (3, 11) and not _SCOPE_LIBRARIES.isdisjoint(
        code.co_filename.split(os.sep)
    ):
        return
    request = _requests.get(task)
    if request is None:
        request = _requests[task] = _Request(frames.user_frames(frames.walk(caller)), task)
        task.add_done_callback(_finished)
    if code is _TG_PARENT_CANCEL and getattr(caller.f_locals.get("self"), "_exiting", False):
        request.absorbed += 1


def _finished(task: Any) -> None:
    request = _requests.pop(task, None)
    if request is None or _san is None or task.cancelled() or tasks.framework_task(task):
        return
    if sys.version_info >= (3, 11) and task.cancelling() <= request.absorbed:
        return
    error = task._exception
    outcome = "then returned normally" if error is None else f"then raised {error!r}"
    parts = [f"cancel() called at {_at(request.requested_at)}"]
    if request.suspended_at:
        parts.append(f"while it was suspended at {_at(request.suspended_at)}")
    _san.emit(tasks.task_finding("ASL606", task, "; ".join(parts) + f"; {outcome}"))


def _at(site: tuple[Frame, ...]) -> str:
    return str(site[0]) if site else "<framework code>"


def install(san: Sanitizer, patcher: Patcher) -> None:
    if not san.enabled("ASL606"):
        return
    module = sys.modules[__name__]
    patcher.replace(module, "_san", lambda _: san)
    patcher.replace(asyncio.tasks, "Task", lambda _: Task)
    if sys.version_info >= (3, 12):
        _redirect_eager_factory(patcher)
    patcher.when_imported("uvloop", lambda uvloop: _redirect_uvloop(patcher, uvloop.Loop))


def _redirect_eager_factory(patcher: Patcher) -> None:
    """``asyncio.eager_task_factory`` makes eager tasks of ours.

    The module attribute itself is replaced, because libraries look inside the factory
    for the task class it builds (anyio constructs its tasks from the closure); a
    reference taken before activation is swapped when it is set on a loop, and
    ``get_task_factory`` still returns whichever of the two the program set.
    """
    ours = asyncio.create_eager_task_factory(Task)  # type: ignore[attr-defined]
    theirs = asyncio.eager_task_factory  # type: ignore[attr-defined]
    swapped: weakref.WeakSet[Any] = weakref.WeakSet()
    """Loops given the original factory, running ours."""
    for module in (asyncio, asyncio.tasks):
        patcher.replace(module, "eager_task_factory", lambda _: ours)

    def wrap_set(original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        def set_task_factory(self: Any, factory: Any) -> None:
            if factory is theirs:
                swapped.add(self)
                factory = ours
            else:
                swapped.discard(self)
            original(self, factory)

        return set_task_factory

    def wrap_get(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def get_task_factory(self: Any) -> Any:
            factory = original(self)
            return theirs if factory is ours and self in swapped else factory

        return get_task_factory

    def apply(cls: type[Any]) -> None:
        patcher.replace(cls, "set_task_factory", wrap_set)
        patcher.replace(cls, "get_task_factory", wrap_get)

    loops.each_loop_class(patcher, apply)


def _redirect_uvloop(patcher: Patcher, loop_class: type[Any]) -> None:
    """uvloop builds its tasks from a reference to asyncio's class taken at import."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def create_task(
            self: Any, coro: Any, *, name: Any = None, context: Any = None, **extra: Any
        ) -> Any:
            if self.get_task_factory() is not None or self.is_closed():
                return original(self, coro, name=name, context=context, **extra)
            if context is None:
                task = Task(coro, loop=self, **extra)
            elif sys.version_info >= (3, 11):
                task = Task(coro, loop=self, context=context, **extra)
            else:
                task = context.run(Task, coro, loop=self)
            if name is not None:
                task.set_name(name)
            return task

        return create_task

    patcher.replace(loop_class, "create_task", wrap)
