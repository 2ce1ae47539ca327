"""ASL402 sync-lock-across-await."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import libcst as cst

from asynclint.context import Context
from asynclint.knowledge.blocking import CONDITION, LOCK, SEMAPHORE
from asynclint.rule import Invalid, Report, Rule, Valid
from asynclint.rules._blocking import finder
from asynclint.rules._shared_state import (
    Suspension,
    describe,
    first_suspension,
    is_suspension,
    walk,
)

_THREAD_LOCKS = frozenset([LOCK, SEMAPHORE, CONDITION])


class SyncLockAcrossAwait(Rule):
    """
    ## What it does
    Flags a `threading` (or `multiprocessing`) `Lock`, `RLock`, `Semaphore`,
    `BoundedSemaphore` or `Condition` held across an `await`, `async with` or `async for`
    inside an `async def`: a `with lock:` block whose body suspends, and `lock.acquire()`
    (also `if lock.acquire(...):`) followed by a suspension before `lock.release()`.

    The lock is recognised from local evidence only: a constructor call (`threading.Lock()`,
    however imported), an annotation, or `self._lock` assigned such a lock in the class.
    `asyncio` locks, locks of unknown type, `with` blocks that do not suspend, and nested
    sync functions (such as one handed to `asyncio.to_thread`) are left alone. A lock
    created in the `with` statement itself (`with threading.Lock():`) is not shared with
    anyone and is left alone too.

    ## Why is this bad?
    A thread lock belongs to the thread, and every task of an event loop runs on the same
    thread. While the task is suspended with the lock held, any other task that reaches
    `with lock:` blocks the whole loop thread in `acquire()`; the task holding the lock can
    then never resume to release it, and the process deadlocks (an `RLock` re-entered by
    another task on the same thread is silently shared instead, so it protects nothing).
    Threads waiting for the lock also wait for as long as the task stays suspended.

    ## Example
    ```python
    async def save(self, item):
        with self._lock:  # self._lock = threading.Lock()
            await self._db.insert(item)
    ```

    ## Use instead
    An `asyncio.Lock` when only tasks share the state; when threads share it too, keep the
    critical section free of awaits:
    ```python
    async def save(self, item):
        async with self._alock:  # self._alock = asyncio.Lock()
            await self._db.insert(item)
    ```

    ## Fix safety
    There is no automatic fix: whether threads share the lock decides the replacement.

    ## Options
    None.
    """

    code = "ASL402"
    name = "sync-lock-across-await"
    message = (
        "thread lock `{lock}` is held across {suspension}; another task {verb} it would "
        "block the event loop thread and deadlock"
    )
    supersedes = frozenset(["ASL305"])
    async_only = True

    examples = (
        Invalid(
            """
            import threading
            from threading import RLock as TRLock
            import threading as th

            LOCK = threading.Lock()

            class Store:
                def __init__(self):
                    self._lock = TRLock()
                    self._cond = th.Condition()
                    self._slots: threading.BoundedSemaphore = threading.BoundedSemaphore(2)

                async def save(self, db, item):
                    with self._lock:  # error: ASL402@14
                        await db.insert(item)
                    with LOCK, open("log") as log:  # error: ASL402@14
                        log.write("saved")
                        async with db.transaction():
                            pass
                    with self._cond:  # error: ASL402@14
                        async for row in db.rows():
                            print(row)
                    with self._slots:  # error: ASL402@14
                        if item:
                            print(await db.count())
            """
        ),
        Invalid(
            """
            import multiprocessing
            import threading

            class Cache:
                _guard: "threading.Lock | None" = None

                async def refresh(self, client, lock: threading.Semaphore):
                    lock.acquire()  # error: ASL402@9
                    try:
                        await client.fetch()
                    finally:
                        lock.release()
                    if self._guard.acquire(blocking=False):  # error: ASL402@12
                        data = [x async for x in client.stream()]
                        self._guard.release()
                    shared = multiprocessing.Lock()
                    self._start(shared)
                    with shared:  # error: ASL402@14
                        await client.push()
            """
        ),
        Valid(
            """
            import asyncio
            import threading

            class Store:
                def __init__(self):
                    self._lock = threading.Lock()
                    self._alock = asyncio.Lock()

                async def save(self, db, item, lock):
                    async with self._alock:
                        await db.insert(item)
                    with self._lock:
                        self._items.append(item)
                    await db.flush()
                    with lock:
                        await db.insert(item)
                    self._lock.acquire()
                    self._items.clear()
                    self._lock.release()
                    await db.flush()

                    def in_thread():
                        with self._lock:
                            db.sync_insert(item)

                    await asyncio.to_thread(in_thread)

                    async def later():
                        await db.flush()

                    with self._lock:
                        task = later()
                        callback = lambda: db.flush()
                    await task
            """
        ),
        Valid(
            """
            import threading

            class Sync:
                def __init__(self):
                    self._lock = threading.Lock()

                def save(self, item):
                    with self._lock:
                        self.items.append(item)

                async def tmp(self, db):
                    with threading.Lock():
                        await db.ping()
                    self._lock.acquire()
                    self._lock.release()
                    await db.ping()
                    with self._lock:
                        pass
            """
        ),
    )

    def __init__(
        self, context: Context, settings: Mapping[str, Any], reports: list[Report]
    ) -> None:
        super().__init__(context, settings, reports)
        self._pending: dict[int, tuple[str, Suspension]] = {}
        """``acquire()`` calls to report when the traversal reaches them."""

    def visit_With(self, node: cst.With) -> None:
        if not self.context.in_async_def or node.asynchronous is not None:
            return
        suspension = first_suspension(node.body)
        if suspension is None:
            return
        for item in node.items:
            lock = item.item
            if not isinstance(lock, cst.Call) and self._is_thread_lock(lock):
                self._report(lock, self.context.code(lock), suspension, "entering")

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        """``lock.acquire()`` then a suspension before ``lock.release()`` in the same block
        (or in the body of ``if lock.acquire(...):``)."""
        if not self.context.in_async_def:
            return
        for index, statement in enumerate(node.body):
            found = _acquire(statement, node.body[index + 1 :])
            if found is None:
                continue
            call, held = found
            receiver = call.func.value if isinstance(call.func, cst.Attribute) else call.func
            if not self._is_thread_lock(receiver):
                continue
            lock = self.context.code(receiver)
            suspension = self._suspension_before_release(held, lock)
            if suspension is not None:
                self._pending[id(call)] = (lock, suspension)

    def visit_Call(self, node: cst.Call) -> None:
        pending = self._pending.pop(id(node), None)
        if pending is not None:
            self._report(node, *pending, "acquiring")

    def _report(self, node: cst.CSTNode, lock: str, suspension: Suspension, verb: str) -> None:
        self.report(
            node,
            lock=lock,
            suspension=describe(self.context, suspension),
            verb=verb,
        )

    def _is_thread_lock(self, expr: cst.BaseExpression) -> bool:
        return finder(self.context).evidence.infer(expr, self.context.scope) in _THREAD_LOCKS

    def _suspension_before_release(
        self, held: Sequence[cst.CSTNode], lock: str
    ) -> Suspension | None:
        """The first suspension in `held`, unless ``lock.release()`` comes before it."""
        for node in held:
            for inner in walk(node):
                if isinstance(inner, cst.Call) and self._releases(inner, lock):
                    return None
                if is_suspension(inner):
                    return inner
        return None

    def _releases(self, call: cst.Call, lock: str) -> bool:
        func = call.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value == "release"
            and self.context.code(func.value) == lock
        )


def _acquire(
    statement: cst.BaseStatement, following: Sequence[cst.BaseStatement]
) -> tuple[cst.Call, Sequence[cst.CSTNode]] | None:
    """The ``x.acquire(...)`` call `statement` makes, and the code that runs holding it."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Expr) and _is_acquire(small.value):
            assert isinstance(small.value, cst.Call)
            return small.value, following
    if isinstance(statement, cst.If) and _is_acquire(statement.test):
        assert isinstance(statement.test, cst.Call)
        return statement.test, [statement.body]
    return None


def _is_acquire(expr: cst.BaseExpression) -> bool:
    return (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "acquire"
    )
