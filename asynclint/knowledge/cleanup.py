"""What an awaited cleanup looks like, and what protects one from cancellation (ASL204).

Plain data: the verbs that name a cleanup, the scopes that shield their body from
cancellation, the awaits that never return (a ``try`` around one only ends by an
exception) and the waiting wrappers whose arguments are awaited with them.
"""

from __future__ import annotations

CLEANUP_VERBS = frozenset(
    [
        "aclose",
        "close",
        "commit",
        "cleanup",
        "disconnect",
        "dispose",
        "flush",
        "logout",
        "release",
        "rollback",
        "shutdown",
        "teardown",
        "unlock",
        "unsubscribe",
    ]
)
"""First word of a function or method name (after leading underscores and an ``async_``
prefix) that finishes with a resource: ``close``, ``_close_session``, ``async_disconnect``.

Left out on purpose: ``wait_closed`` and ``drain`` only wait for work the transport
finishes anyway, so interrupting them leaves nothing half-done; ``stop``, ``abort`` and
``kill`` name too many things that are not cleanups (timers, playback, animations)."""

SHIELDING_SCOPES = frozenset(
    [
        "anyio.CancelScope",
        "anyio.move_on_after",
        "anyio.fail_after",
        "trio.CancelScope",
        "trio.move_on_after",
        "trio.move_on_at",
        "trio.fail_after",
        "trio.fail_at",
    ]
)
"""Context managers whose body no cancellation reaches when given ``shield=True``."""

NEVER_RETURNING = frozenset(
    [
        "asyncio.Future",
        "asyncio.futures.Future",
        "anyio.sleep_forever",
        "trio.sleep_forever",
    ]
)
"""Awaitables (called by qualified name) that no one but a cancellation finishes."""

NEVER_RETURNING_METHODS = frozenset(["serve_forever", "sleep_forever"])
"""Methods awaited to run a server or service until it is cancelled."""

WAIT_FOR = frozenset(["asyncio.wait_for", "asyncio.tasks.wait_for"])
"""Wrappers that await their first argument (and cancel it when they are cancelled)."""

ASYNC_CONTEXT_MANAGER = frozenset(["contextlib.asynccontextmanager"])
"""Decorators turning an async generator into an async context manager: the code after its
``yield`` is that context manager's ``__aexit__``."""
