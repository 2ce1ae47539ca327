"""ASL403 busy-wait."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from asynclint.knowledge import inert
from asynclint.knowledge.asyncio_api import ENSURE_FUTURE, LOOP, TASK_FACTORIES
from asynclint.rule import Invalid, Rule, Valid
from asynclint.rules._shared_state import walk
from asynclint.scope import BindingKind, ScopeKind
from asynclint.walk import children, descendants

ASYNC_SLEEPS = frozenset(["asyncio.sleep", "asyncio.tasks.sleep", "anyio.sleep", "trio.sleep"])

_CLOCKS = inert(
    frozenset(
        [
            "time.time",
            "time.time_ns",
            "time.monotonic",
            "time.monotonic_ns",
            "time.perf_counter",
            "time.perf_counter_ns",
            "anyio.current_time",
            "trio.current_time",
        ]
    )
)
_PURE_BUILTINS = frozenset(
    f"builtins.{name}"
    for name in ["len", "min", "max", "abs", "int", "float", "round", "bool", "isinstance"]
)
"""Calls that only compute: a guard or a counter may use them."""

_LOG_METHODS = frozenset(
    ["debug", "info", "warning", "warn", "error", "exception", "critical", "log"]
)
_LOGGER_FACTORIES = inert(frozenset(["logging.getLogger"]))

_WAIT_FOR_EVENT = "have the code that changes it set an `asyncio.Event` and await `wait()`"
_STATE_METHODS: dict[str, dict[str, str]] = {
    "asyncio.Event": {"is_set": "await `{receiver}.wait()` instead"},
    "asyncio.Task": {
        "done": "await `{receiver}` (or `asyncio.wait`) instead",
        "cancelled": "await `{receiver}` (or `asyncio.wait`) instead",
    },
}
"""Predicates on asyncio objects whose polling has a direct awaitable replacement."""


class BusyWait(Rule):
    """
    ## What it does
    Flags a loop in an `async def` that polls state by sleeping: `while <condition>:` whose
    body does nothing but `await asyncio.sleep(...)` (or `anyio.sleep`/`trio.sleep`, however
    imported), and the same loop written as `while True:` (or with a counter or deadline as
    its condition) that leaves on `if <condition>: break` (or `return`). The condition must
    read state another task can change: an attribute (`self._ready`, `server.started`), a
    module global or closure variable, `len(...)` of one, `event.is_set()` on an
    `asyncio.Event`, `task.done()` on a task created in the function.

    Besides the sleep, the loop may only count, compare the clock, log, and leave
    (`raise TimeoutError`, `break`, `return`): a loop that does work (calls a function,
    awaits anything else, writes an attribute) is a periodic job or a retry loop with
    backoff, not a busy wait, and is left alone. So is a condition that calls a function
    (`while not client.is_connected():` may ask a server or a device), one that awaits,
    one that reads only local variables, and `while True:` with no exit on a condition
    (a keep-alive loop).

    ## Why is this bad?
    A polling loop wakes up every interval whether or not anything changed, and notices a
    change only at the next wake-up: a short interval burns CPU and floods the loop with
    wake-ups, a long one adds latency to every wait. Waiting on an `asyncio.Event` (or an
    `asyncio.Condition`) that the code changing the state sets wakes the task exactly
    once, exactly when it should, and composes with timeouts (`asyncio.timeout`,
    `asyncio.wait_for`) and cancellation.

    ## Example
    ```python
    async def wait_ready(self):
        while not self._ready:
            await asyncio.sleep(0.1)
    ```

    ## Use instead
    ```python
    async def wait_ready(self):
        await self._ready_event.wait()  # set() where `_ready` becomes true
    ```

    ## Fix safety
    There is no automatic fix: the `Event` has to be set where the state changes, which is
    elsewhere in the code.

    ## Options
    None.
    """

    code = "ASL403"
    name = "busy-wait"
    message = "busy-wait: the loop polls `{condition}` with `{sleep}(...)`; {instead}"
    async_only = True

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from anyio import sleep as nap
            import trio

            READY = False

            class Server:
                async def wait_started(self, server):
                    while not self._started:  # error: ASL403@15
                        await asyncio.sleep(0.1)
                    while self._conn is None:  # error: ASL403@15
                        await aio.sleep(0)
                    while len(self._pending) > 0:  # error: ASL403@15
                        await nap(0.5)
                    while not server.started: await trio.sleep(0)  # error: ASL403@15
                    while not READY:  # error: ASL403@15
                        pass
                        await asyncio.sleep(1)
            """
        ),
        Invalid(
            """
            import asyncio
            import logging
            import time

            _LOGGER = logging.getLogger(__name__)

            async def wait(worker, timeout):
                deadline = time.monotonic() + timeout
                waited = 0
                while True:
                    if worker.state == "done":  # error: ASL403@12
                        break
                    await asyncio.sleep(0.1)
                while time.monotonic() < deadline:
                    if not worker.busy:  # error: ASL403@12
                        return True
                    _LOGGER.debug("still busy")
                    await asyncio.sleep(0.1)
                while worker.limiter.borrowed > 0:  # error: ASL403@11
                    waited += 1
                    if waited > timeout:
                        raise TimeoutError
                    await asyncio.sleep(1)
            """
        ),
        Invalid(
            """
            import asyncio

            async def main(coro):
                stop = asyncio.Event()
                task = asyncio.create_task(coro)
                while not stop.is_set():  # error: ASL403@11
                    await asyncio.sleep(1)
                while not task.done():  # error: ASL403@11
                    await asyncio.sleep(0.1)

            async def counter():
                count = 0

                def bump():
                    nonlocal count
                    count += 1

                while count < 3:  # error: ASL403@11
                    await asyncio.sleep(0)
            """
        ),
        Valid(
            """
            import asyncio
            import time

            READY = False

            class Worker:
                async def run(self, client, queue):
                    while True:
                        await asyncio.sleep(60)
                    while self._running:
                        await asyncio.sleep(10)
                        await self.refresh()
                    while True:
                        if self._stopped:
                            break
                        await asyncio.sleep(1)
                        self.tick()
                    while not client.is_connected():
                        await asyncio.sleep(1)
                    while not await client.ready():
                        await asyncio.sleep(1)
                    while not self._ready:
                        await self._ready_event.wait()
                    delay = 1
                    while not self._conn:
                        try:
                            self._conn = await client.connect()
                        except OSError:
                            await asyncio.sleep(delay)
                            delay = min(delay * 2, 30)
                    retries = 3
                    while retries > 0:
                        retries -= 1
                        await asyncio.sleep(1)
                    while READY:
                        time.sleep(1)
            """
        ),
        Valid(
            """
            import asyncio

            async def poll(task, fut, items):
                while task.done():
                    await asyncio.sleep(0.1)
                    task.cancel()
                while not fut.done():
                    await asyncio.sleep(0.1)
                for _ in range(10):
                    if items.ready:
                        break
                    await asyncio.sleep(0.1)
                count = 0
                while count < items.limit:
                    count += 1
                    await asyncio.sleep(0.1)
                while count < asyncio.Queue:
                    await asyncio.sleep(0.1)

            def sync_poll(server):
                while not server.started:
                    asyncio.sleep(0.1)

            async def outer(server):
                def inner():
                    while not server.started:
                        asyncio.sleep(0.1)

                async def gen():
                    while True:
                        if server.started:
                            yield 1
                        await asyncio.sleep(1)

                return inner, gen
            """
        ),
    )

    def visit_While(self, node: cst.While) -> None:
        if not self.context.in_async_def:
            return
        body = _statements(node.body)
        sleep = next((s for s in map(self._sleep, body) if s is not None), None)
        if sleep is None or not all(self._trivial(statement) for statement in body):
            return
        counters = frozenset(_assigned(body))
        polled = None
        if not _is_true(node.test):
            if not self._pure(node.test):
                return
            polled = node.test if self._reads_state(node.test, counters) else None
        for test in _exits(body) if polled is None else ():
            if self._pure(test) and self._reads_state(test, counters):
                polled = test
                break
        if polled is not None:
            self.report(
                polled,
                condition=_shorten(self.context.code(polled)),
                sleep=sleep,
                instead=self._instead(polled),
            )

    # -- what the loop body does -------------------------------------------------------

    def _sleep(self, statement: cst.BaseStatement | cst.BaseSmallStatement) -> str | None:
        """The spelling of the async sleep `statement` awaits, if that is all it does."""
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            return self._sleep(statement.body[0])
        if not (isinstance(statement, cst.Expr) and isinstance(statement.value, cst.Await)):
            return None
        call = statement.value.expression
        if not isinstance(call, cst.Call) or self.context.qualname(call.func) not in ASYNC_SLEEPS:
            return None
        return " ".join(self.context.code(call.func).split())

    def _trivial(self, statement: cst.BaseStatement | cst.BaseSmallStatement) -> bool:
        """Sleeping, counting, logging, leaving: nothing that is work of its own."""
        if isinstance(statement, cst.SimpleStatementLine):
            return all(self._trivial(small) for small in statement.body)
        if isinstance(statement, cst.If):
            branches = [statement.body, statement.orelse]
            return self._pure(statement.test, calls=True) and all(
                self._trivial(inner)
                for branch in branches
                if branch is not None
                for inner in _statements(branch)
            )
        if isinstance(statement, (cst.Pass, cst.Break, cst.Continue)):
            return True
        if isinstance(statement, cst.Expr):
            value = statement.value
            return _is_constant(value) or self._sleep(statement) is not None or self._logs(value)
        if isinstance(statement, cst.Raise):
            return statement.exc is None or self._pure(statement.exc, calls=True)
        if isinstance(statement, cst.Return):
            return statement.value is None or self._pure(statement.value)
        if isinstance(statement, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            return self._counts(statement)
        return False

    def _counts(self, statement: cst.Assign | cst.AugAssign | cst.AnnAssign) -> bool:
        """An assignment to local variables of a value computed without side effects."""
        if isinstance(statement, cst.Assign):
            targets = [target.target for target in statement.targets]
        else:
            targets = [statement.target]
        return (
            statement.value is not None
            and self._pure(statement.value)
            and all(isinstance(t, cst.Name) and self.context.is_local(t.value) for t in targets)
        )

    def _logs(self, expr: cst.BaseExpression) -> bool:
        """``logger.debug(...)`` on a ``logging.getLogger(...)`` logger, or ``print``."""
        if not isinstance(expr, cst.Call) or not self._pure_arguments(expr):
            return False
        func = expr.func
        if self.context.qualname(func) == "builtins.print":
            return True
        if not (isinstance(func, cst.Attribute) and func.attr.value in _LOG_METHODS):
            return False
        if (self.context.qualname(func.value) or "").startswith("logging"):
            return True
        if not isinstance(func.value, cst.Name):
            return False
        bindings = self.context.scope.lookup(func.value.value) or ()
        return bool(bindings) and all(
            binding.kind is BindingKind.ASSIGN
            and isinstance(binding.value, cst.Call)
            and self.context.resolver.qualname(binding.value.func, binding.scope)
            in _LOGGER_FACTORIES
            for binding in bindings
        )

    # -- what the condition reads -----------------------------------------------------

    def _pure(self, expr: cst.BaseExpression, *, calls: bool = False) -> bool:
        """No ``await`` and no call with side effects (`calls`: any call but awaits)."""
        for node in walk(expr):
            if isinstance(node, cst.Await):
                return False
            if isinstance(node, cst.Call) and not calls and not self._harmless(node):
                return False
        return True

    def _pure_arguments(self, call: cst.Call) -> bool:
        return all(self._pure(arg.value, calls=True) for arg in call.args)

    def _harmless(self, call: cst.Call) -> bool:
        qualname = self.context.qualname(call.func)
        if qualname in _PURE_BUILTINS or qualname in _CLOCKS:
            return True
        func = call.func
        if not isinstance(func, cst.Attribute):
            return False
        if func.attr.value == "time" and self.context.infer(func.value) == LOOP:
            return True
        return self._state_method(call) is not None

    def _state_method(self, call: cst.Call) -> str | None:
        """The hint for ``event.is_set()``/``task.done()`` on a known asyncio object."""
        func = call.func
        if call.args or not isinstance(func, cst.Attribute):
            return None
        kind = self.context.infer(func.value) or self._task_type(func.value)
        hint = _STATE_METHODS.get(kind or "", {}).get(func.attr.value)
        return None if hint is None else hint.format(receiver=self.context.code(func.value))

    def _task_type(self, expr: cst.BaseExpression) -> str | None:
        """``asyncio.Task`` for a local assigned from ``create_task``/``ensure_future``."""
        if not (isinstance(expr, cst.Name) and self.context.is_local(expr.value)):
            return None
        bindings = self.context.scope.lookup(expr.value) or ()
        spawned = bool(bindings) and all(
            binding.kind is BindingKind.ASSIGN
            and isinstance(binding.value, cst.Call)
            and self.context.qualname(binding.value.func) in TASK_FACTORIES | ENSURE_FUTURE
            for binding in bindings
        )
        return "asyncio.Task" if spawned else None

    def _reads_state(self, node: cst.CSTNode, counters: frozenset[str]) -> bool:
        """An attribute, a global or closure variable, or an asyncio object's state;
        comparisons involving `counters` (locals the loop assigns) bound the loop instead."""
        if isinstance(node, cst.Call):
            if self._state_method(node) is not None:
                return True
            return any(self._reads_state(arg.value, counters) for arg in node.args)
        if isinstance(node, cst.Comparison) and _names(node) & counters:
            return False
        if isinstance(node, cst.Attribute):
            root = _root(node)
            return not (isinstance(root, cst.Name) and self._imported(root.value))
        if isinstance(node, cst.Name):
            return self._shared_name(node.value)
        if isinstance(node, cst.Lambda):
            return False
        return any(self._reads_state(child, counters) for child in children(node))

    def _imported(self, name: str) -> bool:
        bindings = self.context.scope.lookup(name) or ()
        return any(b.kind in (BindingKind.IMPORT, BindingKind.CLASS) for b in bindings)

    def _shared_name(self, name: str) -> bool:
        """A variable another function can assign: a global, a variable of an enclosing
        function, or a local that a nested function declares ``nonlocal``."""
        function = self.context.function
        if function is None:
            return False
        if self.context.is_local(name):
            return name in _nonlocals_of_nested(function.node)
        bindings = self.context.scope.lookup(name) or ()
        return bool(bindings) and all(
            binding.kind in (BindingKind.ASSIGN, BindingKind.OTHER)
            and binding.scope.kind in (ScopeKind.MODULE, ScopeKind.FUNCTION)
            for binding in bindings
        )

    def _instead(self, polled: cst.BaseExpression) -> str:
        for node in walk(polled):
            if isinstance(node, cst.Call):
                hint = self._state_method(node)
                if hint is not None:
                    return hint
        return _WAIT_FOR_EVENT


def _statements(suite: cst.BaseSuite | cst.Else | cst.If) -> Sequence[cst.BaseStatement]:
    if isinstance(suite, cst.Else):
        return _statements(suite.body)
    if isinstance(suite, cst.If):
        return [suite]
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    assert isinstance(suite, cst.IndentedBlock)
    return suite.body


def _exits(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseExpression]:
    """Tests of ``if <test>: ... break`` (or ``return``) directly in the loop body."""
    for statement in body:
        if isinstance(statement, cst.If) and statement.orelse is None:
            last = _statements(statement.body)[-1]
            if isinstance(last, cst.SimpleStatementLine) and isinstance(
                last.body[-1], (cst.Break, cst.Return)
            ):
                yield statement.test


def _nonlocals_of_nested(function: cst.CSTNode) -> set[str]:
    """Names that functions nested in `function` declare ``nonlocal``."""
    return {
        item.name.value
        for node in descendants(function)
        if isinstance(node, cst.Nonlocal)
        for item in node.names
    }


def _is_true(expr: cst.BaseExpression) -> bool:
    return (isinstance(expr, cst.Name) and expr.value == "True") or (
        isinstance(expr, cst.Integer) and expr.value != "0"
    )


def _root(expr: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(expr, (cst.Attribute, cst.Subscript)):
        expr = expr.value
    return expr


def _names(node: cst.CSTNode) -> set[str]:
    return {inner.value for inner in walk(node) if isinstance(inner, cst.Name)}


def _assigned(body: Sequence[cst.BaseStatement]) -> Iterator[str]:
    """Names the loop body assigns: counters and deadlines."""
    for statement in body:
        for node in walk(statement):
            if isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)):
                target = node.target
                if isinstance(target, cst.Name):
                    yield target.value


def _is_constant(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString))


def _shorten(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
