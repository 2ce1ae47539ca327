"""ASL206 cancel-not-awaited."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import libcst as cst

from asynclint.context import Context
from asynclint.knowledge.cancellation import (
    ALL_TASKS,
    COPYING_BUILTINS,
    NEUTRAL_BUILTINS,
    NON_WAITING_METHODS,
    TASK_RESULT_METHODS,
    WAIT,
    WAITERS,
)
from asynclint.rule import Invalid, Report, Rule, Valid
from asynclint.scope import BindingKind, dotted_name, walk_small
from asynclint.spawners import spawns_task
from asynclint.walk import children

_MAX_DEPTH = 4


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


class StoredValues:
    """What a variable or a ``self`` attribute holds, read from its assignments.

    Shared by ASL203 and ASL206, which both ask "is this a task?" about a name.
    """

    def __init__(self, context: Context) -> None:
        self.context = context
        self._classes: dict[int, dict[str, list[cst.BaseExpression] | None]] = {}

    def of(self, expr: cst.BaseExpression) -> list[cst.BaseExpression] | None:
        """Every non-None value stored in `expr`: a variable's assignments in its scope, or
        the assignments to ``self.<attr>`` in every method of the class. None when some
        binding is not a plain assignment (a parameter, a loop target, unpacking)."""
        if isinstance(expr, cst.Name):
            bindings = self.context.scope.lookup(expr.value)
            if not bindings:
                return None
            values = []
            for binding in bindings:
                if binding.kind is not BindingKind.ASSIGN or binding.value is None:
                    return None
                values.append(binding.value)
            return [value for value in values if not _is_none(value)]
        function = self.context.function
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and function is not None
            and function.class_node is not None
            and expr.value.value == _receiver(function.node)
        ):
            return self._attributes(function.class_node).get(expr.attr.value)
        return None

    def _attributes(self, node: cst.ClassDef) -> dict[str, list[cst.BaseExpression] | None]:
        """``self.<attr>`` -> the non-None values the methods assign it; None when one of
        the assignments is not plain (augmented, unpacked)."""
        cached = self._classes.get(id(node))
        if cached is not None:
            return cached
        found: dict[str, list[cst.BaseExpression] | None] = {}
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        for method in body:
            if not isinstance(method, cst.FunctionDef):
                continue
            receiver = _receiver(method)
            for small in walk_small(method.body):
                for target, value in _assignments(small):
                    if (
                        isinstance(target, cst.Attribute)
                        and isinstance(target.value, cst.Name)
                        and target.value.value == receiver
                    ):
                        _store(found, target.attr.value, value)
        self._classes[id(node)] = found
        return found


def _store(
    found: dict[str, list[cst.BaseExpression] | None], attr: str, value: cst.BaseExpression | None
) -> None:
    values = found.setdefault(attr, [])
    if values is None or value is None:
        found[attr] = None
    elif not _is_none(value):
        values.append(value)


def _receiver(node: cst.FunctionDef | cst.Lambda) -> str | None:
    positional = [*node.params.posonly_params, *node.params.params]
    return positional[0].name.value if positional else None


def _assignments(
    small: cst.BaseSmallStatement,
) -> list[tuple[cst.BaseExpression, cst.BaseExpression | None]]:
    """(target, value) pairs; the value is None when it is not the target's own value."""
    if isinstance(small, cst.Assign):
        pairs: list[tuple[cst.BaseExpression, cst.BaseExpression | None]] = []
        for target in small.targets:
            if isinstance(target.target, (cst.Tuple, cst.List)):
                pairs.extend((element.value, None) for element in target.target.elements)
            else:
                pairs.append((target.target, small.value))
        return pairs
    if isinstance(small, cst.AnnAssign) and small.value is not None:
        return [(small.target, small.value)]
    if isinstance(small, cst.AugAssign):
        return [(small.target, None)]
    return []


_Ancestors = tuple[cst.CSTNode, ...]
_ADDERS = frozenset(["add", "append"])


def _walk(
    node: cst.CSTNode, ancestors: _Ancestors = ()
) -> Iterator[tuple[cst.CSTNode, _Ancestors]]:
    """Every node under `node` in source order, with its ancestors (outermost first)."""
    yield node, ancestors
    inner = (*ancestors, node)
    for child in children(node):
        yield from _walk(child, inner)


def _is_empty_container(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, (cst.List, cst.Set, cst.Dict)):
        return not expr.elements
    return (
        isinstance(expr, cst.Call)
        and not expr.args
        and isinstance(expr.func, cst.Name)
        and expr.func.value in ("set", "list")
    )


class _Waits:
    """Whether the code after a ``cancel()`` waits for the cancelled task(s).

    A mention of the task (or of a collection holding it) counts when it is awaited, passed
    to `gather`/`wait`/`wait_for` or handed to any other call, returned, stored elsewhere,
    or given a done callback. Waiting must come after the ``cancel()`` (or anywhere in a
    loop around it, or in a nested function); handing the task on counts anywhere.
    """

    def __init__(self, rule: CancelNotAwaited, spellings: frozenset[str]) -> None:
        self.rule = rule
        self.spellings = spellings

    def after(self, root: cst.CSTNode, cancel: cst.Call | None) -> bool:
        """True when `root` waits for or hands on the task (after `cancel` when given)."""
        later = cancel is None
        loops = {
            id(a)
            for node, ancestors in _walk(root)
            if node is cancel
            for a in ancestors
            if isinstance(a, (cst.For, cst.While))
        }
        for node, ancestors in _walk(root):
            if node is cancel:
                later = True
            elif isinstance(node, cst.BaseExpression) and dotted_name(node) in self.spellings:
                nested = any(isinstance(a, (cst.FunctionDef, cst.Lambda)) for a in ancestors[1:])
                around = any(id(a) in loops for a in ancestors)
                if self.handled(node, ancestors, later or nested or around, loops):
                    return True
        return False

    def handled(
        self, node: cst.BaseExpression, ancestors: _Ancestors, later: bool, loops: set[int]
    ) -> bool:
        child: cst.CSTNode = node
        for parent in reversed(ancestors):
            if isinstance(parent, cst.Attribute) and parent.value is child:
                return parent.attr.value in TASK_RESULT_METHODS
            if isinstance(parent, cst.Await):
                return later
            if isinstance(parent, cst.Call) and child is not parent.func:
                verdict = self.call(parent, later)
                if verdict is not None:
                    return verdict
            elif isinstance(parent, (cst.Return, cst.Yield)):
                return True
            elif isinstance(parent, (cst.Assign, cst.AnnAssign)):
                return child is parent.value and not self.assigns_related(parent)
            elif isinstance(parent, cst.For) and child is parent.iter:
                return later and id(parent) not in loops
            elif isinstance(
                parent, (cst.BaseCompoundStatement, cst.SimpleStatementLine, cst.Comparison)
            ):
                return False
            child = parent
        return False

    def call(self, call: cst.Call, later: bool) -> bool | None:
        """What an argument position says: waited, handed on, or look further out (None)."""
        qualname = self.rule.context.qualname(call.func)
        if qualname in WAITERS:
            return later
        if qualname in NEUTRAL_BUILTINS:
            return None
        func = call.func
        if isinstance(func, cst.Attribute):
            if func.attr.value in NON_WAITING_METHODS:
                return False
            if func.attr.value in _ADDERS and dotted_name(func.value) in self.spellings:
                return False
        return True

    def assigns_related(self, node: cst.Assign | cst.AnnAssign) -> bool:
        targets = (
            [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        )
        return any(dotted_name(target) in self.spellings for target in targets)


class CancelNotAwaited(Rule):
    """
    ## What it does
    Flags `task.cancel()` in an `async def` when the function never waits for the task
    afterwards: no `await task`, no `asyncio.gather(...)`, `asyncio.wait(...)` or
    `asyncio.wait_for(...)` with it, and it is not handed on (returned, stored, passed to
    another call, given a done callback). Cancelling every task of a collection in a loop
    (`for t in pending: t.cancel()`) is flagged the same way.

    Only receivers known to be tasks are considered: a local assigned from
    `asyncio.create_task`, `asyncio.ensure_future` of a coroutine or a loop's
    `create_task`, `self._task` when every method assigns it one of those, and
    collections of such tasks (a list, set or comprehension of them, one filled with
    `.add()`/`.append()` of them, `asyncio.all_tasks()`, or the `pending` set of
    `asyncio.wait` over them). `cancel()` on anything else (a future, a timer handle, a
    `TaskGroup` task, whose group waits for it) is never flagged, nor is a `cancel()` in a
    sync function or callback, where nothing can be awaited. For `self._task`, waiting
    for it in any other method of the class counts (`close()` cancels, `wait_closed()`
    awaits).

    ## Why is this bad?
    `cancel()` only *requests* cancellation: the task receives `CancelledError` at its
    next `await` and then runs its `except`/`finally` cleanup, which may itself await.
    Code that carries on right after `cancel()` races with that cleanup (a connection
    still closing, a file still being flushed, a lock not yet released), and if the task
    fails instead of stopping, its exception is never retrieved: asyncio only logs "Task
    exception was never retrieved" when the task is garbage-collected, if ever.

    ## Example
    ```python
    async def stop(self):
        self._reader.cancel()
        self._transport.close()
    ```

    ## Use instead
    Wait for the task to finish its cleanup before carrying on:
    ```python
    async def stop(self):
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        self._transport.close()
    ```

    ## Fix safety
    There is no automatic fix: waiting can take as long as the task's cleanup, and how to
    bound it (a timeout, `shield`) is a design decision.

    ## Options
    None.
    """

    code = "ASL206"
    name = "cancel-not-awaited"
    message = (
        "`{call}` without waiting for {what} afterwards; its cleanup races with the code "
        "that follows and its exception is lost"
    )
    fix_title = "Await the task after cancelling it (or gather it with `return_exceptions=True`)"
    async_only = True

    examples = (
        Invalid(
            """
            import asyncio
            from asyncio import create_task as spawn

            async def work(n=0): ...

            async def plain():
                task = asyncio.create_task(work())
                await asyncio.sleep(1)
                task.cancel()  # error: ASL206@5

            async def in_finally(conn):
                reader = spawn(work())
                try:
                    await conn.send(b"x")
                finally:
                    reader.cancel()  # error: ASL206@9

            async def in_handler(conn):
                loop = asyncio.get_running_loop()
                pinger = loop.create_task(work())
                try:
                    await conn.send(b"x")
                except OSError:
                    if not pinger.done():
                        pinger.cancel()  # error: ASL206@13
                    raise

            async def ensure():
                t = asyncio.ensure_future(work())
                t.cancel("shutting down")  # error: ASL206@5
                t = None
            """
        ),
        Invalid(
            """
            import asyncio
            import contextlib

            async def work(n=0): ...

            async def fan_out():
                tasks = [asyncio.create_task(work(n)) for n in range(3)]
                await asyncio.sleep(1)
                for t in tasks:
                    t.cancel()  # error: ASL206@9

            async def first_wins(lock):
                a = asyncio.create_task(work(1))
                b = asyncio.create_task(work(2))
                async with lock:
                    done, pending = await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()  # error: ASL206@9
                return done.pop().result()

            async def everything():
                for task in asyncio.all_tasks():
                    task.cancel()  # error: ASL206@9

            async def stacked():
                async with contextlib.AsyncExitStack() as stack:
                    task = asyncio.create_task(work())
                    stack.callback(print, "closing")
                    task.cancel()  # error: ASL206@9
            """
        ),
        Invalid(
            """
            import asyncio

            class Service:
                def __init__(self):
                    self._task = None
                    self._tasks = set()

                async def start(self):
                    self._task = asyncio.create_task(self._run())
                    self._tasks.add(asyncio.create_task(self._run()))
                    task = asyncio.create_task(self._run())
                    self._tasks.add(task)

                async def stop(self):
                    if self._task is not None:
                        self._task.cancel()  # error: ASL206@13
                        self._task = None
                    for task in list(self._tasks):
                        task.cancel()  # error: ASL206@13
                    self._tasks.clear()

                async def _run(self): ...
            """
        ),
        Invalid(
            """
            import asyncio

            async def work(): ...

            async def grouped(items):
                watchdog = asyncio.create_task(work())
                try:
                    async with asyncio.TaskGroup() as tg:
                        for item in items:
                            tg.create_task(item)
                except* OSError:
                    watchdog.cancel()  # error: ASL206@9
                    raise
            """,
            min_python=(3, 11),
        ),
        Valid(
            """
            import asyncio
            import contextlib

            async def work(n=0): ...

            async def awaited():
                task = asyncio.create_task(work())
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            async def gathered():
                task = asyncio.create_task(work())
                try:
                    await asyncio.sleep(1)
                finally:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)

            async def waited():
                tasks = [asyncio.create_task(work(n)) for n in range(3)]
                done, pending = await asyncio.wait(tasks, timeout=1)
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)

            async def all_of_them():
                tasks = {asyncio.create_task(work(n)) for n in range(3)}
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            async def in_a_loop(queue):
                while True:
                    task = asyncio.create_task(work())
                    await asyncio.wait_for(task, 1)
                    if queue.empty():
                        task.cancel()

            async def handed_on():
                task = asyncio.create_task(work())
                task.cancel()
                return task
            """
        ),
        Valid(
            """
            import asyncio
            import contextlib

            class Connection:
                def __init__(self):
                    self._reader = None

                async def open(self):
                    self._reader = asyncio.create_task(self._read())

                async def close(self):
                    if self._reader is not None:
                        self._reader.cancel()

                async def wait_closed(self):
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._reader

                async def _read(self): ...

            class Timer:
                async def start(self):
                    self._task = asyncio.create_task(self._tick())
                    self._task.add_done_callback(self._done)

                async def stop(self):
                    self._task.cancel()

                def _done(self, task): ...

                async def _tick(self): ...
            """
        ),
        Valid(
            """
            import asyncio
            import contextlib

            async def work(): ...

            async def not_tasks(task, loop):
                task.cancel()
                fut = loop.create_future()
                fut.cancel()
                handle = asyncio.get_running_loop().call_later(1, print)
                handle.cancel()
                wrapped = asyncio.ensure_future(fut)
                wrapped.cancel()

            async def sync_callbacks():
                task = asyncio.create_task(work())
                asyncio.get_running_loop().call_later(5, task.cancel)

                def on_timeout():
                    task.cancel()

                await task

            def sync_code():
                task = asyncio.ensure_future(work())
                task.cancel()

            async def stacked():
                async with contextlib.AsyncExitStack() as stack:
                    task = asyncio.create_task(work())
                    stack.push_async_callback(asyncio.wait_for, task, 1)
                    task.cancel()
            """
        ),
        Valid(
            """
            import asyncio

            async def work(): ...

            async def group():
                async with asyncio.TaskGroup() as tg:
                    task = tg.create_task(work())
                    task.cancel()

            async def star(lock):
                task = asyncio.create_task(work())
                try:
                    async with lock:
                        await asyncio.sleep(1)
                except* OSError:
                    task.cancel()
                    raise
                finally:
                    await asyncio.gather(task, return_exceptions=True)
            """,
            min_python=(3, 11),
        ),
    )

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        super().__init__(context, settings, reports)
        self._stored = StoredValues(context)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        function = self.context.function
        if not (
            self.context.in_async_def
            and function is not None
            and isinstance(func, cst.Attribute)
            and func.attr.value == "cancel"
        ):
            return
        receiver = func.value
        found = self._cancelled_tasks(receiver)
        if found is None:
            return
        spellings, collection = found
        waits = _Waits(self, spellings)
        if waits.after(function.node, node) or self._waited_by_other_methods(receiver, waits):
            return
        what = "the task" if collection is None else f"the tasks of `{collection}`"
        call = " ".join(self.context.code(node).split())
        self.report(node, call=call, what=what)

    def _waited_by_other_methods(self, receiver: cst.BaseExpression, waits: _Waits) -> bool:
        function = self.context.function
        assert function is not None
        if not isinstance(receiver, cst.Attribute) or function.class_node is None:
            return False
        body = function.class_node.body
        methods = body.body if isinstance(body, cst.IndentedBlock) else ()
        return any(
            waits.after(method, None)
            for method in methods
            if isinstance(method, cst.FunctionDef) and method is not function.node
        )

    def _cancelled_tasks(
        self, receiver: cst.BaseExpression
    ) -> tuple[frozenset[str], str | None] | None:
        """The spellings that name the cancelled task(s), and the collection they come from."""
        spelling = dotted_name(receiver)
        if spelling is None:
            return None
        if self._is_task(receiver):
            return frozenset([spelling]), None
        loop = self._loop_over(spelling)
        if loop is None:
            return None
        spellings = self._collection(loop.iter, 0)
        if spellings is None:
            return None
        return spellings | {spelling}, " ".join(self.context.code(loop.iter).split())

    def _loop_over(self, name: str) -> cst.For | None:
        for block in reversed(self.context.blocks):
            if isinstance(block.node, cst.For):
                target = block.node.target
                if isinstance(target, cst.Name) and target.value == name:
                    return block.node if self.context.is_local(name) else None
                return None
        return None

    def _is_task(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Name) and not self.context.is_local(expr.value):
            return False
        values = self._stored.of(expr)
        return bool(values) and all(self._spawns(value) for value in values or ())

    def _spawns(self, value: cst.BaseExpression) -> bool:
        return isinstance(value, cst.Call) and spawns_task(self.context, value)

    def _collection(self, expr: cst.BaseExpression, depth: int) -> frozenset[str] | None:
        """The spellings of a collection known to hold only tasks (itself and the task
        variables it was built from), or None when what it holds is unknown."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, cst.Call):
            qualname = self.context.qualname(expr.func)
            if qualname in ALL_TASKS:
                return frozenset()
            if qualname in COPYING_BUILTINS and len(expr.args) == 1:
                return self._collection(expr.args[0].value, depth + 1)
            return None
        if isinstance(expr, (cst.List, cst.Set, cst.Tuple)):
            return self._display(expr, depth)
        if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            return frozenset() if self._spawns(expr.elt) else None
        spelling = dotted_name(expr)
        if spelling is None:
            return None
        origins = self._wait_origins(expr)
        if origins is None:
            values = self._stored.of(expr)
            if not values or (isinstance(expr, cst.Name) and not self.context.is_local(spelling)):
                return None
            origins = [value for value in values if not _is_empty_container(value)]
            if len(origins) < len(values) and not self._filled_with_tasks(spelling):
                return None
        found = frozenset([spelling])
        for origin in origins:
            inner = self._collection(origin, depth + 1)
            if inner is None:
                return None
            found |= inner
        return found

    def _display(self, expr: cst.List | cst.Set | cst.Tuple, depth: int) -> frozenset[str] | None:
        found: set[str] = set()
        for element in expr.elements:
            value = element.value
            if isinstance(element, cst.StarredElement):
                inner = self._collection(value, depth + 1)
                if inner is None:
                    return None
                found |= inner
            elif self._is_task(value):
                found.add(dotted_name(value) or "")
            elif not self._spawns(value):
                return None
        return frozenset(found) if expr.elements else None

    def _wait_origins(self, expr: cst.BaseExpression) -> list[cst.BaseExpression] | None:
        """For `pending` of ``done, pending = await asyncio.wait(tasks)``: `tasks`."""
        if not isinstance(expr, cst.Name):
            return None
        origins = []
        for binding in self.context.scope.lookup(expr.value) or ():
            node = binding.node
            value = node.value if isinstance(node, cst.Assign) else None
            call = value.expression if isinstance(value, cst.Await) else None
            if not (
                isinstance(call, cst.Call)
                and call.args
                and self.context.qualname(call.func) in WAIT
            ):
                return None
            origins.append(call.args[0].value)
        return origins or None

    def _filled_with_tasks(self, spelling: str) -> bool:
        """Every ``<spelling>.add(x)``/``.append(x)`` in the function (for a ``self``
        attribute: in the class) adds a new task or a local holding one."""
        function = self.context.function
        assert function is not None
        owner = function.class_node if "." in spelling else None
        roots = (owner or function.node,)
        added = 0
        for root in roots:
            for node, ancestors in _walk(root):
                if not (
                    isinstance(node, cst.Call)
                    and isinstance(node.func, cst.Attribute)
                    and node.func.attr.value in _ADDERS
                    and dotted_name(node.func.value) == spelling
                    and len(node.args) == 1
                ):
                    continue
                if not self._adds_task(node.args[0].value, ancestors):
                    return False
                added += 1
        return added > 0

    def _adds_task(self, value: cst.BaseExpression, ancestors: _Ancestors) -> bool:
        if self._spawns(value):
            return True
        if not isinstance(value, cst.Name):
            return False
        function = next((a for a in reversed(ancestors) if isinstance(a, cst.FunctionDef)), None)
        if function is None:
            return False
        assigned = [
            small.value
            for small in walk_small(function.body)
            if isinstance(small, cst.Assign)
            and any(_is_name(t.target, value.value) for t in small.targets)
        ]
        return bool(assigned) and all(self._spawns(v) for v in assigned)


def _is_name(expr: cst.BaseExpression, name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name
