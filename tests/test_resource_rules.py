"""Exact messages and fixes of the resource rules ASL201 and ASL202.

The shared rule test pins where these rules report; this pins what they say, when ASL201
offers its `async with` fix, and that the fix keeps comments, indentation and line endings.
"""

from __future__ import annotations

import inspect

import pytest

from asynclint.diagnostic import Applicability
from asynclint.engine import check_source
from asynclint.registry import get_rule
from asynclint.testing import apply_fixes


def _findings(code: str, source: str) -> list[tuple[int, str, bool]]:
    text = inspect.cleandoc(source) + "\n"
    return [(d.line, d.message, d.fix is not None) for d in check_source(text, "t.py", {code})]


def _fixed(source: str) -> str:
    text, problems = apply_fixes(get_rule("ASL201"), "t.py", source, {})
    assert problems == []
    return text


@pytest.mark.parametrize(
    ("handler", "hazard"),
    [
        ("except Exception:", "a cancellation at `await conn.send(data)`"),
        ("except asyncio.CancelledError:", "an exception at `await conn.send(data)`"),
        (
            "except (ValueError, OSError):",
            "a cancellation or an exception at `await conn.send(data)`",
        ),
    ],
)
def test_asl201_names_what_the_handler_lets_through(handler: str, hazard: str) -> None:
    source = f"""
        import asyncio

        async def send(lock: asyncio.Lock, conn, data):
            await lock.acquire()
            try:
                await conn.send(data)
            {handler}
                lock.release()
                raise
            lock.release()
    """
    assert _findings("ASL201", source) == [
        (
            4,
            f"`lock.release()` is not in a `finally`: {hazard} skips it and leaves `lock` held",
            False,
        )
    ]


def test_asl201_names_the_raise_the_async_with_and_what_is_left() -> None:
    source = """
        import asyncio
        import asyncpg

        async def check(lock: asyncio.Lock, ok):
            await lock.acquire()
            if not ok:
                raise ValueError(ok)
            lock.release()

        async def query(pool: asyncpg.Pool, session):
            conn = await pool.acquire()
            async with session.get("/") as response:
                await conn.execute(await response.text())
            await pool.release(conn)

        async def run(cmd):
            proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.PIPE)
            await proc.stdin.drain()
            await proc.wait()
    """
    assert _findings("ASL201", source) == [
        (
            5,
            "`lock.release()` is not in a `finally`: `raise ValueError(ok)` skips it and "
            "leaves `lock` held",
            True,
        ),
        (
            11,
            "`pool.release(conn)` is not in a `finally`: a cancellation or an exception at "
            '`async with session.get("/") as response` skips it and leaves `conn` checked out',
            True,
        ),
        (
            17,
            "`proc.wait()` is not in a `finally`: a cancellation or an exception at "
            "`await proc.stdin.drain()` skips it and leaves `proc` running",
            False,
        ),
    ]


def test_asl201_fix_is_safe_and_titled() -> None:
    source = (
        "import asyncio\n\nasync def f(lock: asyncio.Lock):\n"
        "    await lock.acquire()\n    await asyncio.sleep(0)\n    lock.release()\n"
    )
    [diagnostic] = check_source(source, "t.py", {"ASL201"})
    assert diagnostic.fix is not None
    assert diagnostic.fix.applicability is Applicability.SAFE
    assert diagnostic.fix.title == "Use `async with` instead of the acquire/release pair"


def test_asl201_fix_keeps_comments_and_the_statements_around() -> None:
    source = inspect.cleandoc(
        """
        import asyncio


        class Store:
            lock = asyncio.Lock()

            async def save(self, items):
                # count first
                count = 0
                # then hold the lock
                await self.lock.acquire()  # one writer
                for item in items:
                    await item.save()  # may be slow
                    # next item
                count += 1
                self.lock.release()
                if count:
                    print(count)  # done
                    # nothing else
                # end of method
        """
    )
    assert (
        _fixed(source + "\n")
        == inspect.cleandoc(
            """
        import asyncio


        class Store:
            lock = asyncio.Lock()

            async def save(self, items):
                # count first
                count = 0
                # then hold the lock
                async with self.lock:  # one writer
                    for item in items:
                        await item.save()  # may be slow
                        # next item
                    count += 1
                if count:
                    print(count)  # done
                    # nothing else
                # end of method
        """
        )
        + "\n"
    )


def test_asl201_fix_keeps_tabs_and_crlf() -> None:
    source = (
        "import asyncio\r\n\r\nasync def f(lock: asyncio.Lock):\r\n"
        "\tx = 1\r\n\tawait lock.acquire()\r\n\tawait asyncio.sleep(x)\r\n\tlock.release()\r\n"
        "\treturn x\r\n"
    )
    assert _fixed(source) == (
        "import asyncio\r\n\r\nasync def f(lock: asyncio.Lock):\r\n"
        "\tx = 1\r\n\tasync with lock:\r\n\t\tawait asyncio.sleep(x)\r\n\treturn x\r\n"
    )


@pytest.mark.parametrize(
    "pair",
    [
        # the release carries a comment that would be lost
        "await lock.acquire()\n    await asyncio.sleep(0)\n    lock.release()  # done",
        # a return between would now release the lock
        "await lock.acquire()\n    if x:\n        return await asyncio.sleep(0)\n"
        "    await asyncio.sleep(0)\n    lock.release()",
        # a timeout on the acquire has no `async with` spelling
        "await asyncio.wait_for(lock.acquire(), 1)\n    await asyncio.sleep(0)\n    lock.release()",
        # the body rebinds the lock
        "await lock.acquire()\n    lock = asyncio.Lock()\n    await asyncio.sleep(0)\n"
        "    lock.release()",
        # the release is not in the same block
        "await lock.acquire()\n    if x:\n        await asyncio.sleep(0)\n        lock.release()",
    ],
)
def test_asl201_no_fix_when_async_with_would_change_behaviour(pair: str) -> None:
    source = f"import asyncio\n\nasync def f(lock: asyncio.Lock, x):\n    {pair}\n"
    [diagnostic] = check_source(source, "t.py", {"ASL201"})
    assert diagnostic.fix is None


def test_asl202_messages() -> None:
    source = """
        import asyncio
        import aiohttp

        async def never(url):
            session = aiohttp.ClientSession()
            await session.get(url)

        async def some_paths(host, quick):
            reader, writer = await asyncio.open_connection(host, 80)
            if quick:
                return None
            writer.close()

        async def dropped(cmd):
            await asyncio.create_subprocess_shell(cmd)
    """
    assert _findings("ASL202", source) == [
        (
            5,
            "`session` (client session from `aiohttp.ClientSession(...)`) is never closed; "
            "use `async with`, or call `await session.close()` in a `finally`",
            False,
        ),
        (
            9,
            "`writer` (stream writer from `asyncio.open_connection(...)`) is not closed on "
            "every path; call `writer.close()` in a `finally`",
            False,
        ),
        (
            15,
            "the subprocess from `asyncio.create_subprocess_shell(...)` is dropped without "
            "being waited for",
            False,
        ),
    ]


def test_asl202_pooled_connection_and_response_messages() -> None:
    source = """
        import aiohttp
        import asyncpg

        async def pooled(pool: "asyncpg.Pool | None"):
            conn = await pool.acquire()
            await conn.execute("SELECT 1")

        async def status(session: aiohttp.ClientSession, url):
            response = await session.get(url)
            return response.status
    """
    assert _findings("ASL202", source) == [
        (
            5,
            "`conn` (pooled connection from `pool.acquire(...)`) is never released; "
            "use `async with`, or call the pool's `release(conn)` in a `finally`",
            False,
        ),
        (
            9,
            "`response` (response from `session.get(...)`) is never released; "
            "use `async with`, or call `response.release()` in a `finally`",
            False,
        ),
    ]
