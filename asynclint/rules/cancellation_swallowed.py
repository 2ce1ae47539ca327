"""ASL203 cancellation-swallowed."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import libcst as cst

from asynclint import walk
from asynclint.context import Context
from asynclint.diagnostic import Applicability
from asynclint.knowledge.asyncio_api import TASK_GROUP
from asynclint.knowledge.cancellation import (
    CANCELLED_CLASS_GETTERS,
    CANCELLED_ERROR,
    CATCHES_CANCELLATION,
    DELIBERATE_UNCANCEL,
    EXCEPTION_SINKS,
    FINISHING_METHODS,
    GATHER,
    NO_RETURN,
    SPAWN_METHODS,
    SPAWNERS,
    SUPPRESS,
    TIMEOUTS,
    WAITERS,
)
from asynclint.rule import Autofix, InsertAfter, Invalid, Replace, Report, Rule, Valid
from asynclint.rules.cancel_not_awaited import StoredValues
from asynclint.spawners import spawns_task

_MAX_SPELLING = 60
_Handler = cst.ExceptHandler | cst.ExceptStarHandler
_Key = tuple[str | None, str]
"""A function as call sites name it: (class of ``self.f``/``cls.f`` or None, name)."""
_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


class Exit(enum.Enum):
    """How control leaves a block of statements."""

    FALL = "can end without re-raising"
    RETURN = "returns without re-raising"
    BREAK = "leaves with `break` without re-raising"
    CONTINUE = "leaves with `continue` without re-raising"
    REPLACE = "raises a different exception without `from`"
    RAISE = "re-raises"


_SWALLOWING = (Exit.RETURN, Exit.BREAK, Exit.CONTINUE, Exit.REPLACE, Exit.FALL)
"""Swallowing exits, the most explicit first (the one the message names)."""
_ENDS_TASK = frozenset([Exit.RETURN, Exit.BREAK, Exit.REPLACE])
"""Exits that stop a task's loop (falling through or ``continue`` keeps it running)."""


class _Flow:
    """Which exits a handler body can take; a statement-level over-approximation.

    Every branch and loop is assumed reachable and every statement may raise, so the only
    claim made is "this path exists": an ``if`` offers both branches, a loop may run zero
    times, a nested ``try`` adds its handlers' exits and a ``finally`` that does not fall
    through replaces them.
    """

    def __init__(
        self, caught_as: str | None, qualname: Callable[[cst.BaseExpression], str | None]
    ) -> None:
        self.caught_as = caught_as
        self.qualname = qualname

    def suite(self, body: cst.BaseSuite) -> set[Exit]:
        if isinstance(body, cst.IndentedBlock):
            return self.statements(body.body)
        assert isinstance(body, cst.SimpleStatementSuite)
        return self.smalls(body.body)

    def statements(self, body: Sequence[cst.BaseStatement]) -> set[Exit]:
        exits: set[Exit] = set()
        for statement in body:
            found = self.statement(statement)
            exits |= found - {Exit.FALL}
            if Exit.FALL not in found:
                return exits
        return exits | {Exit.FALL}

    def smalls(self, body: Sequence[cst.BaseSmallStatement]) -> set[Exit]:
        for small in body:
            if isinstance(small, cst.Raise):
                return {self.raised(small)}
            if isinstance(small, cst.Return):
                return {Exit.RETURN}
            if isinstance(small, cst.Break):
                return {Exit.BREAK}
            if isinstance(small, cst.Continue):
                return {Exit.CONTINUE}
            if (
                isinstance(small, cst.Expr)
                and isinstance(small.value, cst.Call)
                and self.qualname(small.value.func) in NO_RETURN
            ):
                return {Exit.RAISE}
        return {Exit.FALL}

    def raised(self, node: cst.Raise) -> Exit:
        """Re-raising the caught exception, a new ``CancelledError`` or an exception
        chained with ``from`` keeps the task from carrying on as if not cancelled."""
        exc = node.exc
        if exc is None or node.cause is not None:
            return Exit.RAISE
        if isinstance(exc, cst.Name) and exc.value == self.caught_as:
            return Exit.RAISE
        raised = exc.func if isinstance(exc, cst.Call) else exc
        return Exit.RAISE if self.qualname(raised) in CANCELLED_ERROR else Exit.REPLACE

    def statement(self, node: cst.BaseStatement) -> set[Exit]:
        if isinstance(node, cst.SimpleStatementLine):
            return self.smalls(node.body)
        if isinstance(node, cst.If):
            other = {Exit.FALL} if node.orelse is None else self.branch(node.orelse)
            return self.suite(node.body) | other
        if isinstance(node, (cst.For, cst.While)):
            return self.loop(node)
        if isinstance(node, (cst.Try, cst.TryStar)):
            return self.try_(node)
        if isinstance(node, cst.With):
            exits = self.suite(node.body)
            if any(self._suppresses_cancellation(item.item) for item in node.items):
                exits |= {Exit.FALL}
            return exits
        if isinstance(node, cst.Match):
            return {Exit.FALL}.union(*(self.suite(case.body) for case in node.cases))
        return {Exit.FALL}

    def branch(self, node: cst.If | cst.Else) -> set[Exit]:
        return self.statement(node) if isinstance(node, cst.If) else self.suite(node.body)

    def loop(self, node: cst.For | cst.While) -> set[Exit]:
        body = self.suite(node.body)
        exits = body - {Exit.BREAK, Exit.CONTINUE, Exit.FALL}
        if Exit.BREAK in body:
            exits.add(Exit.FALL)
        endless = isinstance(node, cst.While) and _is_true(node.test)
        if not endless:
            exits |= {Exit.FALL} if node.orelse is None else self.suite(node.orelse.body)
        return exits

    def try_(self, node: cst.Try | cst.TryStar) -> set[Exit]:
        exits = self.suite(node.body)
        if node.orelse is not None and Exit.FALL in exits:
            exits = (exits - {Exit.FALL}) | self.suite(node.orelse.body)
        for handler in node.handlers:
            exits |= self.suite(handler.body)
        if node.finalbody is None:
            return exits
        final = self.suite(node.finalbody.body)
        return exits | (final - {Exit.FALL}) if Exit.FALL in final else final

    def _suppresses_cancellation(self, expr: cst.BaseExpression) -> bool:
        """``with suppress(CancelledError):`` turns a re-raise inside it into falling out."""
        return (
            isinstance(expr, cst.Call)
            and self.qualname(expr.func) in SUPPRESS
            and any(self.qualname(arg.value) in CATCHES_CANCELLATION for arg in expr.args)
        )


def _is_true(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Name):
        return expr.value == "True"
    return isinstance(expr, cst.Integer) and expr.value != "0"


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and its descendants in the same scope (nested defs and lambdas skipped)."""
    yield node
    for child in walk.children(node):
        if not isinstance(child, _SCOPES):
            yield from _walk(child)


def _calls_method(node: cst.CSTNode, names: frozenset[str]) -> bool:
    return any(
        isinstance(sub, cst.Call)
        and isinstance(sub.func, cst.Attribute)
        and sub.func.attr.value in names
        for sub in _walk(node)
    )


def _is_name(expr: cst.BaseExpression | None, name: str | None) -> bool:
    return name is not None and isinstance(expr, cst.Name) and expr.value == name


def _hands_on(handler: _Handler, name: str | None) -> bool:
    """The caught exception is stored, returned or passed to a future or a collection:
    someone else receives the cancellation (``fut.set_exception(exc)``, ``self._error =
    exc``, ``errors.append(exc)``)."""
    for node in _walk(handler.body):
        if isinstance(node, (cst.Assign, cst.AnnAssign, cst.Return)) and _is_name(node.value, name):
            return True
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in EXCEPTION_SINKS
            and any(_is_name(arg.value, name) for arg in node.args)
        ):
            return True
    return False


def _spawn_like(call: cst.Call) -> bool:
    """A method call that, by its name, runs a coroutine as a task (``hass.async_create_task``,
    ``tg.start_soon``): evidence enough to stay silent, never to report."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    name = func.attr.value
    return name in SPAWN_METHODS or ("create" in name and "task" in name)


class _Spawns(cst.CSTVisitor):
    """Which functions of a module run as tasks and are never called any other way there.

    A function only ever passed to a task spawner (``create_task(self._run())``,
    ``tg.start_soon(self._run)``, ``asyncio.run(main())``) is a task's top-level runner:
    when it absorbs its own cancellation the task simply ends.
    """

    def __init__(self, is_spawner: Callable[[cst.Call], bool]) -> None:
        super().__init__()
        self.is_spawner = is_spawner
        self.classes: list[str] = []
        self.locals: list[dict[str, cst.Call]] = [{}]
        self.spawned_calls: set[int] = set()
        self.spawned: set[_Key] = set()
        self.calls: list[tuple[_Key, int]] = []

    def runners(self) -> frozenset[_Key]:
        other = {key for key, call in self.calls if call not in self.spawned_calls}
        spawned = self.spawned | {key for key, call in self.calls if call in self.spawned_calls}
        return frozenset(spawned - other)

    def key(self, expr: cst.BaseExpression) -> _Key | None:
        if isinstance(expr, cst.Name):
            return (None, expr.value)
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and expr.value.value in ("self", "cls")
        ):
            return (self.classes[-1] if self.classes else None, expr.attr.value)
        return None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.locals.append({})

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.locals.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        target = node.targets[0].target
        if (
            len(node.targets) == 1
            and isinstance(target, cst.Name)
            and isinstance(node.value, cst.Call)
        ):
            self.locals[-1][target.value] = node.value

    def visit_Call(self, node: cst.Call) -> None:
        key = self.key(node.func)
        if key is not None:
            self.calls.append((key, id(node)))
        if not self.is_spawner(node):
            return
        for arg in node.args:
            value = arg.value
            if isinstance(value, cst.Name) and value.value in self.locals[-1]:
                value = self.locals[-1][value.value]
            if isinstance(value, cst.Call):
                self.spawned_calls.add(id(value))
            elif arg.keyword is None and (spawned := self.key(value)) is not None:
                self.spawned.add(spawned)


class CancellationSwallowed(Rule):
    """
    ## What it does
    Flags a handler in an `async def` that catches a task's cancellation around an `await`
    and can leave without re-raising it: `except asyncio.CancelledError`,
    `except BaseException`, a bare `except:`, a tuple containing one of these, `except*`
    with one of these, anyio's `except get_cancelled_exc_class()`, and
    `with contextlib.suppress(asyncio.CancelledError)` (or `BaseException`). Every path
    through the handler is followed: a `return`, `break` or `continue`, the end of the
    handler, or raising an unrelated exception without `from` swallows the cancellation.

    It stays silent when:

    - every path re-raises: `raise`, `raise exc` of the caught name, a new
      `CancelledError`, or `raise Other(...) from exc` (the chaining makes the
      translation explicit);
    - the handler calls `cancelling()` or `uncancel()`, hands the exception on
      (`fut.set_exception(exc)`, `self._error = exc`, `errors.append(exc)`), or sets a flag
      that the function later answers with `raise CancelledError`;
    - the `try` never suspends where this task's cancellation can arrive: it has no
      `await` (an `async with asyncio.timeout()` alone does not count), or it only awaits
      tasks and futures this function has just cancelled or resolved (`task.cancel()` or
      `loop.call_soon(task.cancel)`, then `await task`) or that were created as tasks
      (`self._task = asyncio.create_task(...)`, then `await self._task`): the handler is
      then about *their* outcome;
    - an earlier handler of the same `try` already takes the `CancelledError`;
    - the function is a task's top-level coroutine (the module only ever passes it to
      `create_task`, `ensure_future`, `asyncio.run`, `start_soon`, ... and never awaits it)
      and the swallowing path ends the task rather than keeping a loop running.

    `except Exception` never catches `CancelledError` since Python 3.8, nor does
    `concurrent.futures.CancelledError` (a different class).

    ## Why is this bad?
    `task.cancel()`, `asyncio.timeout()`, `wait_for` and a failing `TaskGroup` sibling
    all stop a task by raising `CancelledError` at its current `await`. A handler that
    absorbs it lets the coroutine carry on as if nothing happened: the task cannot be
    stopped, timeouts never fire, shutdown hangs, and the caller of the cancelled
    coroutine continues running. asyncio's documentation asks that `CancelledError` be
    re-raised once cleanup is done, or that a deliberate suppression call `uncancel()`.

    ## Example
    ```python
    async def consume(queue):
        while True:
            try:
                item = await queue.get()
            except asyncio.CancelledError:
                log.info("consumer stopped")
                break
            await handle(item)
    ```

    ## Use instead
    Clean up, then re-raise:
    ```python
    async def consume(queue):
        while True:
            try:
                item = await queue.get()
            except asyncio.CancelledError:
                log.info("consumer stopped")
                raise
            await handle(item)
    ```

    ## Fix safety
    The fix appends `raise` to the handler (or replaces a lone `pass` with it). It is
    offered only when the handler catches nothing but the cancellation and its only
    swallowing path is reaching its end; with `except BaseException` or a bare `except:`
    it would re-raise every other exception too. It is unsafe: callers that relied on the
    coroutine returning normally after a cancellation now receive the `CancelledError`.

    ## Options
    None.
    """

    code = "ASL203"
    name = "cancellation-swallowed"
    message = "`{caught}` {path}; the task's cancellation is swallowed"
    fix_title = "Re-raise the `CancelledError` at the end of the handler"
    fix_applicability = Applicability.UNSAFE
    async_only = True

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from asyncio import CancelledError
            from asyncio.exceptions import CancelledError as Cancelled

            async def consume(queue):
                while True:
                    try:
                        item = await queue.get()
                    except asyncio.CancelledError:  # error: ASL203@16
                        break
                    try:
                        await item.process()
                    except aio.CancelledError:  # error: ASL203@16
                        continue

            async def fetch(session):
                try:
                    return await session.get("/")
                except CancelledError:  # error: ASL203@12
                    return None

            async def falls_through(conn):
                try:
                    await conn.ping()
                except Cancelled:  # error: ASL203@12
                    conn.log("cancelled")
            """
        ),
        Invalid(
            """
            import asyncio

            async def everything(conn):
                try:
                    await conn.send(b"x")
                except:  # error: ASL203@5
                    pass

            async def base(conn):
                try:
                    await conn.send(b"x")
                except ValueError:
                    raise
                except BaseException as exc:  # error: ASL203@12
                    if conn.strict:
                        raise
                    conn.log(exc)

            async def tuple_(conn):
                try:
                    await conn.send(b"x")
                except (OSError, asyncio.CancelledError):  # error: ASL203@22
                    raise ConnectionError("lost")

            async def nested_handler(conn):
                try:
                    await conn.send(b"x")
                except asyncio.CancelledError:  # error: ASL203@12
                    try:
                        await conn.close()
                    except OSError:
                        return
                    raise
            """
        ),
        Invalid(
            """
            import asyncio
            import contextlib
            from contextlib import suppress

            async def worker(queue, lock):
                async with lock:
                    with contextlib.suppress(asyncio.CancelledError):  # error: ASL203@34
                        await queue.join()
                with suppress(BaseException):  # error: ASL203@19
                    async with contextlib.AsyncExitStack() as stack:
                        await stack.enter_async_context(lock)

            async def try_else_finally(conn):
                try:
                    await conn.open()
                except asyncio.CancelledError:  # error: ASL203@12
                    conn.reset()
                else:
                    await conn.use()
                finally:
                    await conn.close()

            async def handler_in_handler(conn):
                try:
                    await conn.open()
                except OSError:
                    try:
                        await conn.retry()
                    except asyncio.CancelledError:  # error: ASL203@16
                        conn.abort()
                        raise RuntimeError("aborted")

            async def suppressed_reraise(conn):
                try:
                    await conn.open()
                except asyncio.CancelledError:  # error: ASL203@12
                    with suppress(BaseException):  # error: ASL203@23
                        await conn.close()
                        raise
            """
        ),
        Invalid(
            """
            import asyncio

            async def star(tasks):
                try:
                    async with asyncio.TaskGroup() as tg:
                        for task in tasks:
                            tg.create_task(task)
                except* asyncio.CancelledError:  # error: ASL203@13
                    tasks.clear()
                except* BaseException:
                    raise
            """,
            min_python=(3, 11),
        ),
        Invalid(
            """
            import anyio

            async def serve(stream):
                try:
                    await stream.receive()
                except anyio.get_cancelled_exc_class():  # error: ASL203@12
                    return False
            """
        ),
        Valid(
            """
            import asyncio
            import contextlib

            async def reraises(conn):
                try:
                    await conn.send(b"x")
                except asyncio.CancelledError:
                    conn.abort()
                    raise
                except BaseException as exc:
                    raise exc

            async def translated(conn):
                try:
                    await conn.send(b"x")
                except BaseException as exc:
                    if conn.closed:
                        raise ConnectionError("closed") from exc
                    raise asyncio.CancelledError()

            async def no_await(task):
                try:
                    task.result()
                except asyncio.CancelledError:
                    return None

            async def exception_only(conn):
                try:
                    await conn.send(b"x")
                except Exception:
                    return None
                except asyncio.CancelledError:
                    raise

            async def all_paths(conn):
                try:
                    await conn.send(b"x")
                except asyncio.CancelledError:
                    try:
                        await conn.close()
                    finally:
                        raise
            """
        ),
        Valid(
            """
            import asyncio
            import contextlib
            from contextlib import suppress

            async def stop(self):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

            async def stop_all(tasks):
                for task in tasks:
                    task.cancel()
                with suppress(asyncio.CancelledError):
                    await asyncio.gather(*tasks)

            async def stop_one(task):
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass

            async def deliberate(conn):
                try:
                    await conn.send(b"x")
                except asyncio.CancelledError:
                    if asyncio.current_task().cancelling():
                        raise
                    return None

            async def uncancelled(conn):
                try:
                    await conn.send(b"x")
                except asyncio.CancelledError:
                    asyncio.current_task().uncancel()
            """
        ),
        Valid(
            """
            import asyncio
            import concurrent.futures
            import contextlib

            def sync_code(conn):
                try:
                    conn.send(b"x")
                except BaseException:
                    pass

            async def nested_sync(conn):
                def callback(fut):
                    try:
                        fut.result()
                    except asyncio.CancelledError:
                        pass
                conn.on_done(callback)
                try:
                    await conn.send(b"x")
                except concurrent.futures.CancelledError:
                    pass

            async def loop_in_handler(conns):
                try:
                    await asyncio.sleep(1)
                except BaseException:
                    for conn in conns:
                        if conn.broken:
                            break
                        continue
                    raise

            async def stack_cleanup(lock):
                async with contextlib.AsyncExitStack() as stack:
                    try:
                        await stack.enter_async_context(lock)
                    except (KeyboardInterrupt, SystemExit):
                        pass
                    with contextlib.suppress(OSError):
                        await lock.release()

            async def other_suppressed(lock):
                try:
                    await lock.acquire()
                except asyncio.CancelledError:
                    with contextlib.suppress(OSError):
                        lock.release()
                        raise
                    raise
            """
        ),
        Valid(
            """
            import asyncio

            async def star(tasks):
                try:
                    async with asyncio.TaskGroup() as tg:
                        for task in tasks:
                            tg.create_task(task)
                except* asyncio.CancelledError:
                    tasks.clear()
                    raise
                except* Exception:
                    pass
            """,
            min_python=(3, 11),
        ),
        Invalid(
            """
            import asyncio

            async def consume(queue):
                try:
                    await queue.get()
                except asyncio.CancelledError:  # error: ASL203@12
                    pass

            async def log_and_go(conn):
                try:
                    await conn.ping()
                except asyncio.CancelledError:  # error: ASL203@12
                    conn.log("cancelled")

            async def one_line(conn):
                try:
                    await conn.ping()
                except asyncio.CancelledError: pass  # error: ASL203@12
            """,
            fixed="""
            import asyncio

            async def consume(queue):
                try:
                    await queue.get()
                except asyncio.CancelledError:
                    raise

            async def log_and_go(conn):
                try:
                    await conn.ping()
                except asyncio.CancelledError:
                    conn.log("cancelled")
                    raise

            async def one_line(conn):
                try:
                    await conn.ping()
                except asyncio.CancelledError: raise
            """,
        ),
        Invalid(
            """
            import asyncio

            class Poller:
                def start(self):
                    self._task = asyncio.create_task(self._poll())
                    self._other = asyncio.create_task(self._serve())

                async def _poll(self):
                    while True:
                        try:
                            await self.fetch()
                        except asyncio.CancelledError:  # error: ASL203@20
                            self.log("retrying")

                async def _serve(self):
                    try:
                        await self.fetch()
                    except asyncio.CancelledError:  # error: ASL203@16
                        return

                async def restart(self):
                    await self._serve()

                async def fetch(self):
                    try:
                        await self._task
                    except asyncio.CancelledError:
                        pass
                    try:
                        await self._unknown
                    except asyncio.CancelledError:  # error: ASL203@16
                        pass
            """
        ),
        Valid(
            """
            import asyncio

            class Worker:
                def start(self):
                    self._task = asyncio.create_task(self._run())
                    self._pump = asyncio.ensure_future(self._drain())

                async def _run(self):
                    try:
                        while True:
                            await self.step()
                    except asyncio.CancelledError:
                        pass

                async def _drain(self):
                    while True:
                        try:
                            await self.step()
                        except asyncio.CancelledError:
                            break

                async def stop(self):
                    self._task.cancel()
                    try:
                        async with asyncio.timeout(1):
                            await self._task
                    except asyncio.CancelledError:
                        pass

                async def step(self): ...

            async def main():
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    print("bye")

            asyncio.run(main())
            """
        ),
        Valid(
            """
            import asyncio
            import contextlib

            async def forward(fut, source):
                try:
                    await source.read()
                except BaseException as exc:
                    fut.set_exception(exc)

            async def record(self, errors):
                try:
                    await self.run()
                except asyncio.CancelledError as error:
                    self._error = error
                try:
                    await self.run()
                except (Exception, asyncio.CancelledError) as exc:
                    errors.append(exc)

            async def reacquire(lock):
                cancelled = False
                while True:
                    try:
                        await lock.acquire()
                        break
                    except asyncio.CancelledError:
                        cancelled = True
                if cancelled:
                    raise asyncio.CancelledError

            async def settle(fut, error):
                fut.set_exception(error)
                with contextlib.suppress(BaseException):
                    await fut

            async def own_task(job):
                task = asyncio.create_task(job())
                try:
                    await task
                except asyncio.CancelledError:
                    return None
            """
        ),
    )

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        super().__init__(context, settings, reports)
        self._stored = StoredValues(context)
        self._finished: dict[int, set[str]] = {}
        """Per function: what `.cancel()`/`.set_result()`/`.set_exception()` was called on
        (or `.cancel` handed to a callback registrar) so far, as source text."""
        self._first_handlers: dict[int, cst.Try | cst.TryStar] = {}
        self._finished_before: dict[int, frozenset[str]] = {}
        """Per ``try``: what was finished before its first handler."""
        self._loops = [0]
        """Per enclosing function: how many loops surround the current node."""
        self._runners: frozenset[_Key] | None = None

    # -- traversal state -----------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._loops.append(0)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._loops.pop()

    def visit_For(self, node: cst.For) -> None:
        self._loops[-1] += 1

    def leave_For(self, original_node: cst.For) -> None:
        self._loops[-1] -= 1

    def visit_While(self, node: cst.While) -> None:
        self._loops[-1] += 1

    def leave_While(self, original_node: cst.While) -> None:
        self._loops[-1] -= 1

    def visit_Call(self, node: cst.Call) -> None:
        function = self.context.function
        if function is None:
            return
        finished = self._finished.setdefault(id(function.node), set())
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in FINISHING_METHODS:
            finished.add(self.context.code(func.value))
            loop = self._loop_over(func.value)
            if loop is not None:
                finished.add(self.context.code(loop.iter))
        for arg in node.args:
            value = arg.value
            if isinstance(value, cst.Attribute) and value.attr.value == "cancel":
                finished.add(self.context.code(value.value))

    def _loop_over(self, receiver: cst.BaseExpression) -> cst.For | None:
        """The innermost ``for`` when `receiver` is its target (``for t in tasks: t.cancel()``)."""
        for block in reversed(self.context.blocks):
            if isinstance(block.node, cst.For):
                target = block.node.target
                return (
                    block.node
                    if isinstance(target, cst.Name) and _is_name(receiver, target.value)
                    else None
                )
        return None

    def visit_Try(self, node: cst.Try) -> None:
        self._enter_try(node)

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._enter_try(node)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._enter_handler(node)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self._enter_handler(node)

    def leave_Try(self, original_node: cst.Try) -> None:
        self._check_try(original_node)

    def leave_TryStar(self, original_node: cst.TryStar) -> None:
        self._check_try(original_node)

    def _enter_try(self, node: cst.Try | cst.TryStar) -> None:
        if self.context.in_async_def and node.handlers:
            self._first_handlers[id(node.handlers[0])] = node

    def _enter_handler(self, node: _Handler) -> None:
        try_ = self._first_handlers.pop(id(node), None)
        if try_ is not None:
            self._finished_before[id(try_)] = self._finished_so_far()

    def _finished_so_far(self) -> frozenset[str]:
        function = self.context.function
        assert function is not None
        return frozenset(self._finished.get(id(function.node), ()))

    # -- the checks ----------------------------------------------------------------------

    def visit_With(self, node: cst.With) -> None:
        if not self.context.in_async_def:
            return
        for item in node.items:
            call = item.item
            if not (isinstance(call, cst.Call) and self.context.qualname(call.func) in SUPPRESS):
                continue
            caught = next((a.value for a in call.args if self._catches(a.value)), None)
            if caught is None or not self._interruptible(node.body, self._finished_so_far()):
                continue
            if not self._is_runner() or self._loops[-1]:
                spelling = _spelling(self.context.code(call))
                self.report(caught, caught=spelling, path="around an `await` never re-raises")

    def _check_try(self, node: cst.Try | cst.TryStar) -> None:
        finished = self._finished_before.pop(id(node), None)
        if finished is None:
            return
        handler, caught = self._first_catching(node.handlers)
        if handler is None or not self._interruptible(node.body, finished):
            return
        name = handler.name.name if handler.name is not None else None
        caught_as = name.value if isinstance(name, cst.Name) else None
        if self._deliberate(handler, caught_as):
            return
        exits = _Flow(caught_as, self.context.qualname).suite(handler.body)
        swallowing = [exit for exit in _SWALLOWING if exit in exits]
        if self._is_runner():
            swallowing = [e for e in swallowing if self._loops[-1] and e not in _ENDS_TASK]
        if not swallowing:
            return
        star = "*" if isinstance(handler, cst.ExceptStarHandler) else ""
        where = "except:" if handler.type is None else f"except{star} "
        if handler.type is not None:
            where += _spelling(self.context.code(handler.type))
        fix = self._fix(handler) if swallowing == [Exit.FALL] else None
        self.report(caught or handler, caught=where, path=swallowing[0].value, fix=fix)

    def _first_catching(
        self, handlers: Sequence[_Handler]
    ) -> tuple[_Handler | None, cst.BaseExpression | None]:
        """The handler that receives a ``CancelledError``, and the class that catches it."""
        for handler in handlers:
            if handler.type is None:
                return handler, None
            caught = next((c for c in _classes(handler.type) if self._catches(c)), None)
            if caught is not None:
                return handler, caught
        return None, None

    def _catches(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Call):
            return not expr.args and self.context.qualname(expr.func) in CANCELLED_CLASS_GETTERS
        return self.context.qualname(expr) in CATCHES_CANCELLATION

    def _only_cancellation(self, expr: cst.BaseExpression) -> bool:
        """True when the handler catches nothing but a task's cancellation."""
        return all(
            self._catches(c) and self.context.qualname(c) != "builtins.BaseException"
            for c in _classes(expr)
        )

    def _deliberate(self, handler: _Handler, caught_as: str | None) -> bool:
        """The handler manages the cancellation on purpose: it asks the task about it,
        hands the exception on, or sets a flag for a later ``raise CancelledError``."""
        if _calls_method(handler.body, DELIBERATE_UNCANCEL) or _hands_on(handler, caught_as):
            return True
        sets_flag = any(isinstance(node, cst.Assign) for node in _walk(handler.body))
        return sets_flag and self._raises_cancelled_outside(handler)

    def _raises_cancelled_outside(self, handler: _Handler) -> bool:
        function = self.context.function
        assert function is not None
        inside = {id(node) for node in _walk(handler)}
        for node in _walk(function.node.body):
            if isinstance(node, cst.Raise) and node.exc is not None and id(node) not in inside:
                raised = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
                if self.context.qualname(raised) in CANCELLED_ERROR:
                    return True
        return False

    def _interruptible(self, body: cst.BaseSuite, finished: frozenset[str]) -> bool:
        """True when `body` suspends where this task's cancellation can arrive. Awaiting a
        task or future this function owns or has just cancelled or resolved waits for
        *that* one to finish, and the handler is taken to be about its outcome."""
        for node in _walk(body):
            if isinstance(node, cst.Await) and not self._awaits_known(node.expression, finished):
                return True
            if isinstance(node, (cst.For, cst.CompFor)) and node.asynchronous is not None:
                return True
            if (
                isinstance(node, cst.With)
                and node.asynchronous is not None
                and not all(self._is_timeout(item.item) for item in node.items)
            ):
                return True
        return False

    def _is_timeout(self, expr: cst.BaseExpression) -> bool:
        """``asyncio.timeout()`` enters and exits without suspending."""
        return isinstance(expr, cst.Call) and self.context.qualname(expr.func) in TIMEOUTS

    def _awaits_known(self, awaited: cst.BaseExpression, finished: frozenset[str]) -> bool:
        targets = [awaited]
        if isinstance(awaited, cst.Call) and self.context.qualname(awaited.func) in WAITERS:
            targets = [arg.value for arg in awaited.args if arg.keyword is None]
            if self.context.qualname(awaited.func) not in GATHER:
                targets = targets[:1]
        return bool(targets) and all(
            self.context.code(target) in finished or self._is_task(target) for target in targets
        )

    def _is_task(self, expr: cst.BaseExpression) -> bool:
        values = self._stored.of(expr)
        return bool(values) and all(
            isinstance(value, cst.Call) and self._creates_task(value) for value in values or ()
        )

    def _creates_task(self, call: cst.Call) -> bool:
        func = call.func
        return (
            spawns_task(self.context, call)
            or _spawn_like(call)
            or (isinstance(func, cst.Attribute) and self.context.infer(func.value) == TASK_GROUP)
        )

    def _is_spawner(self, call: cst.Call) -> bool:
        return self.context.qualname(call.func) in SPAWNERS or _spawn_like(call)

    def _is_runner(self) -> bool:
        """The enclosing function is only ever run as a task's top-level coroutine."""
        function = self.context.function
        if function is None:
            return False
        if self._runners is None:
            spawns = _Spawns(self._is_spawner)
            walk.visit(self.context.module, spawns)
            self._runners = spawns.runners()
        owner = function.class_node.name.value if function.class_node is not None else None
        return (owner, function.name) in self._runners

    def _fix(self, handler: _Handler) -> Autofix | None:
        """Re-raise at the end, for handlers that catch nothing but the cancellation (with a
        broad handler, `raise` would also propagate every other exception)."""
        if handler.type is None or not self._only_cancellation(handler.type):
            return None
        body = handler.body
        last: cst.BaseStatement | cst.BaseSmallStatement = body.body[-1]
        smalls: Sequence[cst.BaseSmallStatement] = ()
        if isinstance(body, cst.SimpleStatementSuite):
            smalls = body.body
        elif len(body.body) == 1 and isinstance(last, cst.SimpleStatementLine):
            smalls = last.body
        if len(smalls) == 1 and isinstance(smalls[0], cst.Pass):
            return Autofix(Replace(smalls[0], "raise"))
        return Autofix(InsertAfter(last, "raise"))


def _classes(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The exception classes an ``except`` clause names."""
    if isinstance(expr, cst.Tuple):
        return [element.value for element in expr.elements]
    return [expr]


def _spelling(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SPELLING else f"{text[: _MAX_SPELLING - 1]}…"
