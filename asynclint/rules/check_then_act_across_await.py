"""ASL401 check-then-act-across-await."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst

from asynclint.context import TRACKED, Context
from asynclint.knowledge.coroutines import ASYNC_CLASSES
from asynclint.rule import Invalid, Report, Rule, Valid
from asynclint.rules._shared_state import Suspension, describe, is_suspension, line_of, walk
from asynclint.scope import BindingKind, Scope, ScopeKind, dotted_name
from asynclint.walk import children

ASYNC_LOCK_TYPES = frozenset(
    ["asyncio.Lock", "asyncio.Semaphore", "asyncio.BoundedSemaphore", "asyncio.Condition"]
)
ASYNC_LOCK_FACTORIES = frozenset(
    [
        *(name for name, kind in ASYNC_CLASSES.items() if kind in ASYNC_LOCK_TYPES),
        *(
            f"{library}.{name}"
            for library in ("anyio", "trio")
            for name in ("Lock", "Semaphore", "Condition", "CapacityLimiter")
        ),
        "trio.StrictFIFOLock",
    ]
)
"""Classes whose instances serialise the tasks that enter them with ``async with``."""
_LOCK_WORDS = ("lock", "mutex", "semaphore", "limiter")


class _Effect(enum.Enum):
    """What a write does to the state, which decides whether a stale check matters."""

    SET = "set"
    """Gives it a value or adds to it: racing tasks both do the work, one result is lost."""
    CONSUME = "consume"
    """Takes from it (``del``, ``pop(key)``, ``remove``): the loser of the race raises."""
    NONE_RESET = "none"
    """Sets it back to ``None``: done twice it does no harm."""
    FALSY_RESET = "falsy"
    """Sets it back to ``False``, ``0``, an empty literal, or ``clear()``s it: as harmless,
    unless the check compared it with ``None`` (then ``False`` is a computed value)."""


_MUTATORS: dict[str, _Effect] = {
    **dict.fromkeys(
        ["append", "appendleft", "extend", "extendleft", "insert", "add", "update"],
        _Effect.SET,
    ),
    **dict.fromkeys(["remove", "popleft", "popitem"], _Effect.CONSUME),
    "clear": _Effect.FALSY_RESET,
}
"""Methods of the built-in containers that change them (``pop`` without a default is a
consume too). ``pop(key, default)``, ``discard`` and ``setdefault`` are left out: they
tolerate (or perform) a concurrent change, so they are safe acts after a stale check."""
_SET = _Effect.SET
_CHECKED = (
    "`{state}` is checked on line {check} but written here after {suspension}; another "
    "task can change it in between (hold an `asyncio.Lock` across both)"
)
_LOST_UPDATE = (
    "`{state}` is read, then written back after {suspension}; another task can change it "
    "in between and its update is lost (hold an `asyncio.Lock`, or await first)"
)
_TRUTHY_CALLS = frozenset(["builtins.len", "builtins.bool"])
_MUTABLE_DEFAULTS = (cst.List, cst.Dict, cst.Set)


@dataclass(frozen=True)
class _Paths:
    """The paths that reach a point after the check: is there one on which nothing
    suspended and nothing wrote the state yet (`fresh`), and the first suspension of one
    that suspended and did not write yet (`suspended`). A suspended path that entered a
    branch decided after the suspension is `muted` there: what the branch writes was
    decided on fresh information (``if msg.closed: self._closed = True``), not on the
    stale check; it is suspended again once the branching statement ends."""

    fresh: bool
    suspended: Suspension | None = None
    muted: Suspension | None = None

    def __or__(self, other: _Paths) -> _Paths:
        return _Paths(
            self.fresh or other.fresh,
            self.suspended or other.suspended,
            self.muted or other.muted,
        )

    @property
    def live(self) -> bool:
        return self.fresh or self.suspended is not None or self.muted is not None

    def mute(self) -> _Paths:
        return _Paths(self.fresh, None, self.suspended or self.muted)

    def unmute(self, before: _Paths) -> _Paths:
        """Back out of a branch entered with `before` (muted there by :meth:`mute`)."""
        if before.muted is not None:
            return self
        return _Paths(self.fresh, self.muted or self.suspended)


_DEAD = _Paths(False)
_FRESH = _Paths(True)


@dataclass(frozen=True)
class _Read:
    keys: frozenset[str]
    conditional: bool


@dataclass(frozen=True)
class _Write:
    key: str
    node: cst.CSTNode
    effect: _Effect = _Effect.SET
    value: str | None = None
    """The code of the value assigned to the state itself, when it is assigned one."""


@dataclass(frozen=True)
class _Guard:
    """What the check says on the path followed. On the path where its test is true (the
    ``if`` body) any write it guards counts. Where its test is false (``else``, and the
    code after an ``if ...: return`` guard) a compound test whose parts are not all about
    the state says little (``if choice and choice in self._found: return ...``), so a
    write counts when every part of the test reads the state (`tied`), when the test
    showed it absent (``if self._conn and ...: return``), or when the test compared it
    with the very value written (``... self.state == DONE: return`` ... ``self.state =
    DONE``)."""

    present: frozenset[str] = frozenset()
    absent: frozenset[str] = frozenset()
    tied: frozenset[str] | None = None
    """On the false side: the keys every part of the test reads."""

    def stale(self, write: _Write, compared: Mapping[str, frozenset[str]]) -> bool:
        if write.effect is _Effect.CONSUME:
            return True
        if write.key in self.present:
            return False
        if self.tied is None or write.key in self.tied or write.key in self.absent:
            return True
        return write.value is not None and write.value in compared.get(write.key, ())


class _Truth(enum.Enum):
    PRESENT = "present"
    ABSENT = "absent"


_Polarity = dict[str, tuple["_Truth | None", "_Truth | None"]]
"""What a test says about each state key when it is true, and when it is false."""


_Event = Suspension | _Read | _Write


@dataclass
class _Flow:
    """Paths leaving a block: falling through (`out`), or jumping to the loop's end or
    head (`jumped`: ``break``/``continue``); ``return``/``raise`` paths end."""

    out: _Paths
    jumped: _Paths = _DEAD


class CheckThenActAcrossAwait(Rule):
    """
    ## What it does
    Flags a write to shared state that happens after an `await` (or `async with`/
    `async for`) on a path guarded by a check of that same state, with no lock held
    across both, in an `async def`:

    - `if key not in self._cache: value = await fetch(key); self._cache[key] = value`;
    - `if self._conn is None: self._conn = await connect()`;
    - `if not self._started: await self._start(); self._started = True`;
    - `if len(self._pending) < limit: ...await...; self._pending.append(job)`;
    - early-return guards: `if self._conn: return self._conn` followed by an `await` and
      an assignment (also `continue`/`break` guards in loops, and `else` branches);
    - one-statement read-await-write: `self.count += await delta()` and
      `self.count = self.count + await delta()`.

    The check is the test of an `if` (or `elif`). Shared state is an attribute of
    `self` (or `cls`), an attribute of a class, a module global (assigned with `global`
    declared, or a container changed in place), or a mutable default argument. A write is an assignment, augmented assignment or `del` of
    the state or of an item of it, or a call of a mutating method of the built-in
    containers (`append`, `add`, `update`, `remove`, `pop(key)`, ...).

    Left alone, because they are not races or do no harm when they are:

    - no suspension between the check and the write: a write before the first `await`
      claims the state (`self._started = True; await self._start()`);
    - the check made again after the suspension (double-checked locking, a `while` loop
      re-testing it, `self._x = self._x or conn`);
    - a write decided by a test evaluated after the suspension, or made in an `except`
      handler: it acts on what the `await` returned, not on the stale check
      (`if self._at_eof: return` ... `if not data: self._at_eof = True`);
    - writes that are harmless when repeated: resetting to `None`, `False`, `0` or an
      empty literal, `clear()`, `setdefault`, `pop(key, default)`, `discard`; and a new
      value for state the check found present (`if not self._run: raise ...` then
      `self._run = await self._reload(self._run)` refreshes it);
    - after `if <test>: return` (or in its `else`), a write the test does not tie to
      the state: when a compound test is false and not all of its parts read the state
      (`if choice and choice in self._found: return ...`), the write counts only when
      the test showed the state absent (`if self._conn and ...: return`) or compared it
      with the value written (`if ... self.state == DONE: return` ... `self.state =
      DONE`);
    - a check inside `async with` on an `asyncio`/`anyio`/`trio` lock, semaphore or
      condition, or after `await lock.acquire()`, and a write inside such a lock taken
      after the check (serialised on purpose); to stay precise, an `async with` on an
      object of unknown type (`self._lock`) or on a call whose name says lock counts as
      a lock;
    - local variables, even copies of shared state, and nested sync functions.

    ## Why is this bad?
    A coroutine runs undisturbed only until it suspends. Every `await` lets other tasks
    run, and one of them can pass the same check in the meantime: two tasks both see the
    cache empty and both fetch, both see no connection and both connect (leaking one),
    both start the service, a counter loses an update. The window is small, so the bug
    hides in tests and shows under load.

    ## Example
    ```python
    async def get_connection(self):
        if self._conn is None:
            self._conn = await connect(self._url)
        return self._conn
    ```

    ## Use instead
    Hold an `asyncio.Lock` across the check and the write, and check again inside it:
    ```python
    async def get_connection(self):
        async with self._lock:  # self._lock = asyncio.Lock()
            if self._conn is None:
                self._conn = await connect(self._url)
        return self._conn
    ```
    Or claim the state before the first `await` (store the task, not its result):
    `self._connecting = asyncio.ensure_future(connect(self._url))`.

    ## Fix safety
    There is no automatic fix: which lock guards which state is a design decision.

    ## Options
    None.
    """

    code = "ASL401"
    name = "check-then-act-across-await"
    message = _CHECKED
    async_only = True

    examples = (
        Invalid(
            """
            import asyncio

            class Client:
                async def get(self, key):
                    if key not in self._cache:
                        value = await self.fetch(key)
                        self._cache[key] = value  # error: ASL401@13
                    return self._cache[key]

                async def connection(self):
                    if self._conn is None:
                        self._conn = await asyncio.open_connection("db", 5432)  # error: ASL401@13
                    return self._conn

                async def start(self):
                    if not self._started:
                        await self._start()
                        self._started = True  # error: ASL401@13

                async def submit(self, job):
                    if len(self._pending) < 10:
                        await self._announce(job)
                        self._pending.append(job)  # error: ASL401@13
            """
        ),
        Invalid(
            """
            class Pool:
                _instance = None

                async def session(self):
                    if self._session:
                        return self._session
                    session = await self._open()
                    self._session = session  # error: ASL401@9
                    return session

                async def warm(self, keys):
                    for key in keys:
                        if key in self._cache:
                            continue
                        async with self._client.get(key) as response:
                            data = response.body
                        self._cache.update({key: data})  # error: ASL401@13

                @classmethod
                async def instance(cls):
                    if cls._instance is not None:
                        pass
                    else:
                        cls._instance = await cls.create()  # error: ASL401@13
                    return cls._instance

                async def add(self, delta):
                    self.count += await delta()  # error: ASL401@9
                    self.total = self.total + await delta()  # error: ASL401@9

                async def body(self):
                    if self._body is None:
                        chunks = []
                        while True:
                            chunk = await self._read()
                            if not chunk:
                                break
                            chunks.append(chunk)
                        self._body = b"".join(chunks)  # error: ASL401@13
                    return self._body

                async def token(self, now):
                    if self._valid_until is not None and self._valid_until > now:
                        return self._token
                    details = await self._refresh()
                    self._token = details.token
                    self._valid_until = details.expires  # error: ASL401@9
                    return self._token

                async def commit(self):
                    if self.state in (State.COMMITTED, State.ROLLED_BACK):
                        return False
                    await self._flush()
                    self.state = State.COMMITTED  # error: ASL401@9
                    return True

                async def needs_setup(self):
                    if self._needed is not None:
                        return self._needed
                    found = await self._probe()
                    self._needed = False  # error: ASL401@9
                    return found
            """
        ),
        Invalid(
            """
            import asyncio

            _connection = None
            _seen = set()
            _cached = {}

            async def connect():
                global _connection
                if _connection is None:
                    await asyncio.sleep(0)
                    _connection = object()  # error: ASL401@9
                return _connection

            async def lookup(key):
                if _cached.get(key):
                    return _cached[key]
                _cached[key] = await asyncio.sleep(1, key)  # error: ASL401@5
                return _cached[key]

            async def first_time(item, cache={}):
                if item not in _seen:
                    async for _ in agen():
                        pass
                    _seen.add(item)  # error: ASL401@9
                if item in cache:
                    await asyncio.sleep(1)
                    del cache[item]  # error: ASL401@13

            class Registry:
                async def register(self, name):
                    if name not in Registry.names:
                        await asyncio.sleep(0)
                        Registry.names.append(name)  # error: ASL401@13
            """
        ),
        Valid(
            """
            import asyncio

            class Client:
                def __init__(self):
                    self._lock = asyncio.Lock()

                async def get(self, key):
                    async with self._lock:
                        if key not in self._cache:
                            self._cache[key] = await self.fetch(key)
                    return self._cache[key]

                async def start(self):
                    if not self._started:
                        self._started = True
                        await self._start()

                async def connection(self):
                    if self._conn is None:
                        conn = await self._connect()
                        if self._conn is None:
                            self._conn = conn
                    return self._conn

                async def other(self, key):
                    if key not in self._cache:
                        value = await self.fetch(key)
                        self._results[key] = value
                        self._cache.setdefault(key, value)
                        self._cache.pop(key, None)
                        self._cache = self._cache or {}

                async def refresh(self, key):
                    if not self._run:
                        raise RuntimeError("not started")
                    self._run = await self.reload(self._run)
                    if key in self._cache:
                        self._cache[key] = await self.fetch(key)

                async def choose(self, choice):
                    if choice is not None and self._found and choice in self._found:
                        return self._found[choice]
                    self._found = await self.discover()

                async def no_await(self, key):
                    if key not in self._cache:
                        self._cache[key] = self.compute(key)
                    await self.flush()
                    self._cache[key] = None

                async def local(self, key):
                    cache = self._cache
                    if key not in cache:
                        cache[key] = await self.fetch(key)
            """
        ),
        Valid(
            """
            import asyncio
            from anyio import Lock

            LOCK = Lock()

            class Service:
                async def ensure(self):
                    async with LOCK:
                        if self._conn is None:
                            self._conn = await self._open()

                async def ensure_acquire(self):
                    await self._mutex.acquire()
                    try:
                        if self._conn is None:
                            self._conn = await self._open()
                    finally:
                        self._mutex.release()

                async def guarded(self, key):
                    async with self._locks[key]:
                        if key not in self._cache:
                            self._cache[key] = await self.fetch(key)
                    async with self.lock_for(key):
                        if key not in self._cache:
                            self._cache[key] = await self.fetch(key)

                async def fallthrough(self):
                    if self._conn is None:
                        self._log("connecting")
                    await self._ping()
                    self._conn = None

                def sync(self):
                    if self._conn is None:
                        self._conn = self._open_sync()

                async def callback(self):
                    if self._conn is None:
                        def reset():
                            self._conn = None

                        await self._ping()
                        return reset
            """
        ),
        Valid(
            """
            import asyncio

            class Counter:
                async def add(self, delta):
                    self.count = await delta() + self.count
                    self.count += delta()
                    value = self.count
                    value += await delta()
                    self.other = self.count + await delta()

                async def replace(self):
                    if self._task is not None:
                        self._task.cancel()
                        self._task = None
                    self._task = asyncio.ensure_future(self._run())
                    await self._task

                async def acquire(self, wait, task):
                    if not wait and self.value <= 0:
                        return False
                    while self.value <= 0:
                        await self._wakeup.wait()
                    self.value -= 1
                    if self._owner is not task:
                        await self._lock.acquire()
                        self._owner = task
                    if self._owner is None:
                        async with self._lock:
                            self._owner = await self.next_owner()

                async def stop(self):
                    if self._task is not None:
                        self._task.cancel()
                        await self._task
                        self._task = None
                    if self._timers:
                        await self.stop_all(self._timers)
                        self._timers.clear()

                async def retry(self):
                    if self._closed:
                        raise RuntimeError("closed")
                    while self._conn is None:
                        try:
                            conn = await self._open()
                        except OSError:
                            continue
                        if self._conn is None:
                            self._conn = conn
            """
        ),
        Valid(
            """
            class Reader:
                async def read(self):
                    if self._at_eof:
                        return b""
                    data = await self._stream.read()
                    if not data:
                        self._at_eof = True
                    while data.endswith(b"\\"):
                        self._at_eof = False
                        data += await self._stream.read()
                    match data:
                        case b"":
                            self._at_eof = True
                    return data

                async def close(self):
                    if self._closed:
                        return
                    try:
                        await self._writer.close()
                    except OSError:
                        self._closed = True
                        raise
            """
        ),
    )

    def __init__(
        self, context: Context, settings: Mapping[str, Any], reports: list[Report]
    ) -> None:
        super().__init__(context, settings, reports)
        self._pending: dict[int, list[tuple[cst.CSTNode, str]]] = {}
        """The writes found when their ``async def`` was entered, with their messages, by
        the innermost tracked node holding them (:func:`_holders`)."""
        self._found: set[int] = set()
        """Writes found so far: each is reported once."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._flush(node)
        if node.asynchronous is None or not self.context.in_async_def:
            return
        function = self.context.function
        assert function is not None
        analysis = _Analysis(self.context, function.scope)
        analysis.suite(node.body, held=False)
        findings = {key: text for key, text in analysis.findings.items() if key not in self._found}
        self._found.update(findings)
        for holder, write in _holders(node, findings):
            self._pending.setdefault(id(holder), []).append((write, findings[id(write)]))

    def _flush(self, node: cst.CSTNode) -> None:
        """Report the writes `node` holds, when the pass enters it (the visit of every
        tracked node type, set below): the pass is where it would be at the writes
        themselves (same statement, same trail), without visiting every name."""
        for write, message in self._pending.pop(id(node), ()):
            self.report(write, message)


for _kind in TRACKED - {cst.FunctionDef}:  # visit_FunctionDef flushes first
    setattr(CheckThenActAcrossAwait, f"visit_{_kind.__name__}", CheckThenActAcrossAwait._flush)


def _holders(
    function: cst.FunctionDef, writes: Mapping[int, str]
) -> Iterator[tuple[cst.CSTNode, cst.CSTNode]]:
    """Each of the `writes` (by id) in `function` with the innermost node of the pass's
    trail (:data:`asynclint.context.TRACKED`) holding it, in the order the pass meets them."""
    left = len(writes)
    pending: list[tuple[cst.CSTNode, cst.CSTNode]] = [(function, function)]
    while pending and left:
        node, holder = pending.pop()
        if type(node) in TRACKED:
            holder = node
        if id(node) in writes:
            left -= 1
            yield holder, node
        pending.extend((child, holder) for child in reversed(children(node)))


class _Analysis:
    """Finds the unguarded writes of one ``async def`` (not of its nested functions)."""

    def __init__(self, context: Context, scope: Scope) -> None:
        self.context = context
        self.scope = scope
        self.findings: dict[int, str] = {}
        self._keys: frozenset[str] = frozenset()
        """The state the followed check read."""
        self._check: cst.If | None = None
        self._guard = _Guard()
        self._compared: dict[str, frozenset[str]] = {}
        """The values the check compared each key with (``==``, ``is``, ``in (...)``)."""
        self._none_tests: frozenset[str] = frozenset()
        """The keys the check compared with ``None``."""
        self._key_of: dict[int, str | None] = {}
        """:meth:`key` by node: every check of the function walks the same statements."""

    # -- which checks to follow -------------------------------------------------------

    def suite(self, suite: cst.BaseSuite, held: bool) -> None:
        """Start from every ``if`` of the suite that is not under a lock; recurse."""
        statements = _statements(suite)
        for index, statement in enumerate(statements):
            if not held and self._acquires_lock(statement):
                self.suite(cst.IndentedBlock(body=list(statements[index + 1 :])), held=True)
                return
            if isinstance(statement, cst.If) and not held:
                self.follow(statement, statements[index + 1 :])
            if isinstance(statement, cst.SimpleStatementLine) and not held:
                for small in statement.body:
                    self.read_await_write(small)
            for child, child_held in self._children(statement, held):
                self.suite(child, child_held)

    def _children(
        self, statement: cst.BaseStatement, held: bool
    ) -> Iterator[tuple[cst.BaseSuite, bool]]:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef, cst.SimpleStatementLine)):
            return
        if isinstance(statement, cst.With) and statement.asynchronous is not None:
            held = held or any(self._is_lock(item.item) for item in statement.items)
        for part in _parts(statement):
            yield part, held

    def _is_lock(self, expr: cst.BaseExpression) -> bool:
        """An asyncio/anyio/trio lock, semaphore or condition, or, to stay precise, any
        object of unknown type and any class or call whose name says lock."""
        if isinstance(expr, cst.Call):
            if self.context.qualname(expr.func) in ASYNC_LOCK_FACTORIES:
                return True
            return _says_lock(dotted_name(expr.func))
        kind = self.context.infer(expr)
        return kind is None or kind in ASYNC_LOCK_TYPES or _says_lock(kind)

    def _acquires_lock(self, statement: cst.BaseStatement) -> bool:
        """``await lock.acquire()`` as a statement: the rest of the block holds it."""
        if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
            return False
        small = statement.body[0]
        if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Await)):
            return False
        call = small.value.expression
        return (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "acquire"
            and self._is_lock(call.func.value)
        )

    def follow(self, check: cst.If, rest: Sequence[cst.BaseStatement]) -> None:
        """The paths `check` guards: its branches and, when one branch always leaves
        (``return``, ``raise``, ``continue``, ``break``), the statements after it."""
        if isinstance(check.orelse, cst.If):
            self.follow(check.orelse, rest)
        keys = frozenset(self.reads(check.test))
        if not keys:
            return
        self._keys, self._check = keys, check
        self._none_tests = frozenset(self.none_tests(check.test))
        self._compared = self.compared(check.test)
        polarity = self.polarity(check.test)
        when_true = _Guard(*_sides(polarity, 0))
        tied = frozenset.intersection(
            *(frozenset(self.reads(part)) for part in _operands(check.test))
        )
        when_false = _Guard(*_sides(polarity, 1), tied=tied)
        start = self.events(self.expression(check.test), _DEAD, recheck=True, revive=True)
        self._guard = when_true
        body = self.block(_statements(check.body), start)
        self._guard = when_false
        orelse = self.branch(check.orelse, start)
        if not rest:
            return
        if _leaves(check.body):
            self.block(rest, orelse.out)
        elif check.orelse is not None and _leaves(check.orelse):
            self._guard = when_true
            self.block(rest, body.out)

    def polarity(self, test: cst.BaseExpression) -> _Polarity:
        """Whether the state is present (truthy, not ``None``, holding the key) when
        `test` is true and when it is false, for the keys where the test says so."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return {k: (f, t) for k, (t, f) in self.polarity(test.expression).items()}
        if isinstance(test, cst.BooleanOperation):
            left, right = self.polarity(test.left), self.polarity(test.right)
            side = 0 if isinstance(test.operator, cst.And) else 1
            merged: _Polarity = {}
            for name in left.keys() | right.keys():
                known = {p[name][side] for p in (left, right) if name in p}
                value = known.pop() if len(known) == 1 else None
                merged[name] = (value, None) if side == 0 else (None, value)
            return merged
        key, present = self._presence(test)
        if key is None:
            return {}
        if present:
            return {key: (_Truth.PRESENT, _Truth.ABSENT)}
        return {key: (_Truth.ABSENT, _Truth.PRESENT)}

    def _presence(self, test: cst.BaseExpression) -> tuple[str | None, bool]:
        """The key `test` is true for when present (``x``, ``x is not None``, ``k in x``,
        ``len(x)``, ``x.get(k)``), or when absent (``x is None``, ``k not in x``)."""
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            target = test.comparisons[0]
            operator = target.operator
            if isinstance(operator, (cst.Is, cst.IsNot)) and _is_none(target.comparator):
                return self._subject(test.left), isinstance(operator, cst.IsNot)
            if isinstance(operator, (cst.In, cst.NotIn)):
                return self.key(target.comparator), isinstance(operator, cst.In)
            return None, True
        return self._subject(test), True

    def _subject(self, expr: cst.BaseExpression) -> str | None:
        """The state whose presence `expr` stands for: itself, ``len(x)``, ``x.get(k)``."""
        if isinstance(expr, cst.Call):
            func = expr.func
            if self.context.qualname(func) in _TRUTHY_CALLS and len(expr.args) == 1:
                return self._subject(expr.args[0].value)
            if isinstance(func, cst.Attribute) and func.attr.value == "get" and expr.args:
                return self.key(func.value)
            return None
        return self.key(expr)

    def compared(self, test: cst.BaseExpression) -> dict[str, frozenset[str]]:
        """The values `test` compares each key with: ``x == V``, ``x is V``, ``x in (V,
        W)``, also with the sides swapped for ``==``/``is``."""
        found: dict[str, set[str]] = {}
        for node in walk(test):
            if not isinstance(node, cst.Comparison) or len(node.comparisons) != 1:
                continue
            target = node.comparisons[0]
            pairs = []
            if isinstance(target.operator, (cst.Equal, cst.NotEqual, cst.Is, cst.IsNot)):
                pairs = [(node.left, target.comparator), (target.comparator, node.left)]
            elif isinstance(target.operator, (cst.In, cst.NotIn)) and isinstance(
                target.comparator, (cst.List, cst.Tuple, cst.Set)
            ):
                pairs = [(node.left, e.value) for e in target.comparator.elements]
            for state, value in pairs:
                key = self.key(state)
                if key is not None and not _is_none(value):
                    found.setdefault(key, set()).add(self.context.code(value))
        return {key: frozenset(values) for key, values in found.items()}

    def none_tests(self, test: cst.BaseExpression) -> Iterator[str]:
        for node in walk(test):
            if isinstance(node, cst.Comparison):
                for target in node.comparisons:
                    if isinstance(target.operator, (cst.Is, cst.IsNot)) and _is_none(
                        target.comparator
                    ):
                        key = self.key(node.left)
                        if key is not None:
                            yield key

    def read_await_write(self, small: cst.BaseSmallStatement) -> None:
        """``self.n += await f()`` / ``self.n = self.n + await f()``: the statement itself
        reads the state, suspends, and writes it back."""
        if isinstance(small, cst.AugAssign):
            target = small.target
        elif isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
        else:
            return
        key = self.key(target)
        if key is None:
            return
        self._keys, self._check = frozenset([key]), None
        self._guard, self._none_tests, self._compared = _Guard(), frozenset(), {}
        events: list[_Event] = []
        if isinstance(small, cst.AugAssign):
            events.append(_Read(self._keys, conditional=True))
        events += [*self.expression(small.value), _Write(key, target)]
        self.events(iter(events), _DEAD, recheck=True, revive=True)

    # -- paths ------------------------------------------------------------------------

    def block(self, statements: Sequence[cst.BaseStatement], paths: _Paths) -> _Flow:
        jumped = _DEAD
        for statement in statements:
            if not paths.live or self._acquires_lock(statement):
                return _Flow(_DEAD, jumped)
            flow = self.statement(statement, paths)
            paths, jumped = flow.out, jumped | flow.jumped
        return _Flow(paths, jumped)

    def branch(self, part: cst.BaseSuite | cst.If | cst.Else | None, paths: _Paths) -> _Flow:
        if part is None:
            return _Flow(paths)
        if isinstance(part, cst.If):
            return self.statement(part, paths)
        return self.block(_statements(part), paths)

    def statement(self, statement: cst.BaseStatement, paths: _Paths) -> _Flow:
        if isinstance(statement, cst.SimpleStatementLine):
            return self.simple(statement.body, paths)
        if isinstance(statement, cst.If):
            paths = self.events(self.expression(statement.test), paths, recheck=True)
            return self.decide([statement.body, statement.orelse], paths)
        if isinstance(statement, (cst.For, cst.While)):
            return self.loop(statement, paths)
        if isinstance(statement, cst.With):
            return self.with_block(statement, paths)
        if isinstance(statement, (cst.Try, cst.TryStar)):
            return self.try_block(statement, paths)
        if isinstance(statement, cst.Match):
            paths = self.events(self.expression(statement.subject), paths, recheck=False)
            return self.decide([case.body for case in statement.cases], paths)
        return _Flow(paths)

    def decide(
        self, branches: Sequence[cst.BaseSuite | cst.If | cst.Else | None], paths: _Paths
    ) -> _Flow:
        """Branches chosen by a test evaluated at this point: suspended paths are muted in
        them (see :class:`_Paths`)."""
        out = jumped = _DEAD
        for branch in branches:
            flow = self.branch(branch, paths.mute())
            out, jumped = out | flow.out, jumped | flow.jumped
        return _Flow(out.unmute(paths), jumped.unmute(paths))

    def simple(self, body: Sequence[cst.BaseSmallStatement], paths: _Paths) -> _Flow:
        for small in body:
            paths = self.events(self.small_events(small), paths, recheck=False)
            if isinstance(small, (cst.Return, cst.Raise)):
                return _Flow(_DEAD)
            if isinstance(small, (cst.Break, cst.Continue)):
                return _Flow(_DEAD, paths)
        return _Flow(paths)

    def loop(self, loop: cst.For | cst.While, paths: _Paths) -> _Flow:
        """Two passes over the body: a write in one iteration can follow a suspension in
        the previous one. A ``for`` loop ends at its head, a ``while`` loop right after
        its test (which, unless ``while True``, decides like an ``if``), or at a ``break``
        (``continue`` is taken as one, conservatively)."""
        body = _statements(loop.body)
        exits = jumped = _DEAD
        for _ in range(2):
            if isinstance(loop, cst.For):
                exits = exits | paths
                paths = self.events(self.expression(loop.iter), paths, recheck=False)
                if loop.asynchronous is not None:
                    paths = self.events(iter([loop]), paths, recheck=False)
                flow = self.block(body, paths)
            else:
                paths = self.events(self.expression(loop.test), paths, recheck=True)
                if _is_true(loop.test):
                    flow = self.block(body, paths)
                else:
                    exits = exits | paths
                    flow = self.decide([loop.body], paths)
            jumped = jumped | flow.jumped
            paths = flow.out | flow.jumped
        if isinstance(loop, cst.For):
            exits = exits | paths
        orelse = self.branch(loop.orelse, exits)
        return _Flow(orelse.out | jumped, orelse.jumped)

    def with_block(self, statement: cst.With, paths: _Paths) -> _Flow:
        """``async with`` suspends on entry and exit. Inside a lock taken after the check
        the write is serialised on purpose (``await self._lock.acquire(); self._owner =
        task``): nothing in it is a finding."""
        for item in statement.items:
            paths = self.events(self.expression(item.item), paths, recheck=False)
        if statement.asynchronous is None:
            return self.block(_statements(statement.body), paths)
        paths = self.events(iter([statement]), paths, recheck=False)
        if any(self._is_lock(item.item) for item in statement.items):
            flow = _Flow(_DEAD if _leaves(statement.body) else paths)
        else:
            flow = self.block(_statements(statement.body), paths)
        return _Flow(self.events(iter([statement]), flow.out, recheck=False), flow.jumped)

    def try_block(self, statement: cst.Try | cst.TryStar, paths: _Paths) -> _Flow:
        body = self.block(_statements(statement.body), paths)
        caught = (paths | body.out | body.jumped).mute()
        handlers = [self.block(_statements(h.body), caught) for h in statement.handlers]
        orelse = self.branch(statement.orelse, body.out)
        out, jumped = orelse.out, body.jumped | orelse.jumped
        for flow in handlers:
            out, jumped = out | flow.out, jumped | flow.jumped
        if statement.finalbody is not None:
            final = self.block(_statements(statement.finalbody.body), out)
            out, jumped = final.out, jumped | final.jumped
        return _Flow(out, jumped)

    def events(
        self, events: Iterator[_Event], paths: _Paths, recheck: bool, revive: bool = False
    ) -> _Paths:
        """Apply `events` to `paths`: a suspension turns fresh paths into suspended ones;
        a write of the state is a finding on a suspended path, and ends both kinds; a read
        of the state in a condition (all reads when `recheck`) makes live paths fresh
        again, and when `revive` (the check itself) starts them."""
        for event in events:
            if isinstance(event, _Read):
                rechecked = (event.conditional or recheck) and bool(event.keys & self._keys)
                if rechecked and (paths.live or revive):
                    paths = _FRESH
            elif isinstance(event, _Write):
                paths = self._write(event, paths)
            elif paths.live:
                suspended = paths.suspended or (event if paths.fresh else None)
                paths = _Paths(False, suspended, paths.muted)
        return paths

    def _write(self, write: _Write, paths: _Paths) -> _Paths:
        """A write claims the state on a fresh path. On a suspended path it is a finding
        unless it is harmless: a reset, or a new value for state the check found present
        (``if not self.run: raise ...; self.run = await self.reload()`` refreshes it)."""
        if write.key not in self._keys:
            return paths
        effect = write.effect
        if effect is _Effect.FALSY_RESET and write.key in self._none_tests:
            effect = _Effect.SET
        if effect in (_Effect.NONE_RESET, _Effect.FALSY_RESET):
            return _Paths(False, paths.suspended, paths.muted)
        if paths.suspended is not None and self._guard.stale(write, self._compared):
            self._found(write.node, paths.suspended, write.key)
        return _DEAD

    def _found(self, node: cst.CSTNode, suspension: Suspension, key: str) -> None:
        if id(node) in self.findings:
            return
        where = describe(self.context, suspension)
        if self._check is None:
            message = _LOST_UPDATE.format(state=key, suspension=where)
        else:
            check = line_of(self.context, self._check.test)
            message = _CHECKED.format(state=key, check=check, suspension=where)
        self.findings[id(node)] = message

    def small_events(self, small: cst.BaseSmallStatement) -> Iterator[_Event]:
        if isinstance(small, cst.Assign):
            yield from self.expression(small.value)
            for target in small.targets:
                yield from self.writes(target.target, _assigned(small.value), small.value)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                yield from self.expression(small.value)
                yield from self.writes(small.target, _assigned(small.value), small.value)
        elif isinstance(small, cst.AugAssign):
            yield from self.expression(small.value)
            yield from self.writes(small.target, _SET)
        elif isinstance(small, cst.Del):
            yield from self.writes(small.target, _Effect.CONSUME)
        elif isinstance(small, cst.Assert):
            for event in self.expression(small.test):
                yield _Read(event.keys, True) if isinstance(event, _Read) else event
        elif isinstance(small, (cst.Expr, cst.Return, cst.Raise)):
            value = small.exc if isinstance(small, cst.Raise) else small.value
            if value is not None:
                yield from self.expression(value)

    def writes(
        self,
        target: cst.BaseExpression,
        effect: _Effect,
        value: cst.BaseExpression | None = None,
    ) -> Iterator[_Write]:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                yield from self.writes(element.value, _SET)
            return
        if isinstance(target, cst.StarredElement):
            yield from self.writes(target.value, _SET)
            return
        if isinstance(target, cst.Subscript):
            key = self.key(target.value)
            effect, value = (_SET if effect is not _Effect.CONSUME else effect), None
        else:
            key = self.key(target)
        if key is not None:
            code = None if value is None else self.context.code(value)
            yield _Write(key, target, effect, code)

    def expression(self, expr: cst.CSTNode, conditional: bool = False) -> Iterator[_Event]:
        """Suspensions, reads and writes of `expr`, in evaluation order (by exact node
        types: called for every node of the function, where ``isinstance`` is slow)."""
        kind = type(expr)
        if kind is cst.Lambda:
            return
        if kind in _COMPREHENSION_TYPES:
            yield from (node for node in walk(expr) if is_suspension(node))
            return
        chain = kind is cst.Name or kind is cst.Attribute
        if chain and isinstance(expr, (cst.Name, cst.Attribute)) and dotted_name(expr) is not None:
            keys = frozenset(self.reads_of(expr))
            if keys:
                yield _Read(keys, conditional)
            return
        if type(expr) is cst.Await:
            # What the awaited call is given is its input, not a check: `self.run =
            # await self.reload(self.run)` refreshes the state rather than racing on it.
            inner = self.expression(expr.expression)
            yield from (event for event in inner if not isinstance(event, _Read))
            yield expr
            return
        if type(expr) is cst.Call:
            yield from self.expression(expr.func)
            for arg in expr.args:
                yield from self.expression(arg.value)
            yield from self.mutation(expr)
            return
        if type(expr) is cst.BooleanOperation:
            yield from self.expression(expr.left, conditional=True)
            yield from self.expression(expr.right, conditional)
            return
        if type(expr) is cst.IfExp:
            yield from self.expression(expr.test, conditional=True)
            yield from self.expression(expr.body)
            yield from self.expression(expr.orelse)
            return
        for child in children(expr):
            yield from self.expression(child, conditional)

    def mutation(self, call: cst.Call) -> Iterator[_Write]:
        func = call.func
        if not isinstance(func, cst.Attribute):
            return
        effect = _MUTATORS.get(func.attr.value)
        if func.attr.value == "pop" and len(call.args) < 2:
            effect = _Effect.CONSUME
        key = self.key(func.value)
        if effect is not None and key is not None:
            yield _Write(key, call, effect)

    # -- what is shared state ----------------------------------------------------------

    def reads(self, expr: cst.BaseExpression) -> Iterator[str]:
        for event in self.expression(expr):
            if isinstance(event, _Read):
                yield from event.keys

    def reads_of(self, chain: cst.Name | cst.Attribute) -> Iterator[str]:
        """The state keys a Name/Attribute chain reads: itself and its prefixes."""
        expr: cst.BaseExpression = chain
        while True:
            key = self.key(expr)
            if key is not None:
                yield key
            if not isinstance(expr, cst.Attribute):
                return
            expr = expr.value

    def key(self, expr: cst.BaseExpression) -> str | None:
        """How `expr` names shared state (``self._cache``, ``_seen``, ``Registry.names``),
        or None when it is local or not a plain name/attribute chain."""
        if id(expr) not in self._key_of:
            self._key_of[id(expr)] = self._key(expr)
        return self._key_of[id(expr)]

    def _key(self, expr: cst.BaseExpression) -> str | None:
        name = dotted_name(expr)
        if name is None:
            return None
        root = name.split(".", 1)[0]
        if "." in name and self._is_instance_or_class(root):
            return name
        return name if self._is_global(root) else None

    def _is_instance_or_class(self, root: str) -> bool:
        if self.context.resolver.class_of_self(root, self.scope) is not None:
            return True
        bindings = self.scope.lookup(root) or ()
        return bool(bindings) and all(
            binding.kind is BindingKind.CLASS and binding.scope.kind is ScopeKind.MODULE
            for binding in bindings
        )

    def _is_global(self, name: str) -> bool:
        """A module variable (not an import, function or class), or a mutable default."""
        if self.context.is_local(name):
            return self._is_mutable_default(name)
        bindings = self.scope.lookup(name) or ()
        return bool(bindings) and all(
            binding.kind in (BindingKind.ASSIGN, BindingKind.OTHER)
            and binding.scope.kind is ScopeKind.MODULE
            for binding in bindings
        )

    def _is_mutable_default(self, name: str) -> bool:
        bindings = self.scope.bindings.get(name, [])
        return len(bindings) == 1 and (
            isinstance(bindings[0].node, cst.Param)
            and isinstance(bindings[0].node.default, _MUTABLE_DEFAULTS)
        )


_COMPREHENSION_TYPES = frozenset([cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp])


def _statements(suite: cst.BaseSuite | cst.Else) -> Sequence[cst.BaseStatement]:
    if isinstance(suite, cst.Else):
        return _statements(suite.body)
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    assert isinstance(suite, cst.IndentedBlock)
    return suite.body


def _assigned(value: cst.BaseExpression) -> _Effect:
    """What assigning `value` does: a reset for ``None``, ``False``, ``0``, empty literals."""
    if _is_none(value):
        return _Effect.NONE_RESET
    empty = (
        (isinstance(value, cst.Name) and value.value == "False")
        or (isinstance(value, (cst.List, cst.Dict, cst.Set, cst.Tuple)) and not value.elements)
        or (isinstance(value, cst.Integer) and value.value == "0")
        or (isinstance(value, cst.SimpleString) and value.evaluated_value in ("", b""))
    )
    return _Effect.FALSY_RESET if empty else _Effect.SET


def _operands(test: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The parts of ``a and not (b or c)``: `a`, `b`, `c`."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        yield from _operands(test.expression)
    elif isinstance(test, cst.BooleanOperation):
        yield from _operands(test.left)
        yield from _operands(test.right)
    else:
        yield test


def _sides(polarity: _Polarity, side: int) -> tuple[frozenset[str], frozenset[str]]:
    """The keys present and the keys absent when the test is true (0) or false (1)."""
    present = frozenset(k for k, truth in polarity.items() if truth[side] is _Truth.PRESENT)
    absent = frozenset(k for k, truth in polarity.items() if truth[side] is _Truth.ABSENT)
    return present, absent


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _is_true(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def _says_lock(name: str | None) -> bool:
    last = (name or "").rsplit(".", 1)[-1].lower()
    return any(word in last for word in _LOCK_WORDS)


def _leaves(part: cst.BaseSuite | cst.If | cst.Else) -> bool:
    """True when every path through `part` ends in ``return``/``raise``/``continue``/
    ``break``, so the code after the enclosing statement runs only when it is skipped."""
    if isinstance(part, cst.If):
        return part.orelse is not None and _leaves(part.body) and _leaves(part.orelse)
    last = _statements(part)[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return isinstance(last.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))
    if isinstance(last, cst.If):
        return _leaves(last)
    if isinstance(last, cst.With):
        return _leaves(last.body)
    if isinstance(last, (cst.Try, cst.TryStar)):
        if last.finalbody is not None and _leaves(last.finalbody.body):
            return True
        completes = _leaves(last.body) or (last.orelse is not None and _leaves(last.orelse))
        return completes and all(_leaves(handler.body) for handler in last.handlers)
    return False


def _parts(statement: cst.BaseStatement) -> Iterator[cst.BaseSuite]:
    """The suites of a compound statement (``elif``/``else`` and handlers included)."""
    if isinstance(statement, (cst.If, cst.For, cst.While, cst.With, cst.Try, cst.TryStar)):
        yield statement.body
    if isinstance(statement, (cst.Try, cst.TryStar)):
        for handler in statement.handlers:
            yield handler.body
    orelse = getattr(statement, "orelse", None)
    if isinstance(orelse, cst.If):
        yield from _parts(orelse)
    elif isinstance(orelse, cst.Else):
        yield orelse.body
    finalbody = getattr(statement, "finalbody", None)
    if isinstance(finalbody, cst.Finally):
        yield finalbody.body
    if isinstance(statement, cst.Match):
        for case in statement.cases:
            yield case.body
