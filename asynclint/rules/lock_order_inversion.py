"""ASL404 lock-order-inversion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange

from asynclint import index
from asynclint.engine import source_lines
from asynclint.lockorder import LOCK_CLASSES, LockPair, LockRef
from asynclint.rule import Invalid, Rule, Valid

_MAX_BASES = 12


@dataclass(frozen=True, order=True)
class _Site:
    """Where a function acquires one lock while holding another; ordered by position."""

    module: str
    line: int
    column: int
    function: str
    via: tuple[str, ...]


@dataclass(frozen=True)
class _Nesting:
    outer: str
    inner: str
    site: _Site


class _Graph:
    """Every nesting of known locks in the modules in scope, keyed by (outer, inner) lock
    name: not in the modules read lazily, whose set depends on what was asked before."""

    def __init__(self, project: index.ProjectIndex) -> None:
        self.project = project
        self.labels: dict[str, str] = {}
        self.sites: dict[tuple[str, str], list[_Site]] = {}
        for name in sorted(project.indexed & project.modules.keys()):
            for nesting in self.nestings(name, project.modules[name].lock_pairs):
                self.sites.setdefault((nesting.outer, nesting.inner), []).append(nesting.site)
        self.involved = {
            site.module
            for (outer, inner), sites in self.sites.items()
            if (inner, outer) in self.sites
            for site in sites
        }

    def nestings(self, module: str, pairs: list[LockPair]) -> list[_Nesting]:
        found = []
        for pair in pairs:
            outer, inner = self.lock(pair.outer), self.lock(pair.inner)
            if outer is not None and inner is not None and outer != inner:
                site = _Site(module, pair.line, pair.column, pair.function, pair.via)
                found.append(_Nesting(outer, inner, site))
        return found

    def lock(self, ref: LockRef) -> str | None:
        """The lock's canonical name (its declaring class for an attribute), or None when
        the index cannot confirm it is a lock."""
        owner = ref.owner if ref.verified else self._declaring_class(ref.owner, ref.name, 0)
        if owner is None:
            return None
        key = f"{owner}.{ref.name}"
        self.labels[key] = f"{owner.rpartition('.')[2]}.{ref.name}" if ref.attribute else ref.name
        return key

    def _declaring_class(self, cls: str, attribute: str, hops: int) -> str | None:
        found = self.project.class_fact(cls)
        if found is None or hops > _MAX_BASES:
            return None
        canonical, fact = found
        if attribute in fact.attributes:
            return canonical if fact.attributes[attribute] in LOCK_CLASSES else None
        for base in fact.bases:
            owner = self._declaring_class(base, attribute, hops + 1)
            if owner is not None:
                return owner
        return None


def _graph(project: index.ProjectIndex) -> _Graph:
    return project.shared(_Graph, lambda: _Graph(project))


class LockOrderInversion(Rule):
    """
    ## What it does
    Flags two asyncio locks that the project acquires in opposite orders on two code
    paths: one function takes `a` and then, while holding it, `b`; another takes `b` and
    then `a`. The paths can be in different modules. The finding is reported once per pair
    of locks, at the later of the sites, and its message shows both paths.

    A lock is named by where it lives, a class attribute (`Service._lock`, whichever
    instance) or a module global, and only counts when its type is known: assigned
    `asyncio.Lock()` or `asyncio.Condition()` (or the `anyio`/`trio` equivalents) in a
    method, the class body or at module level, or annotated with one of them. Receivers are
    `self`, parameters annotated with a class of the project, and attributes of `self`
    whose class is known. Nesting is `async with a:` around `async with b:`,
    `async with a, b:`, and `await a.acquire()` up to `a.release()` (or the end of its
    block), including through awaited `async def`s of the same module
    (`async with a: await self._debit()` where `_debit` takes `b`).

    ## Why is this bad?
    When the two paths run concurrently, each task can hold its first lock and wait
    forever for the other's: a deadlock. Nothing raises; both tasks (and every task that
    later needs either lock) just hang, typically only under production load.

    ## Example
    ```python
    class Service:
        def __init__(self):
            self.accounts = asyncio.Lock()
            self.ledger = asyncio.Lock()

        async def transfer(self):
            async with self.accounts:
                async with self.ledger:
                    ...

        async def audit(self):
            async with self.ledger:
                async with self.accounts:
                    ...
    ```

    ## Use instead
    Acquire locks in one global order everywhere (or merge them into one lock):
    ```python
        async def audit(self):
            async with self.accounts:
                async with self.ledger:
                    ...
    ```

    ## Fix safety
    There is no automatic fix: which order is right depends on the code.

    ## Options
    None.
    """

    code = "ASL404"
    name = "lock-order-inversion"
    message = "locks `{first}` and `{second}` are acquired in opposite orders, which can deadlock: {paths}"
    async_only = True

    examples = (
        Invalid(
            """
            import asyncio

            class Service:
                def __init__(self):
                    self.a = asyncio.Lock()
                    self.b = asyncio.Lock()

                async def transfer(self):
                    async with self.a:
                        async with self.b:
                            pass

                async def refund(self):
                    async with self.b:
                        async with self.a:  # error: ASL404@24
                            pass
            """
        ),
        Invalid(
            {
                "pkg/__init__.py": "",
                "pkg/service.py": """
                    import asyncio as aio
                    from asyncio import Lock

                    class Service:
                        cache: Lock

                        def __init__(self):
                            self.cache = Lock()
                            self.db = aio.Lock()

                        async def load(self):
                            async with self.cache:
                                await self._query()  # error: ASL404@13

                        async def _query(self):
                            async with self.db:
                                pass
                    """,
                "pkg/admin.py": """
                    from .service import Service

                    async def flush(service: Service):
                        async with service.db, service.cache:
                            pass
                    """,
            }
        ),
        Invalid(
            {
                "app/__init__.py": "",
                "app/base.py": """
                    import anyio

                    class Base:
                        def __init__(self):
                            self.read_lock = anyio.Lock()
                            self.write_lock: anyio.Lock = anyio.Lock()
                    """,
                "app/store.py": """
                    from app.base import Base

                    class Store(Base):
                        async def read(self):
                            await self.read_lock.acquire()
                            try:
                                async with self.write_lock:
                                    pass
                            finally:
                                self.read_lock.release()

                        async def write(self):
                            async with self.write_lock:
                                async with self.read_lock:  # error: ASL404@24
                                    pass
                    """,
            }
        ),
        Invalid(
            """
            import asyncio
            from typing import Optional

            STATE_LOCK = asyncio.Lock()
            _io_lock: Optional[asyncio.Lock] = None

            async def save():
                global _io_lock
                _io_lock = asyncio.Lock()
                async with STATE_LOCK:
                    async with _io_lock:
                        pass

            async def load():
                await asyncio.wait_for(_io_lock.acquire(), 5)
                async with STATE_LOCK:  # error: ASL404@16
                    pass
                _io_lock.release()

            class Cache:
                def __init__(self) -> None:
                    self.lock = asyncio.Condition()
                    self.entries: "asyncio.Lock" = asyncio.Lock()

                async def get(self):
                    async def inner():
                        async with self.entries:
                            async with self.lock:
                                pass

                    await inner()

                async def put(self):
                    async with self.lock:
                        async with self.entries:  # error: ASL404@24
                            pass
            """
        ),
        Valid(
            """
            import asyncio

            class Service:
                def __init__(self):
                    self.a = asyncio.Lock()
                    self.b = asyncio.Lock()

                async def transfer(self):
                    async with self.a:
                        async with self.b:
                            pass

                async def refund(self):
                    async with self.a, self.b:
                        pass

                async def sequential(self):
                    async with self.b:
                        pass
                    async with self.a:
                        pass

                async def released(self):
                    await self.b.acquire()
                    try:
                        pass
                    finally:
                        self.b.release()
                    async with self.a:
                        pass

                async def background(self):
                    async with self.b:
                        asyncio.create_task(self.transfer())

                async def deferred(self):
                    async with self.b:
                        def later():
                            return self.a
                        callback = later
            """
        ),
        Valid(
            """
            import asyncio
            import threading

            class Mixed:
                def __init__(self, lock):
                    self.a = threading.Lock()
                    self.b = asyncio.Lock()
                    self.c = lock
                    self.d = asyncio.Semaphore(1)
                    self.e = asyncio.Lock() if lock else None
                    self.e = lock

                async def one(self):
                    async with self.b:
                        async with self.c:
                            async with self.d:
                                async with self.e:
                                    pass

                async def two(self):
                    async with self.e:
                        async with self.d:
                            async with self.c:
                                async with self.b:
                                    pass

                def sync(self):
                    with self.a:
                        with self.b:
                            pass
            """
        ),
        Valid(
            """
            import asyncio

            A = asyncio.Lock()
            B = asyncio.Lock()

            async def forward():
                async with A:
                    async with B:
                        pass

            async def shadowed(A):
                async with B:
                    async with A:
                        pass

            async def locals_only():
                a, b = asyncio.Lock(), asyncio.Lock()
                async with b:
                    async with a:
                        pass

            class Account:
                def __init__(self):
                    self.lock = asyncio.Lock()

            async def move(x: Account, y: Account):
                async with x.lock:
                    async with y.lock:
                        pass
            """
        ),
        Valid(
            {
                "pkg/__init__.py": "",
                "pkg/a.py": """
                    import asyncio

                    class First:
                        def __init__(self):
                            self.lock = asyncio.Lock()

                    class Second:
                        def __init__(self):
                            self.lock = asyncio.Lock()

                    async def one(f: First, s: Second):
                        async with f.lock:
                            async with s.lock:
                                pass
                    """,
                "pkg/b.py": """
                    from pkg.a import First, Second
                    from pkg.unknown import Third

                    async def two(f: First, s: Second, t: Third):
                        async with s.lock:
                            async with t.lock:
                                async with f.lock.child:
                                    pass
                    """,
            }
        ),
    )

    def visit_Module(self, node: cst.Module) -> None:
        self._pending: dict[int, list[str]] = {}
        resolver = self.context.resolver
        project = resolver.index
        graph = _graph(project)
        module = resolver.module
        if module in project.modules and module not in graph.involved:
            return
        facts = index.facts_for(self.context.path, node.code, module)
        if facts is None:
            return
        here = graph.nestings(module, facts.lock_pairs)
        reported: dict[_Site, list[str]] = {}
        for nesting in here:
            found = self._finding(graph, module, nesting, here)
            if found is not None and found[1] not in reported.get(found[0], []):
                reported.setdefault(found[0], []).append(found[1])
        if reported:
            self._pending = _nodes_at(node, self.context.positions, reported)

    def _finding(
        self, graph: _Graph, module: str, nesting: _Nesting, here: list[_Nesting]
    ) -> tuple[_Site, str] | None:
        """(where, message) when `nesting` is the later site of an inverted pair; the
        sites of this module come from its current text (`here`), not the index."""

        def sites(outer: str, inner: str) -> list[_Site]:
            elsewhere = [s for s in graph.sites.get((outer, inner), []) if s.module != module]
            return elsewhere + [n.site for n in here if (n.outer, n.inner) == (outer, inner)]

        forward = sites(nesting.outer, nesting.inner)
        backward = sites(nesting.inner, nesting.outer)
        if not backward:
            return None
        last = max(forward + backward)
        if last != nesting.site:
            return None
        first = min(backward)
        paths = "; ".join(
            [
                self._path(graph, nesting.inner, nesting.outer, first, module),
                self._path(graph, nesting.outer, nesting.inner, last, module),
            ]
        )
        first_lock, second_lock = sorted([graph.labels[nesting.outer], graph.labels[nesting.inner]])
        return last, self.message.format(first=first_lock, second=second_lock, paths=paths)

    def _path(self, graph: _Graph, outer: str, inner: str, site: _Site, module: str) -> str:
        where = f"line {site.line}" if site.module == module else f"{site.module}, line {site.line}"
        via = "".join(f", via `{step}`" for step in site.via[:1])
        via += "".join(f" → `{step}`" for step in site.via[1:])
        return (
            f"`{graph.labels[outer]}` → `{graph.labels[inner]}` in `{site.function}` ({where}{via})"
        )

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self._report_pending(node.item)

    def visit_Await(self, node: cst.Await) -> None:
        self._report_pending(node)

    def _report_pending(self, node: cst.CSTNode) -> None:
        for message in self._pending.pop(id(node), []):
            self.report(node, message)


def _nodes_at(
    module: cst.Module,
    positions: Mapping[cst.CSTNode, CodeRange],
    sites: dict[_Site, list[str]],
) -> dict[int, list[str]]:
    """The messages by node (``id``): the acquiring ``async with`` item or ``await`` at
    each site's line and ``ast`` column (UTF-8 bytes)."""
    lines = source_lines(module.code)
    wanted = {(site.line, site.column): messages for site, messages in sites.items()}
    found: dict[int, list[str]] = {}
    for node, where in positions.items():
        if not isinstance(node, (cst.Await, cst.BaseExpression)):
            continue
        start = where.start
        column = len(lines[start.line - 1][: start.column].encode())
        messages = wanted.get((start.line, column))
        if messages is not None:
            found.setdefault(id(node), []).extend(messages)
    return found
