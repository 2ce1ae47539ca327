"""ASL407 unbounded-queue."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from asynclint import walk
from asynclint.context import Context
from asynclint.rule import Invalid, Rule, Valid
from asynclint.rules.unawaited_coroutine import callee_spelling
from asynclint.rules.unbounded_fan_out import bounded_iterable, from_input
from asynclint.scope import Binding, BindingKind, Scope, ScopeKind

QUEUE_CLASSES = frozenset(
    f"asyncio.{module}{name}"
    for module in ("", "queues.")
    for name in ("Queue", "LifoQueue", "PriorityQueue")
)
PUT_METHODS = frozenset(["put", "put_nowait"])
GET_METHODS = frozenset(["get", "get_nowait"])


@dataclass(frozen=True)
class _Holder:
    """Where the new queue is kept: ``self.<name>`` or a plain name (local or global)."""

    name: str
    on_self: bool


@dataclass(frozen=True)
class _Producer:
    function: str
    put: cst.Call


class _Puts(cst.CSTVisitor):
    """Finds ``<queue>.put(...)``/``put_nowait(...)`` run in a producing loop of the
    function that makes the call (a loop around a nested ``def`` does not count), putting
    something else than ``None`` (a stop signal per worker is not production)."""

    def __init__(self, context: Context, queue: str, receiver: str | None, scope: Scope) -> None:
        super().__init__()
        self.context = context
        self.queue = queue
        self.receiver = receiver
        """``self`` when the queue is ``self.<queue>``, else None (a plain name)."""
        self.scopes = [scope]
        """The scope the walked code runs in, rebuilt for each function entered."""
        self.frames: list[tuple[str, int]] = []
        """Per function entered: its name and how many producing loops hold the node."""
        self.producing: dict[int, bool] = {}
        self.found: _Producer | None = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        # `on_leave` runs even when this returns False: keep the frames balanced.
        if isinstance(node, (cst.FunctionDef, cst.Lambda)):
            name = node.name.value if isinstance(node, cst.FunctionDef) else "<lambda>"
            self.frames.append((name, 0))
            kind = ScopeKind.FUNCTION if isinstance(node, cst.FunctionDef) else ScopeKind.LAMBDA
            self.scopes.append(Scope.build(kind, node, self.scopes[-1]))
        elif isinstance(node, (cst.For, cst.While)) and self.frames and self._producing(node):
            name, depth = self.frames[-1]
            self.frames[-1] = (name, depth + 1)
        elif (
            isinstance(node, cst.Call)
            and self.frames
            and self.frames[-1][1]
            and self._on_queue(node, PUT_METHODS)
            and not (node.args and _is_none(node.args[0].value))
        ):
            self.found = _Producer(".".join(name for name, _ in self.frames), node)
        return self.found is None

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, (cst.FunctionDef, cst.Lambda)):
            self.frames.pop()
            self.scopes.pop()
        elif (
            isinstance(original_node, (cst.For, cst.While))
            and self.frames
            and self._producing(original_node)
        ):
            name, depth = self.frames[-1]
            self.frames[-1] = (name, depth - 1)

    def _producing(self, loop: cst.For | cst.While) -> bool:
        """A ``while`` loop, a stream, or a ``for`` over input of unknown size (not over
        the program's own state: re-queueing a batch taken from the queue adds nothing),
        that does not also take from the queue (a consumer putting back, or a ping)."""
        key = id(loop)
        if key not in self.producing:
            self.producing[key] = self._unbounded(loop) and not any(
                isinstance(node, cst.Call) and self._on_queue(node, GET_METHODS)
                for node in _nodes(loop)
            )
        return self.producing[key]

    def _unbounded(self, loop: cst.For | cst.While) -> bool:
        if isinstance(loop, cst.While) or loop.asynchronous is not None:
            return True
        scope = self.scopes[-1]
        return not bounded_iterable(self.context, loop.iter, scope) and from_input(
            self.context, loop.iter, scope
        )

    def _on_queue(self, call: cst.Call, methods: frozenset[str]) -> bool:
        """``<queue>.<method>(...)`` with one of `methods`."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in methods):
            return False
        target = func.value
        if self.receiver is None:
            return isinstance(target, cst.Name) and target.value == self.queue
        return (
            isinstance(target, cst.Attribute)
            and target.attr.value == self.queue
            and isinstance(target.value, cst.Name)
            and target.value.value == self.receiver
        )


class UnboundedQueue(Rule):
    """
    ## What it does
    Flags an unbounded `asyncio.Queue()` that a loop feeds. Unbounded means created
    without a `maxsize` (or with `maxsize=0` or less), in `LifoQueue()` and
    `PriorityQueue()` too; fed means a `put(...)`/`put_nowait(...)` on that queue inside a `while` loop, an `async for` loop, or a `for` loop over input of
    unknown size (a parameter, an awaited result, or something computed from one), in the
    same class (for a `self.<queue>` attribute), in the same function (for a local,
    closures included), in the same module (for a global), or in a function of the module
    the queue is passed to (`asyncio.create_task(produce(queue))`).

    It stays silent with a positive `maxsize` (or one computed at runtime), when no
    producing loop is visible (a queue fed from a protocol callback), for loops over a
    collection of known size or over the program's own state (re-queueing a batch just
    taken from the queue adds nothing), for a loop that also takes from the queue (a
    consumer putting an item back or queueing a keep-alive), and for `put(None)`: one stop
    signal per worker is not a producer.

    This rule is opt-in: an unbounded queue is fine when the producer is known to be
    slower than its consumers.

    ## Why is this bad?
    An unbounded queue never makes `put` wait, so the producer never slows down: when
    consumers fall behind (a slow database, a stalled client), items pile up in memory
    until the process runs out of it. A bounded queue turns that into backpressure: the
    producer's `await queue.put(...)` waits for room.

    ## Example
    ```python
    async def pump(reader, handle):
        queue = asyncio.Queue()
        asyncio.create_task(consume(queue, handle))
        async for line in reader:
            await queue.put(line)
    ```

    ## Use instead
    ```python
    async def pump(reader, handle):
        queue = asyncio.Queue(maxsize=100)
        asyncio.create_task(consume(queue, handle))
        async for line in reader:
            await queue.put(line)
    ```

    ## Fix safety
    There is no automatic fix: the right size depends on the workload, and `put_nowait`
    raises `QueueFull` on a bounded queue, so producers may need to change too.

    ## Options
    None.
    """

    code = "ASL407"
    name = "unbounded-queue"
    message = "`{queue}` is unbounded (no positive `maxsize`) and {fed}: memory grows without bound when consumers fall behind; pass a `maxsize`"
    default_enabled = False

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from asyncio import PriorityQueue, Queue

            class Reader:
                def __init__(self):
                    self._lines = asyncio.Queue()  # error: ASL407@23
                    self._events: Queue[str] = Queue(0)  # error: ASL407@36
                    self._jobs = aio.LifoQueue(maxsize=0)  # error: ASL407@22

                async def read(self, stream):
                    async for line in stream:
                        await self._lines.put(line)

                def on_events(self, events):
                    for event in events:
                        self._events.put_nowait(event)

                async def poll(self, source):
                    while True:
                        job = await source.next()
                        if job:
                            self._jobs.put_nowait(job)

            async def pump(reader):
                queue = PriorityQueue(-1)  # error: ASL407@13

                async def produce():
                    while line := await reader.readline():
                        queue.put_nowait((1, line))

                await produce()
            """
        ),
        Invalid(
            """
            import asyncio

            RESULTS = asyncio.Queue()  # error: ASL407@11

            async def collect(items):
                for item in items:
                    await RESULTS.put(item)

            async def produce(out: asyncio.Queue, source):
                async for item in source:
                    await out.put(item)

            async def main(source):
                queue = asyncio.Queue()  # error: ASL407@13
                asyncio.create_task(produce(queue, source))
                await queue.get()
            """
        ),
        Invalid(
            """
            import asyncio.queues
            from asyncio import Queue as Q

            class Hub:
                _inbox: "asyncio.Queue[bytes]"

                def __init__(self) -> None:
                    self._inbox = asyncio.queues.Queue()  # error: ASL407@23
                    self._outbox: Q[bytes] = Q(maxsize=0)  # error: ASL407@34

                async def route(self, messages: dict[str, bytes]) -> None:
                    for key, message in messages.items():
                        self._inbox.put_nowait(message)
                        await self._outbox.put(message)
            """
        ),
        Valid(
            """
            import asyncio

            class Reader:
                def __init__(self, size):
                    self._bounded = asyncio.Queue(maxsize=100)
                    self._sized = asyncio.Queue(size)
                    self._callback_fed = asyncio.Queue()
                    self._stops = asyncio.Queue()
                    self._fixed = asyncio.Queue()
                    self._other = asyncio.Queue()
                    self._retry = asyncio.Queue()
                    self._pings = asyncio.Queue()

                async def read(self, stream, other):
                    async for line in stream:
                        await self._bounded.put(line)
                        self._sized.put_nowait(line)
                        other._other.put_nowait(line)

                async def stream(self, response):
                    while True:
                        try:
                            payload = await asyncio.wait_for(self._pings.get(), 10)
                        except TimeoutError:
                            await self._pings.put("ping")
                            continue
                        await response.write(payload)

                def requeue(self):
                    batch = []
                    while not self._retry.empty():
                        batch.append(self._retry.get_nowait())
                    for item in batch:
                        self._retry.put_nowait(item)

                def data_received(self, data):
                    self._callback_fed.put_nowait(data)

                async def stop(self, workers):
                    for _ in workers:
                        await self._stops.put(None)
                    for code in (1, 2, 3):
                        self._fixed.put_nowait(code)
                    for n in range(4):
                        self._fixed.put_nowait(n)

                def later(self, items):
                    for item in items:
                        def callback():
                            self._callback_fed.put_nowait(item)

            async def main(items, make_queue):
                queue = asyncio.Queue()
                await queue.put(1)
                other = make_queue()
                for item in items:
                    other.put_nowait(item)
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.qualname(node.func) not in QUEUE_CLASSES or not _unbounded(node):
            return
        holder = self._holder(node)
        if holder is None:
            return
        producer = self._producer(holder)
        if producer is not None:
            put = callee_spelling(self.context, producer.put.func)
            self.report(
                node,
                queue=callee_spelling(self.context, node),
                fed=f"is fed by a loop in `{producer.function}` (`{put}(...)`)",
            )

    def _holder(self, call: cst.Call) -> _Holder | None:
        """The name the queue is assigned to, in the statement that creates it."""
        statement = self.context.statement
        if statement is None or len(statement.body) != 1:
            return None
        small = statement.body[0]
        if isinstance(small, cst.Assign) and small.value is call and len(small.targets) == 1:
            target = small.targets[0].target
        elif isinstance(small, cst.AnnAssign) and small.value is call:
            target = small.target
        else:
            return None
        if isinstance(target, cst.Name):
            return _Holder(target.value, on_self=False)
        function = self.context.function
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and function is not None
            and function.class_node is not None
            and self.context.resolver.class_of_self(target.value.value, self.context.scope)
        ):
            return _Holder(target.attr.value, on_self=True)
        return None

    def _producer(self, holder: _Holder) -> _Producer | None:
        function = self.context.function
        if holder.on_self:
            assert function is not None and function.class_node is not None
            cls = function.class_node
            class_scope = function.scope.parent
            assert class_scope is not None
            for method in _methods(cls):
                receiver = _first_param(method)
                found = self._find(method, holder.name, receiver, class_scope)
                if found is not None:
                    return _Producer(f"{cls.name.value}.{found.function}", found.put)
            return None
        if self.context.is_local(holder.name):
            assert function is not None and function.scope.parent is not None
            root: cst.CSTNode = function.node
            scope = function.scope.parent
        elif function is None and self.context.scope is self.context.scope.module:
            root = self.context.module
            scope = self.context.scope
        else:
            return None
        return self._find(root, holder.name, None, scope) or self._passed_on(root, holder.name)

    def _find(
        self, root: cst.CSTNode, queue: str, receiver: str | None, scope: Scope
    ) -> _Producer | None:
        """The first producer loop in `root`, whose code runs in `scope`."""
        finder = _Puts(self.context, queue, receiver, scope)
        if isinstance(root, cst.Module):
            for statement in root.body:
                walk.visit(statement, finder)
        else:
            walk.visit(root, finder)
        return finder.found

    def _passed_on(self, root: cst.CSTNode, queue: str) -> _Producer | None:
        """A function of this module the queue is passed to, whose parameter is fed in a
        loop (``asyncio.create_task(produce(queue))``)."""
        for call in _nodes(root):
            if not isinstance(call, cst.Call):
                continue
            for position, arg in enumerate(call.args):
                if not (isinstance(arg.value, cst.Name) and arg.value.value == queue):
                    continue
                callee = self._local_def(call.func)
                if callee is None:
                    continue
                param = _parameter(callee.node, position, arg)
                found = (
                    None if param is None else self._find(callee.node, param, None, callee.scope)
                )
                if found is not None:
                    return found
        return None

    def _local_def(self, func: cst.BaseExpression) -> Binding | None:
        """The binding of a function of this module that `func` names."""
        if not isinstance(func, cst.Name):
            return None
        bindings = self.context.scope.lookup(func.value)
        if not bindings or len(bindings) != 1 or bindings[0].kind is not BindingKind.DEF:
            return None
        return bindings[0] if isinstance(bindings[0].node, cst.FunctionDef) else None


def _unbounded(call: cst.Call) -> bool:
    """No ``maxsize``, or a literal one that is not positive (``0``, ``-1``)."""
    size = next(
        (arg.value for arg in call.args if arg.keyword is None or arg.keyword.value == "maxsize"),
        None,
    )
    if size is None:
        return not any(arg.star for arg in call.args)
    negative = isinstance(size, cst.UnaryOperation) and isinstance(size.operator, cst.Minus)
    number = size.expression if negative and isinstance(size, cst.UnaryOperation) else size
    if not isinstance(number, cst.Integer):
        return False
    return negative or int(number.evaluated_value) == 0


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _methods(cls: cst.ClassDef) -> Iterator[cst.FunctionDef]:
    if isinstance(cls.body, cst.IndentedBlock):
        for statement in cls.body.body:
            if isinstance(statement, cst.FunctionDef):
                yield statement


def _first_param(function: cst.FunctionDef) -> str | None:
    params = [*function.params.posonly_params, *function.params.params]
    return params[0].name.value if params else None


def _parameter(function: cst.CSTNode, position: int, arg: cst.Arg) -> str | None:
    assert isinstance(function, cst.FunctionDef)
    if arg.keyword is not None:
        return arg.keyword.value
    params = [*function.params.posonly_params, *function.params.params]
    return params[position].name.value if position < len(params) and not arg.star else None


def _nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(walk.children(node))
