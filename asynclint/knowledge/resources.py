"""Async resources and locks: what creates them, what closes them, and whether
``async with`` can manage them (ASL201, ASL202).

One table per question, keyed by qualified name or by a canonical type name, listed under
every module path a user can import them from. Plain data: the rules decide what a
missing close means.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Enter(enum.Enum):
    """How ``async with`` spells the resource a constructor makes."""

    VALUE = "value"
    """The creating expression as written: ``async with aiohttp.ClientSession() as s``,
    ``async with await anyio.open_file(path) as f``."""
    CALL = "call"
    """The call without its ``await``: ``conn = await aiosqlite.connect(path)`` becomes
    ``async with aiosqlite.connect(path) as conn``."""


@dataclass(frozen=True)
class Resource:
    noun: str
    """What messages call it."""
    closers: frozenset[str]
    """Methods that close it (a response whose body is read to the end has released its
    connection: ``read``/``text``/``json`` close it)."""
    close: str
    """The close messages suggest, with ``{}`` for the resource."""
    closed: str = "closed"
    """What happens to it when it is closed (``never {closed}``)."""
    left: str = "open"
    """What it stays when the close is skipped (``leaves x {left}``)."""
    consumers: frozenset[str] = frozenset()
    """Members whose use shows the resource is being drained to its end (a process's
    output, a response's body stream), which counts as handling it."""


@dataclass(frozen=True)
class Constructor:
    """A call that makes a resource."""

    resource: str
    """The canonical type of what it makes (a key of :data:`RESOURCES`)."""
    awaited: bool
    """The call is awaited to get the resource (``await asyncpg.connect(...)``)."""
    enter: Enter | None
    """How ``async with`` manages it, or None when it is not an async context manager."""
    element: int | None = None
    """The resource's position in the tuple the call returns (``open_connection``)."""
    owner_closer: str | None = None
    """A method of the receiver that takes the resource back (``pool.release(conn)``)."""
    closed_with_owner: bool = False
    """Closing the receiver closes the resource too (a session closes its responses)."""


SESSION = "aiohttp.ClientSession"
RESPONSE = "aiohttp.ClientResponse"
WRITER = "asyncio.StreamWriter"
PROCESS = "asyncio.subprocess.Process"
HTTPX_CLIENT = "httpx.AsyncClient"
ASYNCPG_CONNECTION = "asyncpg.Connection"
POOL = "database pool"
POOLED_CONNECTION = "pooled connection"
DB_CONNECTION = "database connection"
REDIS = "redis.asyncio.Redis"
ASYNC_FILE = "async file"
ANYIO_STREAM = "anyio.abc.SocketStream"

_AWAIT_CLOSE = "`await {}.close()`"

RESOURCES: dict[str, Resource] = {
    SESSION: Resource("client session", frozenset(["close"]), _AWAIT_CLOSE),
    RESPONSE: Resource(
        "response",
        frozenset(["release", "close", "read", "text", "json", "wait_for_close"]),
        "`{}.release()`",
        closed="released",
        left="holding its connection",
        consumers=frozenset(["content"]),
    ),
    WRITER: Resource("stream writer", frozenset(["close"]), "`{}.close()`"),
    PROCESS: Resource(
        "subprocess",
        frozenset(["wait", "communicate", "kill", "terminate"]),
        "`await {}.wait()`",
        closed="waited for",
        left="running",
        consumers=frozenset(["stdout", "stderr"]),
    ),
    HTTPX_CLIENT: Resource("HTTP client", frozenset(["aclose"]), "`await {}.aclose()`"),
    ASYNCPG_CONNECTION: Resource(
        "database connection", frozenset(["close", "terminate"]), _AWAIT_CLOSE
    ),
    DB_CONNECTION: Resource(
        "database connection", frozenset(["close", "ensure_closed"]), _AWAIT_CLOSE
    ),
    POOL: Resource(
        "connection pool", frozenset(["close", "terminate", "wait_closed"]), _AWAIT_CLOSE
    ),
    POOLED_CONNECTION: Resource(
        "pooled connection",
        frozenset(),
        "the pool's `release({})`",
        closed="released",
        left="checked out",
    ),
    REDIS: Resource("Redis client", frozenset(["aclose", "close"]), "`await {}.aclose()`"),
    ASYNC_FILE: Resource("async file", frozenset(["close", "aclose"]), _AWAIT_CLOSE),
    ANYIO_STREAM: Resource("socket stream", frozenset(["aclose"]), "`await {}.aclose()`"),
}
"""Canonical resource types."""


def _all(names: list[str], constructor: Constructor) -> dict[str, Constructor]:
    return dict.fromkeys(names, constructor)


CONSTRUCTORS: dict[str, Constructor] = {
    **_all(
        ["aiohttp.ClientSession", "aiohttp.client.ClientSession"],
        Constructor(SESSION, awaited=False, enter=Enter.VALUE),
    ),
    **_all(
        [
            "asyncio.open_connection",
            "asyncio.streams.open_connection",
            "asyncio.open_unix_connection",
            "asyncio.streams.open_unix_connection",
        ],
        Constructor(WRITER, awaited=True, enter=None, element=1),
    ),
    **_all(
        [
            "asyncio.create_subprocess_exec",
            "asyncio.create_subprocess_shell",
            "asyncio.subprocess.create_subprocess_exec",
            "asyncio.subprocess.create_subprocess_shell",
        ],
        Constructor(PROCESS, awaited=True, enter=None),
    ),
    **_all(
        ["httpx.AsyncClient", "httpx._client.AsyncClient"],
        Constructor(HTTPX_CLIENT, awaited=False, enter=Enter.VALUE),
    ),
    **_all(
        ["asyncpg.connect", "asyncpg.connection.connect"],
        Constructor(ASYNCPG_CONNECTION, awaited=True, enter=None),
    ),
    **_all(
        [
            "asyncpg.create_pool",
            "asyncpg.pool.create_pool",
            "aiomysql.create_pool",
            "aiomysql.pool.create_pool",
            "aiopg.create_pool",
            "aiopg.pool.create_pool",
        ],
        Constructor(POOL, awaited=True, enter=Enter.CALL),
    ),
    **_all(
        [
            "aiosqlite.connect",
            "aiosqlite.core.connect",
            "aiomysql.connect",
            "aiomysql.connection.connect",
            "aiopg.connect",
            "aiopg.connection.connect",
        ],
        Constructor(DB_CONNECTION, awaited=True, enter=Enter.CALL),
    ),
    **_all(
        [
            "redis.asyncio.Redis",
            "redis.asyncio.StrictRedis",
            "redis.asyncio.client.Redis",
            "redis.asyncio.from_url",
            "redis.asyncio.Redis.from_url",
            "redis.asyncio.utils.from_url",
            "aioredis.Redis",
            "aioredis.from_url",
        ],
        Constructor(REDIS, awaited=False, enter=Enter.VALUE),
    ),
    **_all(
        ["aiofiles.open", "aiofiles.threadpool.open"],
        Constructor(ASYNC_FILE, awaited=True, enter=Enter.CALL),
    ),
    "anyio.open_file": Constructor(ASYNC_FILE, awaited=True, enter=Enter.VALUE),
    **_all(
        ["anyio.connect_tcp", "anyio.connect_unix"],
        Constructor(ANYIO_STREAM, awaited=True, enter=Enter.VALUE),
    ),
}
"""Calls that make a resource, by qualified name."""

_REQUEST = Constructor(RESPONSE, awaited=True, enter=Enter.CALL, closed_with_owner=True)
_CHECK_OUT = Constructor(POOLED_CONNECTION, awaited=True, enter=Enter.CALL, owner_closer="release")

FACTORY_METHODS: dict[str, dict[str, Constructor]] = {
    SESSION: dict.fromkeys(
        ["get", "post", "put", "patch", "delete", "head", "options", "request"], _REQUEST
    ),
    POOL: {"acquire": _CHECK_OUT},
}
"""Methods of a resource that make another resource: owner type -> method -> what it makes."""

OWNER_CLASSES: dict[str, str] = {
    **dict.fromkeys(["aiohttp.ClientSession", "aiohttp.client.ClientSession"], SESSION),
    **dict.fromkeys(
        [
            "asyncpg.Pool",
            "asyncpg.pool.Pool",
            "aiomysql.Pool",
            "aiomysql.pool.Pool",
            "aiopg.Pool",
            "aiopg.pool.Pool",
        ],
        POOL,
    ),
}
"""Class names (in annotations) of the resources that have :data:`FACTORY_METHODS`."""

LOCKS = frozenset(
    [
        "asyncio.Lock",
        "asyncio.Semaphore",
        "asyncio.BoundedSemaphore",
        "asyncio.Condition",
        "anyio.Lock",
        "anyio.Semaphore",
        "anyio.Condition",
        "anyio.CapacityLimiter",
    ]
)
"""Canonical lock types: ``await x.acquire()`` is undone by ``x.release()``, and
``async with x:`` does both."""

LOCK_CLASSES = frozenset(
    ["anyio.Lock", "anyio.Semaphore", "anyio.Condition", "anyio.CapacityLimiter"]
)
"""Lock classes the resolver does not know (it knows asyncio's), named as imported."""

ACQUIRE = "acquire"
RELEASE = "release"

ACQUIRE_WRAPPERS = frozenset(["asyncio.wait_for", "asyncio.tasks.wait_for"])
"""``await asyncio.wait_for(lock.acquire(), timeout)`` acquires the lock too."""
