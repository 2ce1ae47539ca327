"""ASL201 release-not-in-finally."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from asynclint.context import Context
from asynclint.diagnostic import Applicability
from asynclint.knowledge.cancellation import (
    CANCELLED_CLASS_GETTERS,
    CANCELLED_ERROR,
    SUPPRESS,
    TIMEOUTS,
)
from asynclint.knowledge.resources import (
    ACQUIRE,
    ACQUIRE_WRAPPERS,
    RELEASE,
    Enter,
)
from asynclint.rule import Autofix, Invalid, Replace, Report, Rule, Valid
from asynclint.rules.async_resource_not_closed import (
    Creation,
    Flow,
    Resources,
    Role,
    Subject,
    Unit,
    Use,
    Uses,
    Verdict,
    creations,
    expects_exception,
    headers,
    is_simple,
    nodes,
    search,
    smalls,
    spelling,
    subject_of,
    suspensions,
    targets,
    touches,
)
from asynclint.scope import dotted_name
from asynclint.walk import children


class Kind(enum.Enum):
    """What can leave a statement early."""

    CANCEL = "cancellation"
    ERROR = "exception"
    RAISE = "raise"


_AWAIT_KINDS = frozenset([Kind.CANCEL, Kind.ERROR])


@dataclass(frozen=True)
class Pair:
    """An acquire (or a creation) and what undoes it."""

    call: cst.Call
    """What is reported: the ``acquire()`` call or the resource's constructor call."""
    unit: Unit
    index: int
    """The small statement of `unit` that acquires."""
    subject: Subject
    left: str
    """What the subject stays when the release is skipped."""
    lock: bool
    """An asyncio or anyio lock (rather than a resource)."""
    item: cst.BaseExpression | None
    """The ``async with`` item that replaces the pair; None when there is none."""
    target: str | None = None
    """The ``as`` name of that item."""


@dataclass
class _Risk:
    node: cst.CSTNode
    unit: Unit
    kinds: frozenset[Kind]
    then: list[Unit] = field(default_factory=list)
    """Where the path goes on when the risk does not happen."""
    confirmed: bool = False
    """A release follows on some path."""


@dataclass
class _Walk:
    """The statements run while the subject is held, up to the releases."""

    risks: list[_Risk] = field(default_factory=list)
    edges: dict[int, list[Unit]] = field(default_factory=dict)
    releasing: list[Unit] = field(default_factory=list)

    def reaching(self) -> set[int]:
        """Ids of the units from which a release is reachable."""
        back: dict[int, list[int]] = {}
        for source, successors in self.edges.items():
            for successor in successors:
                back.setdefault(id(successor), []).append(source)
        found = {id(unit) for unit in self.releasing}
        work = list(found)
        while work:
            for source in back.get(work.pop(), []):
                if source not in found:
                    found.add(source)
                    work.append(source)
        return found


def _indentation(module: cst.Module, target: cst.IndentedBlock) -> str | None:
    """The absolute indentation of the statements of `target`."""
    stack: list[tuple[cst.CSTNode, str]] = [(module, "")]
    while stack:
        node, indent = stack.pop()
        for child in children(node):
            if isinstance(child, cst.BaseExpression):
                continue
            inner = indent
            if isinstance(child, cst.IndentedBlock):
                inner += module.default_indent if child.indent is None else child.indent
                if child is target:
                    return inner
            stack.append((child, inner))
    return None


def _without_tail(node: cst.BaseStatement) -> cst.BaseStatement:
    """`node` without what follows its last token (trailing comment, block footers),
    which an edit ending at that token leaves in place."""
    if isinstance(node, cst.SimpleStatementLine):
        return node.with_changes(trailing_whitespace=cst.TrailingWhitespace())
    if isinstance(node, cst.If) and isinstance(node.orelse, cst.If):
        return node.with_changes(orelse=_without_tail(node.orelse))
    if isinstance(node, (cst.If, cst.For, cst.While)) and node.orelse is not None:
        else_ = node.orelse
        return node.with_changes(orelse=else_.with_changes(body=_suite_without_tail(else_.body)))
    if isinstance(node, (cst.Try, cst.TryStar)):
        last = node.finalbody or node.orelse
        if last is not None:
            key = "finalbody" if node.finalbody is not None else "orelse"
            return node.with_changes(
                **{key: last.with_changes(body=_suite_without_tail(last.body))}
            )
        handler = node.handlers[-1]
        handlers = [
            *node.handlers[:-1],
            handler.with_changes(body=_suite_without_tail(handler.body)),
        ]
        return node.with_changes(handlers=handlers)
    if isinstance(node, cst.Match):
        case = node.cases[-1]
        cases = [*node.cases[:-1], case.with_changes(body=_suite_without_tail(case.body))]
        return node.with_changes(cases=cases)
    assert isinstance(node, (cst.If, cst.For, cst.While, cst.With, cst.FunctionDef, cst.ClassDef))
    return node.with_changes(body=_suite_without_tail(node.body))


def _suite_without_tail(suite: cst.BaseSuite) -> cst.BaseSuite:
    if isinstance(suite, cst.SimpleStatementSuite):
        return suite.with_changes(trailing_whitespace=cst.TrailingWhitespace())
    assert isinstance(suite, cst.IndentedBlock)
    return suite.with_changes(footer=(), body=[*suite.body[:-1], _without_tail(suite.body[-1])])


def _leaves(body: cst.BaseSuite) -> bool:
    """A handler body that re-raises or returns (rather than carrying on)."""
    return any(isinstance(node, (cst.Raise, cst.Return)) for node in nodes(body))


def _jumps_out(body: list[cst.BaseStatement]) -> bool:
    """Some statement of `body` leaves it by ``return``, or by ``break``/``continue`` of a
    loop around it."""
    for statement in body:
        stack: list[tuple[cst.CSTNode, bool]] = [(statement, False)]
        while stack:
            node, in_loop = stack.pop()
            if isinstance(node, cst.Return) or (
                isinstance(node, (cst.Break, cst.Continue)) and not in_loop
            ):
                return True
            for child in children(node):
                if not isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                    inner = in_loop or (
                        isinstance(node, (cst.For, cst.While)) and child is node.body
                    )
                    stack.append((child, inner))
    return False


def _release_call(unit: Unit, releases: set[int]) -> cst.Call | None:
    """The release call when `unit` is a line holding nothing else."""
    if not isinstance(unit, cst.SimpleStatementLine) or len(unit.body) != 1:
        return None
    small = unit.body[0]
    if not isinstance(small, cst.Expr):
        return None
    value = small.value.expression if isinstance(small.value, cst.Await) else small.value
    return value if isinstance(value, cst.Call) and id(value) in releases else None


def _has_comment(unit: cst.SimpleStatementLine) -> bool:
    return unit.trailing_whitespace.comment is not None or any(
        line.comment is not None for line in unit.leading_lines
    )


class ReleaseNotInFinally(Rule):
    """
    ## What it does
    Flags an explicit acquire/release or open/close pair in an `async def` where an
    `await` or a `raise` between the two can skip the release:

    - `await lock.acquire()` … `lock.release()` for `asyncio.Lock`, `Semaphore`,
      `BoundedSemaphore`, `Condition` (and anyio's locks, semaphores and capacity
      limiters), also `await asyncio.wait_for(lock.acquire(), timeout)`;
    - `conn = await pool.acquire()` … `await pool.release(conn)` for asyncpg, aiomysql and
      aiopg pools;
    - a resource opened and closed by hand: `reader, writer = await
      asyncio.open_connection(...)` … `writer.close()`, `session = aiohttp.ClientSession()`
      … `await session.close()`, and the other resources ASL202 knows.

    The release is protected when it sits in a `finally` around the risky statements, or in
    handlers that catch both cancellation and errors (`except BaseException:`, a bare
    `except:`, or `except asyncio.CancelledError:` together with `except Exception:`) and
    re-raise. `except Exception:` alone does not catch `asyncio.CancelledError`: a release
    there is skipped by a cancellation, and the message says so.

    Receivers are resolved, never matched on the method name: a lock is a lock because it
    was assigned from `asyncio.Lock()` (locally, or to `self._lock` in any method),
    annotated as one, or is an instance of a project class derived from one. A pair whose
    acquire and release sit in different functions, whose release is handed on
    (`stack.callback(lock.release)`) or made by a nested function, cannot be judged and is
    left alone, as is a pair with nothing between acquire and release that can suspend or
    raise (an `await` inside `with pytest.raises(...)` is meant to raise), and a lock that
    the function releases before acquiring it (the caller holds it; the function lets go
    for a while).

    ## Why is this bad?
    Every `await` is a point where the task can be cancelled, by a timeout, a `TaskGroup`
    failing, or a server shutting down. The `CancelledError` raised there (or any
    exception) skips the release: the lock stays held and every later `acquire()` waits
    forever, the pool slot is never returned, the connection stays open. The deadlock
    appears far from its cause, usually under load.

    ## Example
    ```python
    async def update(self, key, value):
        await self._lock.acquire()
        await self._store.put(key, value)
        self._lock.release()
    ```

    ## Use instead
    ```python
    async def update(self, key, value):
        async with self._lock:
            await self._store.put(key, value)
    ```

    ## Fix safety
    The fix rewrites the pair as `async with` when the acquire, the statements between
    and the release are consecutive statements of one block, the release is the only one
    on the way, nothing in between returns or jumps out of the block, and the object is an
    async context manager that the knowledge tables know releases exactly as the pair did
    (`async with lock:`, `async with pool.acquire() as conn:`, `async with
    aiohttp.ClientSession() as session:`). It is safe: the statements run as before, and
    the release now also happens when they fail or are cancelled. Other pairs get no fix.

    ## Options
    None.
    """

    code = "ASL201"
    name = "release-not-in-finally"
    message = "`{release}` is not in a `finally`: {hazard} skips it and leaves `{subject}` {left}"
    fix_title = "Use `async with` instead of the acquire/release pair"
    fix_applicability = Applicability.SAFE
    async_only = True

    examples = (
        Invalid(
            """
            import asyncio
            from asyncio import Semaphore


            class Store:
                def __init__(self):
                    self._lock = asyncio.Lock()
                    self._slots = Semaphore(3)

                async def update(self, key, value):
                    await self._lock.acquire()  # error: ASL201@15
                    await self._put(key, value)
                    self._lock.release()

                async def limited(self, job):
                    await self._slots.acquire()  # held while the job runs  # error: ASL201@15
                    result = await job()
                    if result is None:
                        raise LookupError(job)
                    self._slots.release()
                    return result

                async def _put(self, key, value): ...
            """,
            fixed="""
            import asyncio
            from asyncio import Semaphore


            class Store:
                def __init__(self):
                    self._lock = asyncio.Lock()
                    self._slots = Semaphore(3)

                async def update(self, key, value):
                    async with self._lock:
                        await self._put(key, value)

                async def limited(self, job):
                    async with self._slots:  # held while the job runs
                        result = await job()
                        if result is None:
                            raise LookupError(job)
                    return result

                async def _put(self, key, value): ...
            """,
        ),
        Invalid(
            """
            import asyncio
            import asyncio as aio

            import asyncpg


            async def narrow_handler(lock: asyncio.Lock, conn):
                await lock.acquire()  # error: ASL201@11
                try:
                    await conn.send(b"x")
                except Exception:
                    lock.release()
                    raise
                lock.release()


            async def cancellation_only(lock: aio.Lock, conn):
                await lock.acquire()  # error: ASL201@11
                try:
                    await conn.send(b"x")
                except aio.CancelledError:
                    lock.release()
                    raise
                else:
                    lock.release()


            async def raises_between(cond: "asyncio.Condition | None", ready):
                await cond.acquire()  # error: ASL201@11
                if not ready:
                    raise RuntimeError("not ready")
                cond.notify_all()
                cond.release()


            async def with_timeout(lock: asyncio.Lock):
                await asyncio.wait_for(lock.acquire(), timeout=1)  # error: ASL201@28
                await asyncio.sleep(0)
                lock.release()


            async def await_before_try(sem: asyncio.BoundedSemaphore):
                await sem.acquire()  # error: ASL201@11
                await asyncio.sleep(0)
                try:
                    await asyncio.sleep(1)
                finally:
                    sem.release()


            async def ping(host):
                reader, writer = await asyncio.open_connection(host, 7)  # error: ASL201@28
                writer.write(b"ping")
                await writer.drain()
                data = await reader.readline()
                writer.close()
                await writer.wait_closed()
                return data


            async def under_timeout(lock: asyncio.Lock, conn):
                async with asyncio.timeout(5):
                    await lock.acquire()  # error: ASL201@15
                    await conn.send(b"x")
                    lock.release()


            async def connect(dsn):
                conn = await asyncpg.connect(dsn)  # error: ASL201@18
                try:
                    await conn.execute("SET search_path TO app")
                except Exception:
                    await conn.close()
                    raise
                return conn


            async def nested_handlers(lock: asyncio.Lock, conn):
                await lock.acquire()  # error: ASL201@11
                try:
                    try:
                        await conn.send(b"x")
                    except OSError:
                        await conn.reconnect()
                except ValueError:
                    lock.release()
                    raise
                else:
                    lock.release()
            """
        ),
        Invalid(
            """
            import aiohttp
            import anyio
            import asyncpg


            async def fetch(url):
                session = aiohttp.ClientSession()  # error: ASL201@15
                async with session.get(url) as response:
                    text = await response.text()
                await session.close()
                return text


            async def records(pool: asyncpg.Pool):
                conn = await pool.acquire()  # error: ASL201@18
                async for record in conn.cursor("SELECT 1"):
                    print(record)
                await pool.release(conn)


            async def limited(limiter: anyio.CapacityLimiter, job):
                await limiter.acquire()  # error: ASL201@11
                await job()
                limiter.release()
            """,
            fixed="""
            import aiohttp
            import anyio
            import asyncpg


            async def fetch(url):
                async with aiohttp.ClientSession() as session:
                    async with session.get(url) as response:
                        text = await response.text()
                return text


            async def records(pool: asyncpg.Pool):
                async with pool.acquire() as conn:
                    async for record in conn.cursor("SELECT 1"):
                        print(record)


            async def limited(limiter: anyio.CapacityLimiter, job):
                async with limiter:
                    await job()
            """,
        ),
        Invalid(
            {
                "pkg/__init__.py": "",
                "pkg/locks.py": """
                    import asyncio


                    class NamedLock(asyncio.Lock):
                        def __init__(self, name):
                            super().__init__()
                            self.name = name
                """,
                "pkg/registry.py": """
                    from pkg.locks import NamedLock


                    class Registry:
                        def __init__(self):
                            self.lock = NamedLock("registry")

                        async def add(self, item):
                            await self.lock.acquire()  # error: ASL201@15
                            await item.save()
                            self.lock.release()
                """,
            }
        ),
        Invalid(
            """
            import asyncio


            async def grouped(lock: asyncio.Lock):
                await lock.acquire()  # error: ASL201@11
                try:
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(asyncio.sleep(1))
                except* Exception:
                    lock.release()
                    raise
                lock.release()
            """,
            min_python=(3, 11),
        ),
        Valid(
            """
            import asyncio
            import contextlib


            class Store:
                def __init__(self):
                    self._lock = asyncio.Lock()

                async def with_block(self):
                    async with self._lock:
                        await asyncio.sleep(0)

                async def in_finally(self):
                    await self._lock.acquire()
                    try:
                        await asyncio.sleep(0)
                    finally:
                        self._lock.release()

                async def acquired_inside_try(self):
                    try:
                        await self._lock.acquire()
                        await asyncio.sleep(0)
                    finally:
                        self._lock.release()

                async def catch_all(self):
                    await self._lock.acquire()
                    try:
                        await asyncio.sleep(0)
                    except BaseException:
                        self._lock.release()
                        raise
                    self._lock.release()

                async def both_handlers(self):
                    await self._lock.acquire()
                    try:
                        await asyncio.sleep(0)
                    except asyncio.CancelledError:
                        self._lock.release()
                        raise
                    except Exception:
                        self._lock.release()
                        raise
                    else:
                        self._lock.release()

                async def nothing_between(self, item):
                    await self._lock.acquire()
                    self.items.append(item)
                    self._lock.release()
                    await asyncio.sleep(0)

                async def release_first(self, ok):
                    await self._lock.acquire()
                    if not ok:
                        self._lock.release()
                        raise ValueError(ok)
                    self._lock.release()

                async def __aenter__(self):
                    await self._lock.acquire()
                    await asyncio.sleep(0)
                    return self

                async def __aexit__(self, *exc):
                    self._lock.release()

                async def handed_to_stack(self):
                    async with contextlib.AsyncExitStack() as stack:
                        await self._lock.acquire()
                        stack.callback(self._lock.release)
                        await asyncio.sleep(0)

                async def released_by_callback(self, fut):
                    await self._lock.acquire()
                    fut.add_done_callback(lambda _: self._lock.release())
                    await fut
            """
        ),
        Valid(
            """
            import asyncio
            import threading

            import aiohttp
            import pytest


            class Gate:
                async def acquire(self): ...

                def release(self): ...


            async def not_asyncio_locks(gate: Gate, lock, tlock: threading.Lock):
                await gate.acquire()
                await asyncio.sleep(0)
                gate.release()
                await lock.acquire()
                await asyncio.sleep(0)
                lock.release()
                tlock.acquire()
                await asyncio.sleep(0)
                tlock.release()


            async def pool_block(pool):
                async with pool.acquire() as conn:
                    await conn.execute("SELECT 1")


            async def session_block(url):
                session = aiohttp.ClientSession()
                async with session:
                    await session.get(url)


            async def closed_in_finally(host):
                reader, writer = await asyncio.open_connection(host, 7)
                try:
                    await writer.drain()
                finally:
                    writer.close()


            async def swallowing_handler(lock: asyncio.Lock, conn):
                await lock.acquire()
                try:
                    await conn.send(b"x")
                except BaseException:
                    conn.log("failed")
                lock.release()


            async def hand_off(lock: asyncio.Lock, worker):
                await lock.acquire()
                await worker.start(lock)
                lock.release()


            async def test_refused():
                client = aiohttp.ClientSession()
                with pytest.raises(aiohttp.ClientConnectionError):
                    await client.get("http://127.0.0.1:1")
                await client.close()


            async def timeout_around_acquire(lock: asyncio.Lock, conn):
                async with asyncio.timeout(5):
                    await lock.acquire()
                try:
                    await conn.send(b"x")
                finally:
                    lock.release()


            def sync_code(lock: asyncio.Lock):
                lock.release()
            """
        ),
        Valid(
            """
            import asyncio


            async def grouped(lock: asyncio.Lock):
                await lock.acquire()
                try:
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(asyncio.sleep(1))
                except* BaseException:
                    lock.release()
                    raise
                lock.release()
            """,
            min_python=(3, 11),
        ),
    )

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        super().__init__(context, settings, reports)
        self._pending: dict[int, tuple[str, Autofix | None]] = {}
        self._resources = Resources(context)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None:
            return
        flow = Flow(node)
        locks = self._lock_pairs(flow, self._resources)
        for pair in [*locks, *self._resource_pairs(flow, self._resources)]:
            self._check(node, flow, pair, locks)

    def visit_Call(self, node: cst.Call) -> None:
        pending = self._pending.pop(id(node), None)
        if pending is not None:
            message, fix = pending
            self.report(node, message, fix=fix)

    # -- finding pairs ------------------------------------------------------------------

    def _lock_pairs(self, flow: Flow, resources: Resources) -> list[Pair]:
        found = []
        for place in flow.places.values():
            unit = place.units[place.index]
            for index, small in enumerate(smalls(unit)):
                acquired = self._acquired(small, resources)
                if acquired is None:
                    continue
                call, wrapped = acquired
                assert isinstance(call.func, cst.Attribute)
                lock = call.func.value
                spelled = dotted_name(lock)
                assert spelled is not None
                item = None if wrapped else lock
                subject = Subject(spelled, frozenset([RELEASE]))
                found.append(Pair(call, unit, index, subject, "held", True, item))
        return found

    def _acquired(
        self, small: cst.BaseSmallStatement, resources: Resources
    ) -> tuple[cst.Call, bool] | None:
        """The ``lock.acquire()`` call of ``await lock.acquire()`` (or of ``await
        asyncio.wait_for(lock.acquire(), ...)``, then flagged as wrapped)."""
        if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Await)):
            return None
        call = small.value.expression
        if not isinstance(call, cst.Call):
            return None
        wrapped = False
        if call.args and self.context.qualname(call.func) in ACQUIRE_WRAPPERS:
            inner = call.args[0].value
            if not isinstance(inner, cst.Call):
                return None
            call, wrapped = inner, True
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == ACQUIRE):
            return None
        if dotted_name(func.value) is None or resources.lock_type(func.value) is None:
            return None
        return call, wrapped

    def _resource_pairs(self, flow: Flow, resources: Resources) -> list[Pair]:
        found = []
        for unit, index, creation in creations(flow, resources):
            subject = subject_of(creation, self.context)
            if subject is None:
                continue
            item, target = self._item(unit, creation)
            left = creation.resource.left
            found.append(Pair(creation.call, unit, index, subject, left, False, item, target))
        return found

    def _item(self, unit: Unit, creation: Creation) -> tuple[cst.BaseExpression | None, str | None]:
        """The ``async with`` item equivalent to the creation ``x = value``, and ``x``."""
        enter = creation.constructor.enter
        small = smalls(unit)[0] if len(smalls(unit)) == 1 else None
        if enter is None or not isinstance(small, cst.Assign):
            return None, None
        if enter is Enter.VALUE:
            return small.value, creation.target
        return creation.call, creation.target

    # -- judging a pair -----------------------------------------------------------------

    def _check(self, function: cst.FunctionDef, flow: Flow, pair: Pair, locks: list[Pair]) -> None:
        uses = Uses.of(function, pair.subject)
        kinds = uses.kinds()
        if kinds & {Use.HANDED, Use.CAPTURED} or (pair.lock and Use.ESCAPE in kinds):
            return
        releases = uses.calls()
        if not releases or (
            pair.lock and self._held_on_entry(function, flow, pair, locks, releases)
        ):
            return
        walk = self._walk(flow, pair, releases)
        reaching = walk.reaching()
        if not reaching:
            return
        for risk in walk.risks:
            if not (
                risk.confirmed
                or any(id(u) in reaching for u in risk.then)
                or Kind.RAISE in risk.kinds
                or self._released_on_error(flow, risk, releases)
            ):
                continue
            remaining = self._unprotected(flow, risk, releases)
            if remaining:
                release = next(node for use, node in uses.found if use is Use.CLOSE)
                message = self.message.format(
                    release=spelling(self.context.code(release), 60),
                    hazard=self._hazard(risk.node, remaining),
                    subject=pair.subject.spelling,
                    left=pair.left,
                )
                self._pending[id(pair.call)] = (message, self._fix(flow, pair, walk, releases))
                return

    def _held_on_entry(
        self,
        function: cst.FunctionDef,
        flow: Flow,
        pair: Pair,
        locks: list[Pair],
        releases: set[int],
    ) -> bool:
        """Some path releases the lock before acquiring it: the caller holds it, and the
        function lets go for a while (``release()``, ``try: await ... finally: await
        acquire()``): the caller's release is out of sight."""
        acquires = {
            id(smalls(other.unit)[other.index])
            for other in locks
            if other.subject.spelling == pair.subject.spelling
        }

        def decide(node: cst.CSTNode) -> Verdict | None:
            if id(node) in acquires:
                return Verdict.STOP
            return Verdict.FOUND if touches(node, releases) else None

        return search(flow, flow.first(function.body), 0, decide, at_end=False, handlers=True)

    def _released_on_error(self, flow: Flow, risk: _Risk, releases: set[int]) -> bool:
        """A ``try`` around `risk` releases in a handler or ``finally``: the function owns
        the release even when the normal path hands the subject on."""
        return any(
            isinstance(place.owner, (cst.Try, cst.TryStar))
            and any(
                touches(part, releases)
                for part in [*place.owner.handlers, place.owner.finalbody]
                if part is not None
            )
            for place in flow.ancestors(risk.unit)
        )

    def _walk(self, flow: Flow, pair: Pair, releases: set[int]) -> _Walk:
        walk = _Walk()
        work: list[tuple[Unit, int]] = [(pair.unit, pair.index + 1)]
        seen: set[int] = set()
        while work:
            unit, first = work.pop()
            following = self._step(flow, pair, unit, first, releases, walk)
            walk.edges.setdefault(id(unit), []).extend(following)
            for successor in following:
                if id(successor) not in seen:
                    seen.add(id(successor))
                    work.append((successor, 0))
        return walk

    def _step(
        self, flow: Flow, pair: Pair, unit: Unit, first: int, releases: set[int], walk: _Walk
    ) -> list[Unit]:
        """Record the risks of `unit` run while held; where the path goes next."""
        if not is_simple(unit):
            following = flow.enter(unit)
            for risky in self._header_risks(unit):
                walk.risks.append(_Risk(risky, unit, _AWAIT_KINDS, following))
            return following
        local: list[_Risk] = []
        for index, small in enumerate(smalls(unit)[first:], start=first):
            if touches(small, releases):
                walk.releasing.append(unit)
                for risk in local:
                    risk.confirmed = True
                return []
            if unit is pair.unit and index == pair.index:
                return []
            risks = [_Risk(node, unit, _AWAIT_KINDS) for node in suspensions(small)]
            if isinstance(small, cst.Raise):
                risks.append(_Risk(small, unit, frozenset([Kind.RAISE])))
            local += risks
            walk.risks += risks
            if isinstance(small, (cst.Raise, cst.Return)):
                return []
            if isinstance(small, (cst.Break, cst.Continue)):
                following = flow.jump(small, unit)
                break
        else:
            following = flow.after(unit)
        for risk in local:
            risk.then = following
        return following

    def _header_risks(self, unit: Unit) -> list[cst.CSTNode]:
        """``async for``, ``async with`` (but not of a timeout, which enters and exits
        without suspending) and the awaits of a compound statement's header."""
        found: list[cst.CSTNode] = []
        if isinstance(unit, cst.For) and unit.asynchronous is not None:
            found.append(unit)
        if (
            isinstance(unit, cst.With)
            and unit.asynchronous is not None
            and not all(self._is_timeout(item.item) for item in unit.items)
        ):
            found.append(unit)
        for header in headers(unit):
            found += suspensions(header)
        return found

    def _is_timeout(self, expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Call) and self.context.qualname(expr.func) in TIMEOUTS

    def _unprotected(self, flow: Flow, risk: _Risk, releases: set[int]) -> frozenset[Kind]:
        """The kinds of early exit at `risk` that no enclosing ``try`` turns into a release
        (or swallows, carrying on towards the release); none in ``with pytest.raises(...)``,
        where raising is the point."""
        if expects_exception(flow, risk.unit, self.context):
            return frozenset()
        remaining = set(risk.kinds)
        for place in flow.ancestors(risk.unit):
            owner = place.owner
            if isinstance(owner, (cst.Try, cst.TryStar)):
                if (
                    place.role is not Role.FINALLY
                    and owner.finalbody is not None
                    and touches(owner.finalbody, releases)
                ):
                    return frozenset()
                if place.role is Role.TRY_BODY:
                    for kind in list(remaining):
                        handler = next(
                            (h for h in owner.handlers if self._catches(h.type, kind)), None
                        )
                        if handler is not None and (
                            touches(handler.body, releases) or not _leaves(handler.body)
                        ):
                            remaining.discard(kind)
            elif isinstance(owner, cst.With) and owner.asynchronous is None:
                for item in owner.items:
                    call = item.item
                    if isinstance(call, cst.Call) and self.context.qualname(call.func) in SUPPRESS:
                        remaining -= {
                            k
                            for k in remaining
                            if any(self._catches(a.value, k) for a in call.args)
                        }
            if not remaining:
                return frozenset()
        return frozenset(remaining)

    def _catches(self, caught: cst.BaseExpression | None, kind: Kind) -> bool:
        """Whether a handler for `caught` (None: bare ``except:``) receives `kind`."""
        if caught is None:
            return True
        if isinstance(caught, cst.Tuple):
            return any(self._catches(element.value, kind) for element in caught.elements)
        if isinstance(caught, cst.Call):
            qualname = self.context.qualname(caught.func)
            return kind is Kind.CANCEL and qualname in CANCELLED_CLASS_GETTERS
        qualname = self.context.qualname(caught)
        if qualname == "builtins.BaseException":
            return True
        if qualname in CANCELLED_ERROR:
            return kind is Kind.CANCEL
        if qualname == "builtins.Exception":
            return kind is not Kind.CANCEL
        return kind is Kind.RAISE

    def _hazard(self, node: cst.CSTNode, kinds: frozenset[Kind]) -> str:
        if isinstance(node, cst.Raise):
            return f"`{spelling(self.context.code(node))}`"
        if isinstance(node, cst.With):
            items = ", ".join(self.context.code(item) for item in node.items)
            where = f"`async with {spelling(items)}`"
        elif isinstance(node, cst.For):
            loop = f"{self.context.code(node.target)} in {self.context.code(node.iter)}"
            where = f"`async for {spelling(loop)}`"
        elif isinstance(node, cst.CompFor):
            where = "the `async for` comprehension"
        else:
            where = f"`{spelling(self.context.code(node))}`"
        if kinds >= _AWAIT_KINDS:
            return f"a cancellation or an exception at {where}"
        if Kind.CANCEL in kinds:
            return f"a cancellation at {where}"
        return f"an exception at {where}"

    # -- the fix ------------------------------------------------------------------------

    def _fix(self, flow: Flow, pair: Pair, walk: _Walk, releases: set[int]) -> Autofix | None:
        """``async with`` in place of acquire, body and release when they are consecutive
        statements of one block and the release is the only one on the way."""
        place = flow.places[id(pair.unit)]
        suite, acquire = place.suite, pair.unit
        if (
            pair.item is None
            or not isinstance(suite, cst.IndentedBlock)
            or not isinstance(acquire, cst.SimpleStatementLine)
            or len(acquire.body) != 1
            or len(walk.releasing) != 1
        ):
            return None
        units = list(place.units)
        end = walk.releasing[0]
        last = next((i for i, unit in enumerate(units) if unit is end), place.index)
        if last <= place.index + 1 or not isinstance(end, cst.SimpleStatementLine):
            return None
        body = [
            unit for unit in units[place.index + 1 : last] if isinstance(unit, cst.BaseStatement)
        ]
        if (
            _release_call(end, releases) is None
            or _has_comment(end)
            or _jumps_out(body)
            or self._rebinds(body, pair.subject.spelling)
        ):
            return None
        target = None if pair.target is None else cst.AsName(cst.Name(pair.target))
        statement = cst.With(
            items=[cst.WithItem(pair.item, asname=target)],
            body=cst.IndentedBlock(body=body, header=acquire.trailing_whitespace),
            asynchronous=cst.Asynchronous(),
            leading_lines=acquire.leading_lines,
        )
        statements = [*units[: place.index], statement, *units[last + 1 :]]
        text = self._render(suite, statements, keep_tail=last + 1 < len(units))
        return None if text is None else Autofix(Replace(suite, text))

    def _rebinds(self, body: list[cst.BaseStatement], spelled: str) -> bool:
        """Some statement of `body` assigns the subject (or the name it starts with)."""
        names = {spelled, spelled.split(".")[0]}
        return any(
            dotted_name(target) in names
            for statement in body
            for node in nodes(statement)
            for target in targets(node)
        )

    def _render(
        self, suite: cst.IndentedBlock, statements: list[Unit], keep_tail: bool
    ) -> str | None:
        """The text replacing `suite` (from its first statement's first token to its last
        statement's last token) with `statements`."""
        module = self.context.module
        indent = _indentation(module, suite)
        if indent is None:
            return None
        body = [s for s in statements if isinstance(s, cst.BaseStatement)]
        body[0] = body[0].with_changes(leading_lines=())
        if keep_tail:
            body[-1] = _without_tail(body[-1])
        code = module.code_for_node(cst.IndentedBlock(body=body, indent=indent))
        newline = module.default_newline
        return code.removeprefix(newline + indent).removesuffix(newline)
