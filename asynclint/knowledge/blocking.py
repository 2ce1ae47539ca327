"""Blocking APIs: calls that stall the event loop thread, and what to use instead.

One table for the ASL301 to ASL305 rules and the runtime sanitizer, so both agree on what
blocks. Names are listed under every module path a user can import them from; types are
normalised to one canonical name. Each entry carries the rule code it belongs to and the
async replacement the message names.

Every table here is inert (:mod:`asynclint.knowledge`): only async code blocks the event
loop, and a sync function that blocks matters only to async callers.
"""

from __future__ import annotations

from dataclasses import dataclass

from asynclint.knowledge import inert_module

SLEEP = "ASL301"
HTTP = "ASL302"
SUBPROCESS = "ASL303"
FILE_IO = "ASL304"
SYNC_PRIMITIVE = "ASL305"

WITH = "with"
"""Pseudo-method: a ``with`` statement on the object blocks (entering or leaving it)."""
ITERATE = "for"
"""Pseudo-method: iterating the object with ``for`` blocks."""


@dataclass(frozen=True)
class Unless:
    """An argument that makes the call return at once.

    The call does not block when the argument (by `keyword`, or at `position` counting
    from the first argument after ``self``) is a false literal (``False``, ``0``,
    ``0.0``; ``None`` means "wait forever"), or, when `flag` is set, when that constant
    (a qualified name such as ``os.WNOHANG``) appears in it. An argument whose value is
    not known (a variable) leaves a switch such as ``blocking`` undecided, but a timeout
    still waits.
    """

    keyword: str
    position: int | None = None
    flag: str | None = None

    @property
    def is_timeout(self) -> bool:
        """A timeout waits for any value but zero; other arguments are on/off switches."""
        return self.keyword == "timeout"


@dataclass(frozen=True)
class Blocking:
    """What a blocking call is: its rule and the async replacement (Markdown)."""

    code: str
    instead: str
    unless: tuple[Unless, ...] = ()


# -- replacements -------------------------------------------------------------------------

_TO_THREAD = "`await asyncio.to_thread(...)`"
_HTTP = "an async HTTP client such as `aiohttp` or `httpx.AsyncClient`"
_SPAWN = "`await asyncio.create_subprocess_exec(...)` (or `create_subprocess_shell`)"
_FILE = f"an async file library (`aiofiles`, `anyio.open_file`) or {_TO_THREAD}"
_OS = f"{_TO_THREAD} (or `aiofiles.os`, `anyio.Path`)"
_SQLITE = f"`aiosqlite` or {_TO_THREAD}"
_DB = f"an async driver (`asyncpg`, `psycopg.AsyncConnection`, `aiomysql`) or {_TO_THREAD}"

_BLOCK_TIMEOUT = (Unless("blocking", 0), Unless("timeout", 1))
_TIMEOUT = (Unless("timeout", 0),)

# -- module functions ---------------------------------------------------------------------

_SLEEP = Blocking(SLEEP, "`await asyncio.sleep(...)`")
_REQUESTS = Blocking(HTTP, _HTTP)
_HTTPX = Blocking(HTTP, "`httpx.AsyncClient`")
_RUN = Blocking(SUBPROCESS, _SPAWN)
_OPEN = Blocking(FILE_IO, _FILE)
_DISK = Blocking(FILE_IO, _OS)
_DB_CONNECT = (
    "psycopg2.connect",
    "psycopg.connect",
    "psycopg.Connection.connect",
    "pymysql.connect",
    "pymysql.Connect",
    "pymysql.connections.Connection",
    "MySQLdb.connect",
    "MySQLdb.Connect",
    "mysql.connector.connect",
    "pymssql.connect",
    "oracledb.connect",
    "cx_Oracle.connect",
)
"""Sync DB-API drivers' connect functions (each returns a connection)."""
_HTTP_VERBS = ("get", "options", "head", "post", "put", "patch", "delete", "request")

FUNCTIONS: dict[str, Blocking] = {
    "time.sleep": _SLEEP,
    # HTTP
    **{
        f"{module}.{verb}": _REQUESTS
        for module in ("requests", "requests.api")
        for verb in _HTTP_VERBS
    },
    **{f"httpx.{verb}": _HTTPX for verb in (*_HTTP_VERBS, "stream")},
    **dict.fromkeys(
        ["urllib.request.urlopen", "urllib.request.urlretrieve", "urllib3.request"], _REQUESTS
    ),
    # processes
    **dict.fromkeys(
        [
            *(
                f"subprocess.{name}"
                for name in (
                    "run",
                    "call",
                    "check_call",
                    "check_output",
                    "getoutput",
                    "getstatusoutput",
                    "Popen",
                )
            ),
            "os.system",
            "os.popen",
            "os.posix_spawn",
            "os.posix_spawnp",
            *(f"os.spawn{suffix}" for suffix in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")),
        ],
        _RUN,
    ),
    "os.wait": Blocking(SUBPROCESS, _TO_THREAD),
    "os.wait3": Blocking(SUBPROCESS, _TO_THREAD, (Unless("options", 0, "os.WNOHANG"),)),
    "os.wait4": Blocking(SUBPROCESS, _TO_THREAD, (Unless("options", 1, "os.WNOHANG"),)),
    "os.waitpid": Blocking(SUBPROCESS, _TO_THREAD, (Unless("options", 1, "os.WNOHANG"),)),
    "os.waitid": Blocking(SUBPROCESS, _TO_THREAD, (Unless("options", 2, "os.WNOHANG"),)),
    # files
    **dict.fromkeys(
        [
            "builtins.open",
            "io.open",
            "io.open_code",
            "codecs.open",
            "os.open",
            "os.fdopen",
            "gzip.open",
            "bz2.open",
            "lzma.open",
            "tempfile.TemporaryFile",
            "tempfile.NamedTemporaryFile",
            "tempfile.TemporaryDirectory",
            "tempfile.mkstemp",
            "tempfile.mkdtemp",
        ],
        _OPEN,
    ),
    **dict.fromkeys(
        [
            *(
                f"os.{name}"
                for name in (
                    "stat",
                    "lstat",
                    "listdir",
                    "scandir",
                    "walk",
                    "remove",
                    "unlink",
                    "rename",
                    "renames",
                    "replace",
                    "mkdir",
                    "makedirs",
                    "rmdir",
                    "removedirs",
                    "chmod",
                    "chown",
                    "lchown",
                    "utime",
                    "truncate",
                    "link",
                    "symlink",
                    "readlink",
                    "access",
                    "statvfs",
                    "fsync",
                    "fdatasync",
                )
            ),
            *(
                f"os.path.{name}"
                for name in (
                    "exists",
                    "lexists",
                    "isfile",
                    "isdir",
                    "islink",
                    "ismount",
                    "isjunction",
                    "getsize",
                    "getmtime",
                    "getatime",
                    "getctime",
                    "samefile",
                    "sameopenfile",
                    "realpath",
                )
            ),
            *(
                f"shutil.{name}"
                for name in (
                    "copy",
                    "copy2",
                    "copyfile",
                    "copyfileobj",
                    "copymode",
                    "copystat",
                    "copytree",
                    "rmtree",
                    "move",
                    "chown",
                    "disk_usage",
                    "make_archive",
                    "unpack_archive",
                    "which",
                )
            ),
            "glob.glob",
            "glob.iglob",
        ],
        _DISK,
    ),
    # threads, queues, sockets, databases, the terminal
    **dict.fromkeys(
        ["concurrent.futures.wait", "concurrent.futures.as_completed"],
        Blocking(
            SYNC_PRIMITIVE,
            "`asyncio.wait(...)` or `asyncio.as_completed(...)` on `asyncio.wrap_future(...)`",
        ),
    ),
    **dict.fromkeys(["builtins.input", "getpass.getpass"], Blocking(SYNC_PRIMITIVE, _TO_THREAD)),
    **dict.fromkeys(
        ["socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"],
        Blocking(SYNC_PRIMITIVE, "`await loop.getaddrinfo(...)`"),
    ),
    "socket.getnameinfo": Blocking(SYNC_PRIMITIVE, "`await loop.getnameinfo(...)`"),
    **dict.fromkeys(
        ["socket.gethostbyaddr", "socket.getfqdn"], Blocking(SYNC_PRIMITIVE, _TO_THREAD)
    ),
    "socket.create_connection": Blocking(SYNC_PRIMITIVE, "`await asyncio.open_connection(...)`"),
    "sqlite3.connect": Blocking(SYNC_PRIMITIVE, _SQLITE),
    **dict.fromkeys(_DB_CONNECT, Blocking(SYNC_PRIMITIVE, _DB)),
}
"""Blocking module-level functions and constructors, by qualified name."""

# -- types --------------------------------------------------------------------------------

LOCK = "threading.Lock"
SEMAPHORE = "threading.Semaphore"
CONDITION = "threading.Condition"
EVENT = "threading.Event"
BARRIER = "threading.Barrier"
THREAD = "threading.Thread"
QUEUE = "queue.Queue"
SIMPLE_QUEUE = "queue.SimpleQueue"
FUTURE = "concurrent.futures.Future"
EXECUTOR = "concurrent.futures.Executor"
SOCKET = "socket.socket"
SQLITE_CONNECTION = "sqlite3.Connection"
SQLITE_CURSOR = "sqlite3.Cursor"
DB_CONNECTION = "dbapi.Connection"
DB_CURSOR = "dbapi.Cursor"
FILE = "io.IOBase"
"""A file object opened on the file system (``typing.IO`` annotations are left out: they
are as often in-memory buffers)."""
PATH = "pathlib.Path"
POPEN = "subprocess.Popen"
REQUESTS_SESSION = "requests.Session"
HTTPX_CLIENT = "httpx.Client"
URLLIB3_POOL = "urllib3.PoolManager"
HTTP_CONNECTION = "http.client.HTTPConnection"

TYPE_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        [
            "threading.Lock",
            "threading.RLock",
            "_thread.allocate_lock",
            "_thread.LockType",
            "multiprocessing.Lock",
            "multiprocessing.RLock",
        ],
        LOCK,
    ),
    **dict.fromkeys(
        [
            "threading.Semaphore",
            "threading.BoundedSemaphore",
            "multiprocessing.Semaphore",
            "multiprocessing.BoundedSemaphore",
        ],
        SEMAPHORE,
    ),
    **dict.fromkeys(["threading.Condition", "multiprocessing.Condition"], CONDITION),
    **dict.fromkeys(["threading.Event", "multiprocessing.Event"], EVENT),
    **dict.fromkeys(["threading.Barrier", "multiprocessing.Barrier"], BARRIER),
    **dict.fromkeys(["threading.Thread", "threading.Timer", "multiprocessing.Process"], THREAD),
    **dict.fromkeys(
        [
            "queue.Queue",
            "queue.LifoQueue",
            "queue.PriorityQueue",
            "multiprocessing.Queue",
            "multiprocessing.JoinableQueue",
            "multiprocessing.queues.Queue",
            "multiprocessing.queues.JoinableQueue",
        ],
        QUEUE,
    ),
    **dict.fromkeys(
        ["queue.SimpleQueue", "multiprocessing.SimpleQueue", "multiprocessing.queues.SimpleQueue"],
        SIMPLE_QUEUE,
    ),
    **dict.fromkeys(["concurrent.futures.Future", "concurrent.futures._base.Future"], FUTURE),
    **dict.fromkeys(
        [
            "concurrent.futures.Executor",
            "concurrent.futures.ThreadPoolExecutor",
            "concurrent.futures.ProcessPoolExecutor",
            "concurrent.futures.thread.ThreadPoolExecutor",
            "concurrent.futures.process.ProcessPoolExecutor",
        ],
        EXECUTOR,
    ),
    **dict.fromkeys(["socket.socket", "socket.SocketType"], SOCKET),
    "sqlite3.Connection": SQLITE_CONNECTION,
    "sqlite3.Cursor": SQLITE_CURSOR,
    **dict.fromkeys(
        [
            "io.TextIOWrapper",
            "io.BufferedReader",
            "io.BufferedWriter",
            "io.BufferedRandom",
            "io.FileIO",
        ],
        FILE,
    ),
    **dict.fromkeys(["pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"], PATH),
    "subprocess.Popen": POPEN,
    **dict.fromkeys(["requests.Session", "requests.sessions.Session"], REQUESTS_SESSION),
    "httpx.Client": HTTPX_CLIENT,
    **dict.fromkeys(
        [
            "urllib3.PoolManager",
            "urllib3.ProxyManager",
            "urllib3.HTTPConnectionPool",
            "urllib3.HTTPSConnectionPool",
            "urllib3.poolmanager.PoolManager",
            "urllib3.poolmanager.ProxyManager",
            "urllib3.connectionpool.HTTPConnectionPool",
            "urllib3.connectionpool.HTTPSConnectionPool",
        ],
        URLLIB3_POOL,
    ),
    **dict.fromkeys(["http.client.HTTPConnection", "http.client.HTTPSConnection"], HTTP_CONNECTION),
}
"""Class names (as imported) to the canonical type whose methods block."""

RETURN_TYPES: dict[str, str] = {
    **dict.fromkeys(
        [
            "builtins.open",
            "io.open",
            "io.open_code",
            "codecs.open",
            "os.fdopen",
            "gzip.open",
            "bz2.open",
            "lzma.open",
            "tempfile.TemporaryFile",
            "tempfile.NamedTemporaryFile",
        ],
        FILE,
    ),
    "socket.create_connection": SOCKET,
    "sqlite3.connect": SQLITE_CONNECTION,
    **dict.fromkeys(_DB_CONNECT, DB_CONNECTION),
    "requests.session": REQUESTS_SESSION,
    "urllib3.connection_from_url": URLLIB3_POOL,
    "asyncio.run_coroutine_threadsafe": FUTURE,
    "asyncio.tasks.run_coroutine_threadsafe": FUTURE,
    **dict.fromkeys(["pathlib.Path.home", "pathlib.Path.cwd"], PATH),
}
"""Functions whose call returns an instance of a known type."""

METHOD_RETURN_TYPES: dict[str, dict[str, str]] = {
    EXECUTOR: {"submit": FUTURE},
    SQLITE_CONNECTION: dict.fromkeys(["cursor", "execute", "executemany"], SQLITE_CURSOR),
    DB_CONNECTION: dict.fromkeys(["cursor", "execute"], DB_CURSOR),
    PATH: {
        "open": FILE,
        **dict.fromkeys(
            [
                "joinpath",
                "with_name",
                "with_stem",
                "with_suffix",
                "with_segments",
                "relative_to",
                "resolve",
                "absolute",
                "expanduser",
            ],
            PATH,
        ),
    },
}
"""Methods whose call returns an instance of a known type, by receiver type."""

ATTRIBUTE_TYPES: dict[str, dict[str, str]] = {PATH: {"parent": PATH}}
"""Attributes of a known type that are themselves of a known type."""

DIVISION_TYPES = frozenset([PATH])
"""Types whose ``/`` operator returns the same type (``path / "name"``)."""

SELF_RETURNING_CMS = frozenset(
    [
        FILE,
        SOCKET,
        SQLITE_CONNECTION,
        DB_CONNECTION,
        SQLITE_CURSOR,
        DB_CURSOR,
        EXECUTOR,
        POPEN,
        REQUESTS_SESSION,
        HTTPX_CLIENT,
        URLLIB3_POOL,
    ]
)
"""Types whose ``__enter__`` returns the object itself (``with X() as x``)."""

FRESH_NEVER_BLOCKS = frozenset([LOCK])
"""Types whose blocking methods return at once on an object created by the statement just
before: no other thread can hold a lock nobody else has seen yet."""

NON_BLOCKING_MODES: dict[str, frozenset[str]] = {SOCKET: frozenset(["setblocking", "settimeout"])}
"""Types that only block in their default mode: calling one of these methods on the
object switches the mode, so its other calls are no longer known to block."""

_LOCK = "`asyncio.Lock`, or " + _TO_THREAD + " when threads share the lock"
_QUEUE = "`asyncio.Queue`, or " + _TO_THREAD + " when threads share the queue"
_PATH = "`anyio.Path` or " + _TO_THREAD
_FILE_OBJECT = "an async file object (`aiofiles`, `anyio.wrap_file`) or " + _TO_THREAD
_PROCESS = "`await process.wait()`/`communicate()` on `asyncio.create_subprocess_exec(...)`"
_SOCKET = "`asyncio.open_connection(...)` streams or the `loop.sock_*` methods"


def _methods(names: str, entry: Blocking) -> dict[str, Blocking]:
    return dict.fromkeys(names.split(), entry)


METHODS: dict[str, dict[str, Blocking]] = {
    LOCK: _methods(f"acquire {WITH}", Blocking(SYNC_PRIMITIVE, _LOCK, _BLOCK_TIMEOUT)),
    SEMAPHORE: _methods(
        f"acquire {WITH}", Blocking(SYNC_PRIMITIVE, "`asyncio.Semaphore`", _BLOCK_TIMEOUT)
    ),
    CONDITION: {
        **_methods(f"acquire {WITH}", Blocking(SYNC_PRIMITIVE, _LOCK, _BLOCK_TIMEOUT)),
        "wait": Blocking(SYNC_PRIMITIVE, "`asyncio.Condition`", _TIMEOUT),
        "wait_for": Blocking(SYNC_PRIMITIVE, "`asyncio.Condition`", (Unless("timeout", 1),)),
    },
    EVENT: {
        "wait": Blocking(
            SYNC_PRIMITIVE,
            "`asyncio.Event`, or " + _TO_THREAD + " when another thread sets it",
            _TIMEOUT,
        )
    },
    BARRIER: {"wait": Blocking(SYNC_PRIMITIVE, "`asyncio.Barrier`", _TIMEOUT)},
    THREAD: {"join": Blocking(SYNC_PRIMITIVE, _TO_THREAD, _TIMEOUT)},
    QUEUE: {
        "get": Blocking(SYNC_PRIMITIVE, _QUEUE, (Unless("block", 0), Unless("timeout", 1))),
        "put": Blocking(SYNC_PRIMITIVE, _QUEUE, (Unless("block", 1), Unless("timeout", 2))),
        "join": Blocking(SYNC_PRIMITIVE, _QUEUE),
    },
    SIMPLE_QUEUE: {
        "get": Blocking(SYNC_PRIMITIVE, _QUEUE, (Unless("block", 0), Unless("timeout", 1)))
    },
    FUTURE: _methods(
        "result exception",
        Blocking(SYNC_PRIMITIVE, "`await asyncio.wrap_future(future)`", _TIMEOUT),
    ),
    EXECUTOR: {
        "shutdown": Blocking(SYNC_PRIMITIVE, _TO_THREAD, (Unless("wait", 0),)),
        WITH: Blocking(SYNC_PRIMITIVE, "`loop.run_in_executor(...)` with a long-lived executor"),
    },
    SOCKET: _methods(
        "accept connect recv recvfrom recv_into recvfrom_into recvmsg send sendall sendto "
        "sendmsg sendfile",
        Blocking(SYNC_PRIMITIVE, _SOCKET),
    ),
    SQLITE_CONNECTION: _methods(
        "execute executemany executescript commit rollback backup",
        Blocking(SYNC_PRIMITIVE, _SQLITE),
    ),
    SQLITE_CURSOR: _methods(
        "execute executemany executescript fetchone fetchmany fetchall",
        Blocking(SYNC_PRIMITIVE, _SQLITE),
    ),
    DB_CONNECTION: _methods("execute commit rollback", Blocking(SYNC_PRIMITIVE, _DB)),
    DB_CURSOR: _methods(
        "execute executemany fetchone fetchmany fetchall callproc",
        Blocking(SYNC_PRIMITIVE, _DB),
    ),
    FILE: _methods(
        f"read read1 readinto readline readlines write writelines flush truncate {ITERATE}",
        Blocking(FILE_IO, _FILE_OBJECT),
    ),
    PATH: _methods(
        "read_text read_bytes write_text write_bytes open exists is_dir is_file is_symlink "
        "is_mount is_socket is_fifo is_block_device is_char_device is_junction stat lstat "
        "owner group iterdir glob rglob walk mkdir rmdir unlink rename replace touch chmod "
        "lchmod symlink_to hardlink_to readlink samefile resolve",
        Blocking(FILE_IO, _PATH),
    ),
    POPEN: {
        "wait": Blocking(SUBPROCESS, _PROCESS, _TIMEOUT),
        "communicate": Blocking(SUBPROCESS, _PROCESS, (Unless("timeout", 1),)),
    },
    REQUESTS_SESSION: _methods(" ".join([*_HTTP_VERBS, "send"]), _REQUESTS),
    HTTPX_CLIENT: _methods(" ".join([*_HTTP_VERBS, "send", "stream"]), _HTTPX),
    URLLIB3_POOL: _methods("request urlopen request_encode_url request_encode_body", _REQUESTS),
    HTTP_CONNECTION: _methods("connect request getresponse endheaders", _REQUESTS),
}
"""Blocking methods by canonical receiver type (plus the ``with``/``for`` pseudo-methods)."""

inert_module(globals())
