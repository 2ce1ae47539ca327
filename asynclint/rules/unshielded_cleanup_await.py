"""ASL204 unshielded-cleanup-await."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import Any

import libcst as cst

from asynclint.callables import indexed_function, returns_coroutine
from asynclint.context import Block, BlockKind, Context
from asynclint.knowledge.asyncio_api import SHIELD
from asynclint.knowledge.cancellation import (
    CANCELLED_CLASS_GETTERS,
    CANCELLED_ERROR,
    CATCHES_CANCELLATION,
    GATHER,
)
from asynclint.knowledge.cleanup import (
    ASYNC_CONTEXT_MANAGER,
    CLEANUP_VERBS,
    NEVER_RETURNING,
    NEVER_RETURNING_METHODS,
    SHIELDING_SCOPES,
    WAIT_FOR,
)
from asynclint.rule import Invalid, Option, Report, Rule, Valid
from asynclint.spawners import makes_coroutine, spawns_task
from asynclint.walk import children

_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
_MAX_SPELLING = 48
_Handler = cst.ExceptHandler | cst.ExceptStarHandler


class _Catch(enum.Enum):
    CANCELLATION = enum.auto()
    ANYTHING = enum.auto()


_SECOND_CANCEL = (
    "a second `cancel()` (shutdown, an outer `asyncio.timeout`/`wait_for`, a failing "
    "`TaskGroup` sibling)"
)


class _Position(enum.Enum):
    """Where a cleanup runs, and which further cancellation can interrupt it there."""

    HANDLER = ("runs while the task is being cancelled", _SECOND_CANCEL)
    BROAD_HANDLER = ("also runs when the task is cancelled", _SECOND_CANCEL)
    LOOP_FINALLY = (
        "runs when the task is cancelled, typically at shutdown",
        "a second `cancel()` (`asyncio.run` cancelling leftover tasks, a supervisor cancelling "
        "again, an outer `asyncio.timeout`)",
    )
    EXIT = (
        "runs on every exit of `async with`, cancelled ones too, and callers cannot shield it",
        "a cancellation of the caller (a second `cancel()`, its `asyncio.timeout`/`wait_for`, "
        "a failing `TaskGroup` sibling)",
    )
    FINALLY = (
        "is unshielded",
        "a cancellation arriving meanwhile (a second `cancel()`, an enclosing "
        "`asyncio.timeout`/`wait_for`, a failing `TaskGroup` sibling)",
    )

    def __init__(self, when: str, interrupter: str) -> None:
        self.when = when
        self.interrupter = interrupter


def _own_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and its descendants in the same scope (nested defs, classes, lambdas skipped)."""
    yield node
    for child in children(node):
        if not isinstance(child, _SCOPES):
            yield from _own_nodes(child)


def _spelling(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SPELLING else f"{text[: _MAX_SPELLING - 1]}…"


def _cleanup_verb(func: cst.BaseExpression) -> str | None:
    """The cleanup verb a callee's name starts with: ``conn.close``, ``self._close_session``,
    ``client.async_disconnect`` and ``flush`` name cleanups; ``is_closed`` does not."""
    if isinstance(func, cst.Attribute):
        name = func.attr.value
    elif isinstance(func, cst.Name):
        name = func.value
    else:
        return None
    words = [word for word in name.split("_") if word]
    if words[:1] == ["async"]:
        words = words[1:]
    return words[0] if words and words[0] in CLEANUP_VERBS else None


class UnshieldedCleanupAwait(Rule):
    """
    ## What it does
    Flags an awaited cleanup that runs where a further cancellation is to be expected,
    unshielded. A cleanup is a call whose name starts with `close`, `aclose`, `release`,
    `rollback`, `commit`, `flush`, `shutdown`, `disconnect`, `unlock`, `cleanup`,
    `teardown`, `dispose`, `logout` or `unsubscribe` (`conn.close()`,
    `self._close_session()`, `client.async_disconnect()`), awaited directly or through
    `asyncio.wait_for`/`asyncio.gather`. The places are:

    - a handler that catches the task's cancellation (`except asyncio.CancelledError`,
      `except BaseException`, a bare `except:`, a tuple with one of them, `except*`)
      around an `await`, `async for`, `async with` or `yield`: it runs *because* the task
      is being cancelled;
    - `__aexit__`, and the `finally` around the `yield` of an `@asynccontextmanager`:
      they run on every exit of `async with`, cancelled or not, and the caller has no way
      to shield them;
    - the `finally` of a `try` that only an exception ends: a `while True` loop with no
      `break` or `return`, `serve_forever()`, `sleep_forever()`, `await asyncio.Future()`.
      Such a task is stopped by cancelling it, at shutdown, when cancellations come in
      bursts.

    It also flags `await asyncio.shield(coro())` (also inside `wait_for`/`gather`) when
    the argument becomes a new task that nothing else references: a coroutine, any
    awaitable that is not known to be a future, or `create_task(...)`. Dropping the result
    of `asyncio.shield(coro())` altogether is ASL102's finding.

    It stays silent under `asyncio.shield(...)`, `anyio.CancelScope(shield=True)`,
    `anyio.move_on_after(..., shield=True)`/`fail_after`, `trio.CancelScope(shield=True)`;
    for awaits that are not cleanups (`wait_closed()` and `drain()` only wait for what
    the transport finishes anyway; `asyncio.to_thread(conn.close)` finishes in its thread
    whatever happens to the `await`); in `except Exception` (it never sees a
    `CancelledError`); in a handler around awaiting a task the function cancels (the
    `CancelledError` there is that task's, not this one's); and outside `async def`.

    asyncio's cancellation is edge-triggered: `cancel()` raises `CancelledError` once,
    and the awaits of the `finally` or handler it leads to then run normally unless a
    *further* cancellation arrives. A plain `finally: await conn.close()` after a short
    `try` is therefore not flagged by default: it is mostly reached without any
    cancellation, and one arriving during the close is no likelier than during any other
    `await` (where shielding would change nothing). The option `all-finally-blocks`
    reports those too.

    ## Why is this bad?
    A cleanup interrupted half-way leaves the resource half-closed: a transaction neither
    committed nor rolled back, a connection never returned to its pool, a lock held until
    it expires, buffered state never flushed. Shutdown is exactly when this happens:
    `asyncio.run` cancels every task still running when its main coroutine returns,
    supervisors cancel again after a grace period, an outer `asyncio.timeout` or
    `wait_for` expires while an inner one's cleanup still runs, and a failing `TaskGroup`
    sibling cancels the others.

    `asyncio.shield(coro())` wraps the coroutine in a task that only the shield's
    callbacks reference. Once the `await` is cancelled the shield lets go of it, and the
    event loop keeps only weak references to tasks: the protected work can be
    garbage-collected before it finishes, which is what the shield was meant to prevent.

    ## Example
    ```python
    class Worker:
        async def run(self):
            try:
                while True:
                    await self.handle(await self.queue.get())
            finally:
                await self.db.rollback()
    ```

    ## Use instead
    Run the cleanup as a task that something keeps, and shield it:
    ```python
    class Worker:
        async def run(self):
            try:
                while True:
                    await self.handle(await self.queue.get())
            finally:
                self._rollback = asyncio.ensure_future(self.db.rollback())
                await asyncio.shield(self._rollback)
    ```
    Under anyio, `with anyio.CancelScope(shield=True): await self.db.rollback()`.

    ## Fix safety
    There is no automatic fix: a shielded cleanup outlives the cancellation of its
    caller, which then completes before the cleanup does, and where to keep the task is a
    design decision.

    ## Options
    - `all-finally-blocks`: also report cleanups in every `finally` of an `async def`, not
      only where a further cancellation is to be expected (default `false`).
    """

    code = "ASL204"
    name = "unshielded-cleanup-await"
    message = (
        "`{call}` {where} {when}; {interrupter} interrupts it, leaving the resource half-closed"
    )
    fix_title = "Run the cleanup as a task you keep a reference to and `asyncio.shield` it"
    async_only = True
    options = (
        Option(
            "all-finally-blocks",
            False,
            "Also report cleanups in every `finally` block, not only those reached by cancellation.",
        ),
    )

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from asyncio import CancelledError

            async def save(conn, row):
                try:
                    await conn.execute(row)
                except asyncio.CancelledError:
                    await conn.rollback()  # error: ASL204@9
                    raise

            async def fetch(session, url):
                try:
                    return await session.get(url)
                except BaseException:
                    await session.close()  # error: ASL204@9
                    raise

            async def send(client, message):
                try:
                    await client.send(message)
                except:
                    await client.async_disconnect()  # error: ASL204@9
                    raise

            async def query(pool, conn):
                try:
                    return await conn.fetch("select 1")
                except (OSError, CancelledError):
                    await pool.release(conn)  # error: ASL204@9
                    raise

            async def nested(conn, lock):
                try:
                    await conn.execute("update")
                except aio.CancelledError:
                    try:
                        await aio.wait_for(conn.rollback(), 5)  # error: ASL204@13
                    except Exception:
                        pass
                    await aio.gather(lock._release_lock(), conn.flush())  # error: ASL204@9
                    raise
            """
        ),
        Invalid(
            """
            import asyncio
            import contextlib

            class Transaction:
                async def __aexit__(self, exc_type, exc, tb):
                    if exc_type is None:
                        await self._conn.commit()  # error: ASL204@13
                    else:
                        await self._conn.rollback()  # error: ASL204@13

            @contextlib.asynccontextmanager
            async def connect(pool):
                conn = await pool.acquire()
                try:
                    yield conn
                finally:
                    await pool.release(conn)  # error: ASL204@9

            class Worker:
                async def run(self):
                    try:
                        while True:
                            item = await self.queue.get()
                            for part in item:
                                if not part:
                                    break
                                await self.handle(part)
                    finally:
                        await self.db.close()  # error: ASL204@13

                async def serve(self, server):
                    try:
                        await server.serve_forever()
                    finally:
                        await self.cleanup()  # error: ASL204@13

            @contextlib.asynccontextmanager
            async def transaction(conn):
                try:
                    yield conn
                except BaseException:
                    await conn.rollback()  # error: ASL204@9
                    raise
            """
        ),
        Invalid(
            """
            import asyncio
            from asyncio import shield

            async def store(record): ...

            async def handle(request, db):
                await asyncio.shield(store(request))  # error: ASL204@11
                result = await shield(asyncio.create_task(store(request)))  # error: ASL204@20
                await asyncio.wait_for(shield(db.commit()), timeout=5)  # error: ASL204@28
                return result
            """
        ),
        Invalid(
            """
            import asyncio
            import anyio

            async def copy(source, target):
                try:
                    await target.write(await source.read())
                finally:
                    await target.aclose()  # error: ASL204@9

            async def unshielded(conn):
                try:
                    await conn.execute("update")
                except asyncio.CancelledError:
                    with anyio.CancelScope(shield=False):
                        await conn.rollback()  # error: ASL204@13
                    raise
            """,
            options={"all-finally-blocks": True},
        ),
        Invalid(
            """
            import asyncio

            async def run_all(conn, jobs):
                try:
                    async with asyncio.TaskGroup() as tg:
                        for job in jobs:
                            tg.create_task(job(conn))
                except* asyncio.CancelledError:
                    await conn.rollback()  # error: ASL204@9
                    raise
            """,
            min_python=(3, 11),
        ),
        Valid(
            """
            import asyncio
            import concurrent.futures

            async def short_try(conn):
                try:
                    await conn.execute("select 1")
                finally:
                    await conn.close()

            async def errors_only(conn):
                try:
                    await conn.execute("select 1")
                except Exception:
                    await conn.rollback()
                    raise

            async def thread_pool_cancel(conn, future):
                try:
                    await asyncio.wrap_future(future)
                except concurrent.futures.CancelledError:
                    await conn.close()

            async def no_suspension(pool):
                try:
                    conn = pool.get_nowait()
                except BaseException:
                    await pool.close()
                    raise
                return conn

            async def stop(self):
                self._task.cancel()
                try:
                    await self._task
                except asyncio.CancelledError:
                    await self._session.close()

            async def loop_with_exit(queue, conn):
                try:
                    while True:
                        item = await queue.get()
                        if item is None:
                            break
                finally:
                    await conn.close()
            """
        ),
        Valid(
            """
            import asyncio

            async def not_cleanups(task, writer, queue):
                try:
                    await queue.join()
                except asyncio.CancelledError:
                    task.cancel()
                    await asyncio.sleep(0)
                    await writer.wait_closed()
                    await writer.drain()
                    await task
                    await writer.closed_event.wait()
                    raise

            async def helper_defined_in_handler(conn):
                try:
                    await conn.execute("update")
                except asyncio.CancelledError:
                    async def later():
                        await conn.close()

                    asyncio.get_running_loop().call_soon(print, later)
                    raise

            class Client:
                async def aclose(self):
                    await self._session.close()

                async def __aenter__(self):
                    await self._session.close()
                    return self

                async def __aexit__(self, *exc_info):
                    self._session.detach()

            def sync_code(conn):
                try:
                    conn.execute("update")
                except BaseException:
                    conn.rollback()
                    raise
            """
        ),
        Valid(
            """
            import asyncio
            import contextlib
            import anyio
            import trio

            class Worker:
                async def run(self):
                    try:
                        while True:
                            await self.handle(await self.queue.get())
                    finally:
                        self._closing = asyncio.ensure_future(self.db.close())
                        await asyncio.shield(self._closing)

                async def __aexit__(self, *exc_info):
                    with anyio.CancelScope(shield=True):
                        await self.db.commit()

                async def stop(self, conn):
                    try:
                        await conn.execute("update")
                    except BaseException:
                        with anyio.move_on_after(5, shield=True):
                            await conn.rollback()
                        with trio.CancelScope(shield=True):
                            await conn.close()
                        raise

            async def stacked(conn):
                async with contextlib.AsyncExitStack() as stack:
                    stack.push_async_callback(conn.close)
                    await conn.execute("update")

            async def kept(conn, task):
                await asyncio.shield(task)
                closing = asyncio.create_task(conn.close())
                await asyncio.shield(closing)
                asyncio.shield(conn.close())
            """
        ),
    )

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        super().__init__(context, settings, reports)
        self._outer_blocks: list[int] = []
        """Per enclosing function: how many blocks of `context.blocks` lie outside it."""
        self._cancelled: dict[int, frozenset[str]] = {}

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._outer_blocks.append(len(self.context.blocks))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._outer_blocks.pop()

    def visit_Await(self, node: cst.Await) -> None:
        if not self.context.in_async_def:
            return
        cleanup: cst.Call | None = None
        for awaited in self._awaited(node.expression):
            if isinstance(awaited, cst.Call):
                if self.context.qualname(awaited.func) in SHIELD:
                    self._check_shield(awaited)
                elif cleanup is None and _cleanup_verb(awaited.func) is not None:
                    cleanup = awaited
        if cleanup is None:
            return
        found = self._position()
        if found is not None:
            position, where = found
            self.report(
                node,
                call=_spelling(self.context.code(cleanup)),
                where=where,
                when=position.when,
                interrupter=position.interrupter,
            )

    # -- what is awaited -----------------------------------------------------------------

    def _awaited(self, expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
        """`expr` and what awaiting it awaits: ``wait_for``'s first argument, ``gather``'s
        positional arguments."""
        yield expr
        if not isinstance(expr, cst.Call):
            return
        qualname = self.context.qualname(expr.func)
        positional = [arg.value for arg in expr.args if arg.keyword is None and not arg.star]
        if qualname in WAIT_FOR:
            positional = positional[:1]
        elif qualname not in GATHER:
            return
        for arg in positional:
            yield from self._awaited(arg)

    def _check_shield(self, call: cst.Call) -> None:
        if not call.args or call.args[0].keyword is not None:
            return
        inner = call.args[0].value
        if not isinstance(inner, cst.Call) or not self._new_task(inner):
            return
        self.report(
            call,
            f"`{_spelling(self.context.code(call.func))}` protects "
            f"`{_spelling(self.context.code(inner))}`, a new task nothing else references; "
            "once this `await` is cancelled it can be garbage-collected before it finishes",
        )

    def _new_task(self, call: cst.Call) -> bool:
        """`shield` wraps `call`'s result in a new task: a coroutine or awaitable that is not
        a future, or a task just created. A sync function may return a future: unknown."""
        if spawns_task(self.context, call):
            return True
        helper = indexed_function(self.context, call.func)
        if helper is not None and helper.returns_task and not helper.opaque:
            return True
        return (
            makes_coroutine(self.context, call)
            and returns_coroutine(self.context, call.func) is not False
        )

    # -- where it runs -------------------------------------------------------------------

    def _position(self) -> tuple[_Position, str] | None:
        """The innermost place around the current node where a further cancellation is to
        be expected, and how to name it; None when there is none or a scope shields it."""
        function = self.context.function
        assert function is not None and isinstance(function.node, cst.FunctionDef)
        blocks = self.context.blocks[self._outer_blocks[-1] :]
        if any(self._shields(block) for block in blocks):
            return None
        for index in range(len(blocks) - 1, 0, -1):
            block, owner = blocks[index], blocks[index - 1]
            if not isinstance(owner.node, (cst.Try, cst.TryStar)):
                continue
            found = self._block_position(block, owner.node, function.node)
            if found is not None:
                return found
        if function.class_node is not None and function.name == "__aexit__":
            return _Position.EXIT, "in `__aexit__`"
        return None

    def _block_position(
        self, block: Block, try_: cst.Try | cst.TryStar, function: cst.FunctionDef
    ) -> tuple[_Position, str] | None:
        if block.kind is BlockKind.EXCEPT:
            assert isinstance(block.node, (cst.ExceptHandler, cst.ExceptStarHandler))
            caught = self._caught_cancellation(block.node)
            if caught is None or not self._suspends(try_.body, function):
                return None
            where = f"in `{self._handler_spelling(block.node)}`"
            return (_Position.HANDLER if caught else _Position.BROAD_HANDLER), where
        if block.kind is not BlockKind.FINALLY:
            return None
        if self._is_context_manager(function) and _yields(try_.body):
            return (
                _Position.EXIT,
                f"in the `finally` of `@asynccontextmanager` `{function.name.value}`",
            )
        if self._runs_until_cancelled(try_.body):
            return _Position.LOOP_FINALLY, "in the `finally` of an endless loop"
        if self.settings["all-finally-blocks"]:
            return _Position.FINALLY, "in `finally`"
        return None

    def _shields(self, block: Block) -> bool:
        """A ``with`` entering a cancel scope with a ``shield=`` that is not ``False``."""
        return isinstance(block.node, cst.With) and any(
            isinstance(item.item, cst.Call)
            and self.context.qualname(item.item.func) in SHIELDING_SCOPES
            and any(
                arg.keyword is not None
                and arg.keyword.value == "shield"
                and not (isinstance(arg.value, cst.Name) and arg.value.value == "False")
                for arg in item.item.args
            )
            for item in block.node.items
        )

    def _caught_cancellation(self, handler: _Handler) -> bool | None:
        """Whether `handler` catches the task's cancellation: True when that is all it
        catches, False when it catches other exceptions too, None when it does not."""
        if handler.type is None:
            return False
        elements = handler.type.elements if isinstance(handler.type, cst.Tuple) else ()
        kinds = [self._catches(element.value) for element in elements] or [
            self._catches(handler.type)
        ]
        if not any(kinds):
            return None
        return all(kind == _Catch.CANCELLATION for kind in kinds)

    def _catches(self, expr: cst.BaseExpression) -> _Catch | None:
        if isinstance(expr, cst.Call):
            getter = not expr.args and self.context.qualname(expr.func) in CANCELLED_CLASS_GETTERS
            return _Catch.CANCELLATION if getter else None
        qualname = self.context.qualname(expr)
        if qualname in CANCELLED_ERROR:
            return _Catch.CANCELLATION
        return _Catch.ANYTHING if qualname in CATCHES_CANCELLATION else None

    def _handler_spelling(self, handler: _Handler) -> str:
        if handler.type is None:
            return "except:"
        star = "*" if isinstance(handler, cst.ExceptStarHandler) else ""
        return f"except{star} {_spelling(self.context.code(handler.type))}"

    def _is_context_manager(self, function: cst.FunctionDef) -> bool:
        for decorator in function.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            if self.context.qualname(target) in ASYNC_CONTEXT_MANAGER:
                return True
        return False

    def _suspends(self, body: cst.BaseSuite, function: cst.FunctionDef) -> bool:
        """`body` has a point where the task's own cancellation can arrive: an ``await``
        (other than of a task this function cancels: its ``CancelledError`` is that task's),
        ``async for``, ``async with`` or, in an async generator, ``yield``."""
        cancelled = self._cancelled_in(function)
        return any(
            (isinstance(node, cst.Await) and self.context.code(node.expression) not in cancelled)
            or isinstance(node, cst.Yield)
            or (
                isinstance(node, (cst.For, cst.With, cst.CompFor)) and node.asynchronous is not None
            )
            for node in _own_nodes(body)
        )

    def _cancelled_in(self, function: cst.FunctionDef) -> frozenset[str]:
        """What the function calls ``.cancel()`` on, as source text."""
        key = id(function)
        if key not in self._cancelled:
            self._cancelled[key] = frozenset(
                self.context.code(node.func.value)
                for node in _own_nodes(function.body)
                if isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "cancel"
            )
        return self._cancelled[key]

    def _runs_until_cancelled(self, body: cst.BaseSuite) -> bool:
        """`body` only ends by an exception: an endless loop it never leaves, or an await
        of something that never finishes by itself."""
        for node in _own_nodes(body):
            if isinstance(node, cst.While) and _is_true(node.test) and not _leaves(node.body):
                return True
            if isinstance(node, cst.Await) and isinstance(node.expression, cst.Call):
                func = node.expression.func
                if self.context.qualname(func) in NEVER_RETURNING or (
                    isinstance(func, cst.Attribute) and func.attr.value in NEVER_RETURNING_METHODS
                ):
                    return True
        return False


def _is_true(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Name):
        return expr.value == "True"
    return isinstance(expr, cst.Integer) and expr.value != "0"


def _leaves(node: cst.CSTNode, nested: bool = False) -> bool:
    """A ``return`` in `node`, or a ``break`` not caught by a loop nested in it: the
    loop whose body `node` is can end without an exception."""
    if isinstance(node, cst.Return):
        return True
    if isinstance(node, cst.Break):
        return not nested
    if isinstance(node, _SCOPES):
        return False
    if isinstance(node, (cst.For, cst.While)):
        return _leaves(node.body, True) or (
            node.orelse is not None and _leaves(node.orelse, nested)
        )
    return any(_leaves(child, nested) for child in children(node))


def _yields(body: cst.BaseSuite) -> bool:
    return any(isinstance(node, cst.Yield) for node in _own_nodes(body))
