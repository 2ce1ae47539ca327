"""Who holds each asyncio lock and semaphore, and which tasks are blocked acquiring one.

asyncio's primitives do not record their owner, and a deadlock report without "held by"
explains nothing. ``Lock.acquire`` and ``Semaphore.acquire``/``release`` are wrapped: a
successful acquire stores a weak reference to the acquiring task on the primitive (a lock
has one owner, valid while it is locked; a semaphore a list of holders, trimmed on
release). Only an acquire that will have to wait does more: it registers the task as
blocked on the primitive and asks for a deadlock check once the task is suspended. The
wrappers stay coroutine functions to ``inspect`` (3.12+) and ``asyncio`` (all versions).
Everything is weak, so no task or primitive lives longer than it would without us.

Futures that wait for another thread (``wrap_future``, behind ``run_in_executor`` and
``to_thread``) are noted too: while one is pending, an idle loop is not stalled.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import weakref
from asyncio import AbstractEventLoop
from collections.abc import Callable, Coroutine
from typing import Any

from asynclint.sanitizer.patches import Patcher

Task = asyncio.Task[Any]
Primitive = Any
"""An ``asyncio.Lock`` or ``asyncio.Semaphore`` (``BoundedSemaphore`` included)."""

blocked: weakref.WeakKeyDictionary[Task, weakref.ref[Primitive]] = weakref.WeakKeyDictionary()
"""Tasks waiting in an acquire that found the primitive taken."""
thread_futures: weakref.WeakSet[asyncio.Future[Any]] = weakref.WeakSet()
_OWNER = "_asyncsan_owner"
_HOLDERS = "_asyncsan_holders"
OnBlock = Callable[[AbstractEventLoop, Task], None]


def owners(primitive: Primitive) -> list[Task]:
    """The tasks recorded as holding `primitive` (finished ones included)."""
    if isinstance(primitive, asyncio.Lock):
        owner = vars(primitive).get(_OWNER)
        refs = [owner] if owner is not None and primitive.locked() else []
    else:
        refs = list(vars(primitive).get(_HOLDERS, ()))
    return [task for task in (ref() for ref in refs) if task is not None]


def install(patcher: Patcher, on_block: OnBlock) -> None:
    """Record owners; call `on_block(loop, task)` soon after `task` blocks in an acquire."""
    patcher.replace(asyncio.Lock, "acquire", _wrap_acquire(_lock_taken, on_block))
    patcher.replace(asyncio.Semaphore, "acquire", _wrap_acquire(_semaphore_taken, on_block))
    patcher.replace(asyncio.Semaphore, "release", _wrap_release)
    for module in (asyncio.futures, asyncio):
        patcher.replace(module, "wrap_future", _wrap_wrap_future)


_running_loop = asyncio.events._get_running_loop
_current_task = asyncio.current_task


def _current(primitive: Primitive) -> Task | None:
    """The running task. The primitive's own loop, once it has one, spares the running
    loop lookup, which costs a ``getpid()`` system call before 3.12."""
    loop = primitive._loop or _running_loop()
    return _current_task(loop) if loop is not None else None


def _lock_taken(lock: Primitive, task: Task) -> None:
    setattr(lock, _OWNER, weakref.ref(task))


def _semaphore_taken(semaphore: Primitive, task: Task) -> None:
    semaphore.__dict__.setdefault(_HOLDERS, []).append(weakref.ref(task))


def _wrap_acquire(
    taken: Callable[[Primitive, Task], None], on_block: OnBlock
) -> Callable[[Callable[[Primitive], Coroutine[Any, Any, bool]]], Any]:
    """A plain function, so an acquire that will not wait costs no extra coroutine: its
    owner is recorded as it is called, since the acquiring task awaits it right away."""

    def wrap(original: Callable[[Primitive], Coroutine[Any, Any, bool]]) -> Any:
        def acquire(self: Primitive) -> Coroutine[Any, Any, bool]:
            loop = self._loop or _running_loop()  # see _current
            task = _current_task(loop) if loop is not None else None
            if task is None:
                return original(self)
            if self.locked() or self._waiters:
                return _blocked(self, task, original(self), taken, on_block)
            taken(self, task)
            return original(self)

        if sys.version_info >= (3, 12):
            return inspect.markcoroutinefunction(acquire)
        acquire.__dict__["_is_coroutine"] = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]
        return acquire

    return wrap


async def _blocked(
    primitive: Primitive,
    task: Task,
    acquiring: Coroutine[Any, Any, bool],
    taken: Callable[[Primitive, Task], None],
    on_block: OnBlock,
) -> bool:
    blocked[task] = weakref.ref(primitive)
    loop = task.get_loop()
    loop.call_soon(on_block, loop, task)
    try:
        result = await acquiring
    finally:
        blocked.pop(task, None)
    taken(primitive, task)
    return result


def _wrap_release(original: Callable[[Primitive], None]) -> Callable[[Primitive], None]:
    def release(self: Primitive) -> None:
        holders: list[weakref.ref[Task]] | None = vars(self).get(_HOLDERS)
        if holders:
            current = _current(self)
            mine = weakref.ref(current) if current is not None else None
            if mine in holders:
                holders.remove(mine)
            else:
                holders.pop(0)
        original(self)

    return release


def _wrap_wrap_future(original: Callable[..., asyncio.Future[Any]]) -> Callable[..., Any]:
    def wrap_future(future: Any, *, loop: AbstractEventLoop | None = None) -> Any:
        wrapped = original(future, loop=loop)
        thread_futures.add(wrapped)
        return wrapped

    return wrap_future
