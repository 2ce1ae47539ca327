"""ASL609 (opt-in): a method of a running loop that is not thread-safe, called from
another thread.

Only ``call_soon_threadsafe`` (and what is built on it: ``run_coroutine_threadsafe``,
executor callbacks) may reach a running loop from another thread; anything else can lose
the callback or corrupt the loop's queues, silently. The methods below are wrapped to
compare the calling thread with the one running the loop (``Future.set_result`` from a
thread is caught too: it schedules its callbacks with ``call_soon``). Wrapping
``call_soon`` taxes every callback, so the check is off unless the ``checks`` option
names it. Each call site is reported once.
"""

from __future__ import annotations

import sys
import threading
from asyncio import AbstractEventLoop
from collections.abc import Callable
from typing import Any

from asynclint.sanitizer import frames
from asynclint.sanitizer.checks import loops
from asynclint.sanitizer.core import Sanitizer
from asynclint.sanitizer.findings import Finding
from asynclint.sanitizer.patches import Patcher

_METHODS = (
    "call_soon",
    "call_later",
    "call_at",
    "create_task",
    "run_in_executor",
    "add_reader",
    "add_writer",
    "remove_reader",
    "remove_writer",
)
_UNKNOWN = object()


def install(san: Sanitizer, patcher: Patcher) -> None:
    if not san.enabled("ASL609"):
        return
    reported: set[object] = set()

    def check(loop: AbstractEventLoop, name: str) -> None:
        known: Any = getattr(loop, "_thread_id", _UNKNOWN)  # asyncio's; uvloop does not say
        owner: int | None = loops.running_in.get(loop) if known is _UNKNOWN else known
        if owner is None or owner == threading.get_ident():
            return
        site = frames.user_frames(frames.walk(sys._getframe(2)))
        key = site[0] if site else name
        if key in reported:
            return
        reported.add(key)
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        here = threading.current_thread().name
        san.emit(
            Finding(
                "ASL609",
                f"loop.{name}() of {type(loop).__name__} at {id(loop):#x}",
                site,
                detail=f"called from thread {here!r} while the loop runs in thread"
                f" {names.get(owner, owner)!r}",
                site_label="called at",
                tags=(name, here),
            )
        )

    def wrap(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
            def method(self: AbstractEventLoop, *args: Any, **kwargs: Any) -> Any:
                check(self, name)
                return original(self, *args, **kwargs)

            method.__name__ = name
            return method

        return wrapper

    def apply(cls: type[Any]) -> None:
        for name in _METHODS:
            patcher.replace(cls, name, wrap(name))

    loops.each_loop_class(patcher, apply)
