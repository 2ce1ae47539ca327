"""Standard-library callables whose call returns a coroutine (or an awaitable that must be
awaited), by qualified name, and async methods by the canonical type of their receiver.

Shared by the static rules (ASL101, ASL103, ASL105) and the sanitizer. Plain data.
"""

from __future__ import annotations

from typing import Literal

from asynclint.knowledge import inert

COROUTINE_FUNCTIONS = frozenset(
    [
        "asyncio.sleep",
        "asyncio.wait",
        "asyncio.wait_for",
        "asyncio.to_thread",
        "asyncio.open_connection",
        "asyncio.open_unix_connection",
        "asyncio.start_server",
        "asyncio.start_unix_server",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "asyncio.staggered.staggered_race",
        "asyncio.tasks.sleep",
        "asyncio.tasks.wait",
        "asyncio.tasks.wait_for",
        "asyncio.threads.to_thread",
        "asyncio.streams.open_connection",
        "asyncio.streams.start_server",
        "asyncio.subprocess.create_subprocess_exec",
        "asyncio.subprocess.create_subprocess_shell",
    ]
)

ASYNC_METHODS: dict[str, frozenset[str]] = {
    "asyncio.Lock": frozenset(["acquire"]),
    "asyncio.Semaphore": frozenset(["acquire"]),
    "asyncio.BoundedSemaphore": frozenset(["acquire"]),
    "asyncio.Event": frozenset(["wait"]),
    "asyncio.Condition": frozenset(["acquire", "wait", "wait_for"]),
    "asyncio.Barrier": frozenset(["wait", "reset", "abort"]),
    "asyncio.Queue": frozenset(["get", "put", "join"]),
    "asyncio.PriorityQueue": frozenset(["get", "put", "join"]),
    "asyncio.LifoQueue": frozenset(["get", "put", "join"]),
    "asyncio.StreamWriter": frozenset(["drain", "wait_closed", "start_tls"]),
    "asyncio.StreamReader": frozenset(["read", "readline", "readexactly", "readuntil"]),
    "asyncio.AbstractEventLoop": frozenset(
        [
            "sock_recv",
            "sock_recv_into",
            "sock_recvfrom",
            "sock_sendall",
            "sock_sendto",
            "sock_connect",
            "sock_accept",
            "sock_sendfile",
            "create_connection",
            "create_server",
            "create_unix_connection",
            "create_unix_server",
            "create_datagram_endpoint",
            "connect_read_pipe",
            "connect_write_pipe",
            "subprocess_exec",
            "subprocess_shell",
            "getaddrinfo",
            "getnameinfo",
            "shutdown_asyncgens",
            "shutdown_default_executor",
            "sendfile",
            "start_tls",
        ]
    ),
}
"""Methods that are ``async def`` on instances of each canonical type."""

ASYNC_CLASSES: dict[str, str] = {
    **{name: name for name in ASYNC_METHODS},
    **{
        f"asyncio.{module}.{name.split('.')[1]}": name
        for module, names in {
            "locks": [
                "asyncio.Lock",
                "asyncio.Semaphore",
                "asyncio.BoundedSemaphore",
                "asyncio.Event",
                "asyncio.Condition",
                "asyncio.Barrier",
            ],
            "queues": ["asyncio.Queue", "asyncio.PriorityQueue", "asyncio.LifoQueue"],
            "streams": ["asyncio.StreamWriter", "asyncio.StreamReader"],
        }.items()
        for name in names
    },
}
"""Class names as imported (``asyncio.locks.Lock``) to their canonical type."""

TRANSPARENT_DECORATORS = inert(
    frozenset(
        [
            "builtins.staticmethod",
            "builtins.classmethod",
            "abc.abstractmethod",
            "typing.override",
            "typing_extensions.override",
            "typing.final",
            "functools.wraps",
        ]
    )
)
"""Decorators that return the function they decorate (or a wrapper with the same kind)."""

CACHING_DECORATORS = inert(frozenset(["functools.cache", "functools.lru_cache"]))
"""Decorators whose calls return what the function returns, or an earlier result: calls
keep their kind (a cached ``async def`` returns a coroutine), but the body does not run on
every call, so rules that follow what a call does treat them as opaque."""

Effect = Literal["async", "same", "sync"]
"""What a decorator does to calls of the function it decorates: they return a coroutine
(an ``async def`` wrapper), keep their kind (the function itself, or a wrapper returning
the call's result), or run to completion (a sync wrapper around ``asyncio.run``)."""

COROUTINE_TYPES = frozenset(
    [
        "typing.Coroutine",
        "typing.Awaitable",
        "collections.abc.Coroutine",
        "collections.abc.Awaitable",
        "types.CoroutineType",
    ]
)
"""Return annotations that make a call to a plain ``def`` produce a coroutine."""

SELF_TYPES = inert(frozenset(["typing.Self", "typing_extensions.Self"]))
"""The return annotation of a method returning its receiver."""
