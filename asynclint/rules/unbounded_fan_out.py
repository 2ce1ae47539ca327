"""ASL406 unbounded-fan-out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import libcst as cst

from asynclint.context import BlockKind, Context
from asynclint.knowledge.asyncio_api import ENSURE_FUTURE, SHIELD, TASK_GROUP
from asynclint.knowledge.cancellation import GATHER
from asynclint.rule import Invalid, Report, Rule, Valid
from asynclint.rules._blocking import Evidence, TypeTables
from asynclint.rules.unawaited_coroutine import callee_spelling
from asynclint.scope import Binding, BindingKind, Scope
from asynclint.spawners import spawns_task
from asynclint.walk import children

ANYIO_TASK_GROUP = "anyio.abc.TaskGroup"
TRIO_NURSERY = "trio.Nursery"
TASK_GROUP_TYPES = TypeTables(
    classes={
        "asyncio.TaskGroup": TASK_GROUP,
        "asyncio.taskgroups.TaskGroup": TASK_GROUP,
        "anyio.abc.TaskGroup": ANYIO_TASK_GROUP,
        "trio.Nursery": TRIO_NURSERY,
    }.get,
    returns={"anyio.create_task_group": ANYIO_TASK_GROUP, "trio.open_nursery": TRIO_NURSERY},
    self_returning_cms=frozenset([TASK_GROUP, ANYIO_TASK_GROUP, TRIO_NURSERY]),
)
"""Task groups and nurseries, as local evidence shows them (``async with ... as tg``)."""

FUNCTION_SPAWN_METHODS = frozenset(["start_soon"])
"""Spawners given the async function (and its arguments) rather than a coroutine."""
GROUP_SPAWN_METHODS = frozenset(["create_task", *FUNCTION_SPAWN_METHODS])
"""``await tg.start(...)`` is left out: it waits for each task to start, and in a loop it
mostly restarts one long-running service."""
EXISTING_WORK = frozenset(
    [
        "close",
        "aclose",
        "wait_closed",
        "wait",
        "cancel",
        "stop",
        "shutdown",
        "release",
        "join",
        "disconnect",
        "unsubscribe",
        "terminate",
        "kill",
    ]
)
"""Methods (leading underscores and ``async_`` aside) that finish or wait for an object
that exists."""
WRAPPERS = frozenset(
    ["asyncio.wrap_future", "asyncio.futures.wrap_future", *ENSURE_FUTURE, *SHIELD]
)
"""Given an existing future rather than a call, these start no new work."""
ALL_AT_ONCE = frozenset(
    ["asyncio.wait", "asyncio.tasks.wait", "asyncio.as_completed", "asyncio.tasks.as_completed"]
)
"""Calls that schedule every awaitable of their first argument at once."""

PACING = frozenset(
    [
        *GATHER,
        *ALL_AT_ONCE,
        "asyncio.wait_for",
        "asyncio.tasks.wait_for",
        "asyncio.sleep",
        "asyncio.tasks.sleep",
        "anyio.sleep",
        "trio.sleep",
    ]
)
"""Awaited in the spawning loop, these drain or pace the tasks (a batch at a time)."""

SIZE_PRESERVING = frozenset(
    [
        "builtins.enumerate",
        "builtins.reversed",
        "builtins.sorted",
        "builtins.list",
        "builtins.tuple",
        "builtins.set",
        "builtins.frozenset",
        "builtins.iter",
        "asyncio.as_completed",
        "asyncio.tasks.as_completed",
    ]
)
_DICT_VIEWS = frozenset(["items", "keys", "values"])
_MAX_DEPTH = 6
_MAX_SPELLING = 48
_Comprehension = cst.ListComp | cst.SetComp | cst.GeneratorExp | cst.DictComp


class UnboundedFanOut(Rule):
    """
    ## What it does
    Flags tasks started one per item of input of unknown size with nothing bounding how
    many run at once. Spawners are `asyncio.create_task(...)`, `asyncio.ensure_future(...)`, an event
    loop's `create_task(...)`, a task group's `create_task(...)` or an `anyio`/`trio`
    `start_soon(...)` inside a `for`/`async for` loop or a comprehension, and
    `asyncio.gather(*(f(x) for x in items))`, `asyncio.gather(*[f(x) for x in items])`,
    `asyncio.gather(*map(f, items))` and `asyncio.wait`/`as_completed` of a comprehension.

    Input is what comes from outside the object: an `async for` stream, a parameter, an
    awaited result (`rows = await db.fetch()`), or something computed from these. The
    program's own state (attributes of `self`, globals, literals) holds registries of
    handlers, services or widgets, sized by the code rather than by load, and is left
    alone. So is bounded work: an iterable of known size (a literal, `range(n)` or
    `range(0, n, step)` but not `range(len(...))`, a slice with an upper bound such as
    `items[i:i + 100]`, a comprehension over one of these, the results of
    `await asyncio.gather(a, b)`), a loop over the items of an enclosing batch loop, work
    that takes a semaphore-like object (`async with` or `acquire...()` in the spawned
    function of the same module, or around the spawn), a loop that takes a token
    (`limiter.acquire_nowait()`) or awaits `gather`/`wait`/`wait_for`/`sleep` to drain or
    pace what it started, and work on objects that exist already (`conn.close()`,
    `worker.wait()`, `asyncio.wrap_future(f)` for each, or a task for a coroutine object
    made elsewhere).

    This rule is opt-in: fanning out over input that is small by construction is often
    fine, and only the author knows the sizes.

    ## Why is this bad?
    With no bound, load decides concurrency: a large input starts thousands of tasks at
    once, each holding memory, sockets or database connections, and the service falls
    over (or gets rate-limited) exactly when it is busiest. There is no backpressure: the
    producer never slows down because the consumers cannot keep up.

    ## Example
    ```python
    async def crawl(urls):
        await asyncio.gather(*(fetch(url) for url in urls))
    ```

    ## Use instead
    ```python
    async def crawl(urls):
        limit = asyncio.Semaphore(20)

        async def bounded(url):
            async with limit:
                return await fetch(url)

        await asyncio.gather(*(bounded(url) for url in urls))
    ```

    ## Fix safety
    There is no automatic fix: the right bound depends on the workload.

    ## Options
    None.
    """

    code = "ASL406"
    name = "unbounded-fan-out"
    message = "{what} with no bound on how many run at once; limit concurrency (an `asyncio.Semaphore`, a fixed pool of workers, or batches)"
    default_enabled = False

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from asyncio import create_task

            async def fetch(url): ...

            async def crawl(urls, loop: asyncio.AbstractEventLoop):
                for url in urls:
                    asyncio.create_task(fetch(url))  # error: ASL406@9
                for url in urls:
                    task = create_task(fetch(url))  # error: ASL406@16
                    task.add_done_callback(print)
                for url in set(urls):
                    aio.ensure_future(fetch(url))  # error: ASL406@9
                    loop.create_task(fetch(url))  # error: ASL406@9
                tasks = [asyncio.create_task(fetch(u)) for u in urls]  # error: ASL406@14
                await asyncio.gather(*(fetch(u) for u in urls))  # error: ASL406@11
                await asyncio.gather(*[fetch(u) for u in urls], fetch("x"))  # error: ASL406@11
                await aio.gather(*map(fetch, urls))  # error: ASL406@11
                for done in asyncio.as_completed([fetch(u) for u in urls]):  # error: ASL406@17
                    await done
            """
        ),
        Invalid(
            """
            import asyncio
            import anyio

            class Server:
                async def handle(self, message): ...

                async def serve(self, websocket):
                    async with asyncio.TaskGroup() as tg:
                        async for message in websocket:
                            tg.create_task(self.handle(message))  # error: ASL406@17

                async def serve_anyio(self, stream, batches):
                    async with anyio.create_task_group() as tg:
                        for batch in batches:
                            for message in range(3):
                                tg.start_soon(self.handle, message)  # error: ASL406@21
            """,
            min_python=(3, 11),
        ),
        Valid(
            """
            import asyncio
            import enum

            class Color(enum.Enum):
                RED = 1

            URLS = ("a", "b")

            async def fetch(url): ...

            async def fixed(urls, workers):
                for url in ("a", "b", "c"):
                    asyncio.create_task(fetch(url))
                for url in URLS:
                    asyncio.create_task(fetch(url))
                for color in Color:
                    asyncio.create_task(fetch(color))
                for _ in range(workers):
                    asyncio.create_task(fetch(None))
                for start in range(0, len(urls), 10):
                    await asyncio.gather(*(fetch(u) for u in urls[start : start + 10]))
                await asyncio.gather(*(fetch(u) for u in urls[:50]))
                for u in urls:
                    await fetch(u)
                results = [fetch(u) for u in urls]
                await asyncio.gather(*results[:10], fetch("x"))
                pages = await asyncio.gather(fetch("a"), fetch("b"))
                await asyncio.gather(*(fetch(page) for page in pages))
                for n in [i * 2 for i in range(5)]:
                    asyncio.create_task(fetch(n))
            """
        ),
        Valid(
            """
            import asyncio

            class Crawler:
                def __init__(self):
                    self.limit = asyncio.Semaphore(10)

                async def fetch(self, url):
                    async with self.limit:
                        pass

                async def crawl(self, urls, chunks):
                    await asyncio.gather(*(self.fetch(u) for u in urls))
                    for url in urls:
                        asyncio.create_task(self.fetch(url))
                    for url in urls:
                        await self.limit.acquire()
                        task = asyncio.create_task(self.process(url))
                        task.add_done_callback(lambda _: self.limit.release())
                    pending = set()
                    for url in urls:
                        pending.add(asyncio.create_task(self.process(url)))
                        if len(pending) >= 10:
                            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for chunk in chunks:
                        await asyncio.gather(*(self.process(u) for u in chunk))
                    for url in urls:
                        self.scheduler.create_task(self.process(url))
                        def later():
                            asyncio.create_task(self.process(url))

                async def process(self, url): ...
            """
        ),
        Valid(
            """
            import asyncio

            class Hub:
                async def notify(self, event):
                    for handler in self._handlers:
                        asyncio.create_task(handler(event))
                    await asyncio.gather(*(s.start() for s in self.services()))

                async def close(self, connections, futures):
                    await asyncio.gather(*(conn.close() for conn in connections))
                    await asyncio.wait([asyncio.create_task(c._shutdown()) for c in connections])
                    await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))

                async def stop(self, timers):
                    async def stop_timer(timer):
                        timer.task.cancel()
                        await timer.task

                    await asyncio.gather(*[stop_timer(t) for t in timers])
                    await asyncio.gather(*(spawn(s.async_stop()) for s in timers))

                async def collect(self, infos):
                    async for info in infos:
                        for value in info.values():
                            task = asyncio.create_task(value)

                async def submit(self, runs, limiter):
                    for run in runs:
                        limiter.acquire_on_behalf_of_nowait(run)
                        asyncio.create_task(self.process(run))

                async def process(self, run): ...
            """
        ),
    )

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        super().__init__(context, settings, reports)
        self._evidence = Evidence(context, TASK_GROUP_TYPES)
        self._frames: list[list[cst.For]] = [[]]
        """Per enclosing function (innermost last): the loops whose body holds the node."""
        self._bodies: dict[int, cst.For] = {}
        self._elements: set[int] = set()
        """Spawning calls a comprehension already reported on."""

    # -- where we are ---------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._frames.append([])

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._frames.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._frames.append([])

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self._frames.pop()

    def visit_For(self, node: cst.For) -> None:
        self._bodies[id(node.body)] = node

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter_body(node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._enter_body(node)

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._leave_body(node)

    def leave_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._leave_body(node)

    def _enter_body(self, node: cst.BaseSuite) -> None:
        loop = self._bodies.pop(id(node), None)
        if loop is not None:
            self._frames[-1].append(loop)

    def _leave_body(self, node: cst.BaseSuite) -> None:
        loops = self._frames[-1]
        if loops and loops[-1].body is node:
            loops.pop()

    # -- findings ---------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if id(node) not in self._elements and self._spawns(node):
            self._check_loop_spawn(node)
        qualname = self.context.qualname(node.func)
        if qualname in GATHER:
            for arg in node.args:
                if arg.star == "*" and self._check_all_at_once(node, arg.value):
                    break  # one finding per call
        elif qualname in ALL_AT_ONCE and node.args and not node.args[0].keyword:
            self._check_all_at_once(node, node.args[0].value)

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._check_comprehension(node, node.elt)

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._check_comprehension(node, node.elt)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._check_comprehension(node, node.elt)

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._check_comprehension(node, node.value)

    def _check_loop_spawn(self, call: cst.Call) -> None:
        unbounded = [loop for loop in self._frames[-1] if self._unbounded_loop(loop)]
        if not unbounded or self._bounded_spawn(call) or self._paced(unbounded[-1]):
            return
        self.report(
            call,
            what=f"`{callee_spelling(self.context, call.func)}(...)` starts a task for every "
            f"item of `{self._spelling(unbounded[0].iter)}`",
        )

    def _check_comprehension(self, node: _Comprehension, element: cst.BaseExpression) -> None:
        if not (isinstance(element, cst.Call) and self._spawns(element)):
            return
        self._elements.add(id(element))
        iterable = self._unbounded_iterable(node)
        if iterable is not None and not self._bounded_spawn(element, in_loop=False):
            self.report(
                element,
                what=f"`{callee_spelling(self.context, element.func)}(...)` starts a task "
                f"for every item of `{self._spelling(iterable)}`",
            )

    def _check_all_at_once(self, call: cst.Call, awaitables: cst.BaseExpression) -> bool:
        """``gather(*(f(x) for x in xs))``, ``gather(*map(f, xs))``, ``wait([...])``;
        True when reported."""
        work: cst.BaseExpression | None = None
        iterable: cst.BaseExpression | None = None
        if isinstance(awaitables, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            element = awaitables.elt
            if isinstance(element, cst.Call) and not self._spawns(element):
                work, iterable = element, self._unbounded_iterable(awaitables)
        elif (
            isinstance(awaitables, cst.Call)
            and len(awaitables.args) == 2
            and self.context.qualname(awaitables.func) == "builtins.map"
        ):
            function, items = (arg.value for arg in awaitables.args)
            if self._unbounded_input(items):
                work, iterable = function, items
        if work is None or iterable is None or self._limited(work) or self._existing(work):
            return False
        self.report(
            call,
            what=f"`{callee_spelling(self.context, call.func)}(...)` runs an awaitable for "
            f"every item of `{self._spelling(iterable)}`",
        )
        return True

    def _spelling(self, iterable: cst.BaseExpression) -> str:
        """The iterable as written, on one line, its start kept when long."""
        text = " ".join(self.context.code(iterable).split())
        return text if len(text) <= _MAX_SPELLING else text[: _MAX_SPELLING - 1] + "…"

    # -- what spawns, what bounds -----------------------------------------------------------

    def _spawns(self, call: cst.Call) -> bool:
        if spawns_task(self.context, call):
            return True
        func = call.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in GROUP_SPAWN_METHODS
            and self._evidence.infer(func.value, self.context.scope)
            in TASK_GROUP_TYPES.self_returning_cms
        )

    def _bounded_spawn(self, call: cst.Call, in_loop: bool = True) -> bool:
        """The spawned work limits itself or only waits on something that exists already
        (``shard.close()``), or the spawn sits in an ``async with`` (a semaphore taken
        around it) inside the loop."""
        work = call.args[0].value if call.args else None
        if work is not None and (self._limited(work) or self._existing(work)):
            return True
        takes_function = isinstance(call.func, cst.Attribute) and call.func.attr.value in (
            FUNCTION_SPAWN_METHODS
        )
        if work is not None and not takes_function and not isinstance(work, cst.Call):
            return True  # a coroutine made elsewhere: this loop does not decide how many
        loops = self._frames[-1]
        if not loops or not in_loop:
            return False
        innermost = loops[-1]
        inside = False
        for block in self.context.blocks:
            if block.node is innermost:
                inside = True
            elif inside and block.kind is BlockKind.ASYNC_WITH:
                return True
        return False

    def _limited(self, work: cst.BaseExpression) -> bool:
        """`work` (``f(x)`` or ``f``) runs a function of this module that takes a
        semaphore-like object (``async with <name>`` or ``await <name>.acquire()``)."""
        target = work.func if isinstance(work, cst.Call) else work
        for function in self._local_functions(target):
            if any(_acquires(node) for node in _own_statements(function.body)):
                return True
        return False

    def _existing(self, work: cst.BaseExpression) -> bool:
        """Work on objects that exist already, which a fan-out does not multiply: closing
        or waiting for each (``conn.close()``, ``worker.wait()``, a function of this
        module that only awaits such calls or existing tasks), or wrapping a future."""
        if _existing(self.context, work):
            return True
        if not isinstance(work, cst.Call):
            return False
        for function in self._local_functions(work.func):
            awaited = [
                node.expression
                for statement in _own_statements(function.body)
                for node in _own_nodes(statement)
                if isinstance(node, cst.Await)
            ]
            if awaited and all(
                not isinstance(value, cst.Call) or _existing(self.context, value)
                for value in awaited
            ):
                return True
        return False

    def _local_functions(self, target: cst.BaseExpression) -> Iterator[cst.FunctionDef]:
        if isinstance(target, cst.Name):
            bindings = self.context.scope.lookup(target.value)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            owner = self.context.resolver.class_of_self(target.value.value, self.context.scope)
            bindings = None if owner is None else owner.bindings.get(target.attr.value)
        else:
            return
        for binding in bindings or ():
            if binding.kind is BindingKind.DEF and isinstance(binding.node, cst.FunctionDef):
                yield binding.node

    def _paced(self, loop: cst.For) -> bool:
        """The loop body drains or paces the tasks it starts (``gather``, ``wait``,
        ``sleep``), or takes a token first (``limiter.acquire...()``, directly or in a
        function of this module)."""
        for statement in _own_statements(loop.body):
            for node in _own_nodes(statement):
                if isinstance(node, cst.Call) and (
                    self.context.qualname(node.func) in PACING
                    or _is_acquire(node)
                    or self._limited(node)
                ):
                    return True
        return False

    def _unbounded_loop(self, loop: cst.For) -> bool:
        if loop.asynchronous is not None:
            return True  # a stream: as many items as the other side sends
        return self._unbounded_input(loop.iter)

    def _unbounded_input(self, iterable: cst.BaseExpression) -> bool:
        scope = self.context.scope
        return not bounded_iterable(self.context, iterable, scope) and from_input(
            self.context, iterable, scope
        )

    def _unbounded_iterable(self, node: _Comprehension) -> cst.BaseExpression | None:
        """The first iterable of unknown size among a comprehension's ``for`` clauses; an
        items-of-a-batch loop (``for x in chunk`` where an enclosing loop yields ``chunk``)
        counts as bounded."""
        for clause in _clauses(node):
            iterable = clause.iter
            if self._unbounded_input(iterable) and not self._batch(iterable):
                return iterable
        return None

    def _batch(self, expr: cst.BaseExpression) -> bool:
        if not isinstance(expr, cst.Name):
            return False
        bindings = self.context.scope.lookup(expr.value)
        return bool(bindings) and all(isinstance(b.node, cst.For) for b in bindings or ())


def bounded_iterable(
    context: Context, expr: cst.BaseExpression, scope: Scope, depth: int = 0
) -> bool:
    """An iterable whose size is known to be small or fixed: a literal, ``range(...)`` but
    ``range(len(...))``, a slice with an upper bound, a comprehension over one of these,
    the results of ``await gather(a, b)``, a name bound to one of these, an enum class, and
    size-preserving wrappers (``enumerate``, ``sorted``, ``zip``, ``.items()``)."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
        return not any(isinstance(e, cst.StarredElement) for e in expr.elements)
    if isinstance(expr, cst.Dict):
        return not any(isinstance(e, cst.StarredDictElement) for e in expr.elements)
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        return True
    if isinstance(expr, cst.Subscript):
        return any(isinstance(e.slice, cst.Slice) and e.slice.upper is not None for e in expr.slice)
    if isinstance(expr, cst.Call):
        return _bounded_call(context, expr, scope, depth)
    if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
        return all(
            bounded_iterable(context, clause.iter, scope, depth + 1) for clause in _clauses(expr)
        )
    if isinstance(expr, cst.Await) and isinstance(expr.expression, cst.Call):
        gather = expr.expression  # a list with one result per argument
        return context.resolver.qualname(gather.func, scope) in GATHER and all(
            not arg.star or bounded_iterable(context, arg.value, scope, depth + 1)
            for arg in gather.args
        )
    if isinstance(expr, cst.Name):
        bindings = scope.lookup(expr.value)
        return bool(bindings) and all(
            binding.kind is BindingKind.CLASS
            or (
                binding.kind is BindingKind.ASSIGN
                and binding.value is not None
                and bounded_iterable(context, binding.value, binding.scope, depth + 1)
            )
            for binding in bindings or ()
        )
    return False


def from_input(context: Context, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> bool:
    """Data that comes from outside the object: a parameter (but ``self``/``cls``), an
    awaited result, an ``async for`` item, or something computed from one of these.
    Attributes of ``self``, globals and literals are the program's own state: its
    registries of handlers, services or widgets are sized by the code, not by load."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(expr, cst.Await):
        return True
    if isinstance(expr, cst.Name):
        bindings = scope.lookup(expr.value) or ()
        return any(_bound_from_input(context, binding, depth) for binding in bindings)
    if isinstance(expr, (cst.Attribute, cst.Subscript)):
        return from_input(context, expr.value, scope, depth + 1)
    if isinstance(expr, cst.Call):
        parts = [arg.value for arg in expr.args]
        if isinstance(expr.func, cst.Attribute):
            parts.append(expr.func.value)
    elif isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
        parts = [clause.iter for clause in _clauses(expr)]
    elif isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
        parts = [e.value for e in expr.elements if isinstance(e, cst.StarredElement)]
    elif isinstance(expr, (cst.BinaryOperation, cst.BooleanOperation)):
        parts = [expr.left, expr.right]
    elif isinstance(expr, cst.IfExp):
        parts = [expr.body, expr.orelse]
    else:
        return False
    return any(from_input(context, part, scope, depth + 1) for part in parts)


def _bound_from_input(context: Context, binding: Binding, depth: int) -> bool:
    if binding.kind is BindingKind.PARAM:
        receiver = context.resolver.class_of_self(binding.name, binding.scope)
        return receiver is None
    node = binding.node
    if binding.kind is BindingKind.ASSIGN and binding.value is not None:
        return from_input(context, binding.value, binding.scope, depth + 1)
    if isinstance(node, cst.Assign):  # unpacked: `rows, total = await fetch()`
        return from_input(context, node.value, binding.scope, depth + 1)
    if isinstance(node, cst.For):
        return node.asynchronous is not None or from_input(
            context, node.iter, binding.scope, depth + 1
        )
    if isinstance(node, cst.CompFor):
        return from_input(context, node.iter, binding.scope, depth + 1)
    return False


def _bounded_call(context: Context, call: cst.Call, scope: Scope, depth: int) -> bool:
    qualname = context.resolver.qualname(call.func, scope)
    args = [arg.value for arg in call.args if not arg.keyword and not arg.star]
    if qualname == "builtins.range":
        # `range(n)` is a count; `range(0, n, k)` walks batches; `range(len(xs))` is xs.
        return len(args) == 3 or not any(_calls_len(context, a, scope) for a in args)
    if qualname in SIZE_PRESERVING:
        return bool(args) and bounded_iterable(context, args[0], scope, depth + 1)
    if qualname == "builtins.zip":
        return any(bounded_iterable(context, arg, scope, depth + 1) for arg in args)
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in _DICT_VIEWS and not args:
        return bounded_iterable(context, func.value, scope, depth + 1)
    return False


def _clauses(node: _Comprehension) -> Iterator[cst.CompFor]:
    clause: cst.CompFor | None = node.for_in
    while clause is not None:
        yield clause
        clause = clause.inner_for_in


def _calls_len(context: Context, expr: cst.BaseExpression, scope: Scope) -> bool:
    """``len(...)`` somewhere in `expr`: a range over the size of a collection."""
    return any(
        isinstance(node, cst.Call) and context.resolver.qualname(node.func, scope) == "builtins.len"
        for node in _own_nodes(expr)
    )


def _own_statements(body: cst.BaseSuite) -> Iterator[cst.BaseStatement]:
    """Every statement of a suite, through compound statements, not into nested scopes."""
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(node, cst.BaseStatement):
            yield node
        if not isinstance(node, cst.SimpleStatementLine):
            stack.extend(c for c in children(node) if isinstance(c, _STATEMENT_HOLDERS))


_STATEMENT_HOLDERS = (
    cst.BaseSuite,
    cst.BaseStatement,
    cst.Else,
    cst.Finally,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.MatchCase,
)


def _own_nodes(statement: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The nodes a statement evaluates itself: nested suites, functions and lambdas aside."""
    stack: list[cst.CSTNode] = [statement]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (cst.Lambda, cst.FunctionDef, cst.ClassDef, cst.BaseSuite)):
            stack.extend(children(node))


def _is_acquire(call: cst.Call) -> bool:
    """``x.acquire()``, ``acquire_nowait()``, anyio's ``acquire_on_behalf_of()``, ..."""
    return isinstance(call.func, cst.Attribute) and call.func.attr.value.startswith("acquire")


def _acquires(statement: cst.CSTNode) -> bool:
    """``async with <name or attribute>`` or a call to ``<x>.acquire...()``."""
    if (
        isinstance(statement, cst.With)
        and statement.asynchronous is not None
        and any(isinstance(item.item, (cst.Name, cst.Attribute)) for item in statement.items)
    ):
        return True
    return any(isinstance(node, cst.Call) and _is_acquire(node) for node in _own_nodes(statement))


def _existing(context: Context, work: cst.BaseExpression) -> bool:
    """``conn.close()``, ``worker.wait()``, ``asyncio.wrap_future(f)``: see
    :meth:`UnboundedFanOut._existing`."""
    if not isinstance(work, cst.Call):
        return False
    func = work.func
    if isinstance(func, cst.Attribute):
        name = func.attr.value.lstrip("_").removeprefix("async_")
        if name in EXISTING_WORK:
            return True
    if not work.args or work.args[0].keyword is not None:
        return False
    wrapped = work.args[0].value  # `create_eager_task(x.close())`, `shield(fut)`
    if isinstance(wrapped, cst.Call):
        return _existing(context, wrapped)
    return context.qualname(func) in WRAPPERS
