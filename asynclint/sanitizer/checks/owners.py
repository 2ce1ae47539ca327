"""Who holds each asyncio lock and semaphore, and which tasks are blocked acquiring one.

asyncio's primitives do not record their owner, and a deadlock report without "held by"
explains nothing. ``Lock.acquire`` and ``Semaphore.acquire``/``release`` are wrapped: a
successful acquire stores a weak reference to the acquiring task on the primitive (a lock
has one owner, valid while it is locked; a semaphore a list of holders, trimmed on
release). Only an acquire that will have to wait does more: it registers the task as
blocked on the primitive and asks for a deadlock check once the task is suspended.
Everything is weak, so no task or primitive lives longer than it would without us.

Futures that wait for another thread (``wrap_future``, behind ``run_in_executor`` and
``to_thread``) are noted too: while one is pending, an idle loop is not stalled.
"""

from __future__ import annotations

import asyncio
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


def _current() -> tuple[AbstractEventLoop, Task] | None:
    loop = asyncio.events._get_running_loop()
    task = asyncio.current_task(loop) if loop is not None else None
    return (loop, task) if loop is not None and task is not None else None


def _lock_taken(lock: Primitive, task: Task) -> None:
    setattr(lock, _OWNER, weakref.ref(task))


def _semaphore_taken(semaphore: Primitive, task: Task) -> None:
    semaphore.__dict__.setdefault(_HOLDERS, []).append(weakref.ref(task))


def _wrap_acquire(
    taken: Callable[[Primitive, Task], None], on_block: OnBlock
) -> Callable[[Callable[[Primitive], Coroutine[Any, Any, bool]]], Any]:
    def wrap(original: Callable[[Primitive], Coroutine[Any, Any, bool]]) -> Any:
        async def acquire(self: Primitive) -> bool:
            current = _current()
            if current is None:
                return await original(self)
            loop, task = current
            if self.locked() or self._waiters:
                blocked[task] = weakref.ref(self)
                loop.call_soon(on_block, loop, task)
                try:
                    result = await original(self)
                finally:
                    blocked.pop(task, None)
            else:
                result = await original(self)
            taken(self, task)
            return result

        return acquire

    return wrap


def _wrap_release(original: Callable[[Primitive], None]) -> Callable[[Primitive], None]:
    def release(self: Primitive) -> None:
        holders: list[weakref.ref[Task]] | None = vars(self).get(_HOLDERS)
        if holders:
            current = _current()
            mine = weakref.ref(current[1]) if current is not None else None
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
