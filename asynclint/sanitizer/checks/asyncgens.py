"""ASL607: an async generator left suspended, closed only by the GC or the loop shutdown.

The loop installs ``sys.set_asyncgen_hooks`` from its own ``_asyncgen_firstiter_hook``
and ``_asyncgen_finalizer_hook`` methods each time it runs (asyncio's and uvloop's alike),
so wrapping those methods follows the loop's own bookkeeping: the first iteration records
where the generator was first iterated, and which loop it belongs to; the finalizer hook
(called when a started, unfinished generator is garbage-collected) and
``shutdown_asyncgens`` (which closes the ones still suspended) report. Generators that
were exhausted or closed with ``aclose()`` never reach either.
"""

from __future__ import annotations

import sys
import weakref
from asyncio import AbstractEventLoop
from collections.abc import Callable, Coroutine
from typing import Any

from asynclint.sanitizer import frames
from asynclint.sanitizer.checks import loops
from asynclint.sanitizer.core import Sanitizer
from asynclint.sanitizer.findings import Finding
from asynclint.sanitizer.patches import Patcher

AsyncGen = Any


def install(san: Sanitizer, patcher: Patcher) -> None:
    if not san.enabled("ASL607"):
        return
    sites = frames.SiteTable()
    started: weakref.WeakKeyDictionary[AbstractEventLoop, weakref.WeakSet[AsyncGen]] = (
        weakref.WeakKeyDictionary()
    )

    def report(agen: AsyncGen, how: str) -> None:
        qualname = getattr(agen, "__qualname__", type(agen).__name__)
        frame = agen.ag_frame
        where = f" at {frame.f_code.co_filename}:{frame.f_lineno}" if frame else ""
        san.emit(
            Finding(
                "ASL607",
                f"async generator {qualname}()",
                sites.lookup(agen),
                detail=f"{how} while suspended{where}",
                site_label="first iterated at",
                tags=(qualname,),
            )
        )

    def wrap_firstiter(original: Callable[[Any, AsyncGen], None]) -> Callable[..., None]:
        def _asyncgen_firstiter_hook(self: AbstractEventLoop, agen: AsyncGen) -> None:
            sites.remember(agen, frames.user_frames(frames.walk(sys._getframe(1), 32)))
            started.setdefault(self, weakref.WeakSet()).add(agen)
            original(self, agen)

        return _asyncgen_firstiter_hook

    def wrap_finalizer(original: Callable[[Any, AsyncGen], None]) -> Callable[..., None]:
        def _asyncgen_finalizer_hook(self: AbstractEventLoop, agen: AsyncGen) -> None:
            report(agen, "garbage-collected")
            original(self, agen)

        return _asyncgen_finalizer_hook

    def wrap_shutdown(
        original: Callable[[Any], Coroutine[Any, Any, None]],
    ) -> Callable[..., Coroutine[Any, Any, None]]:
        def shutdown_asyncgens(self: AbstractEventLoop) -> Coroutine[Any, Any, None]:
            for agen in list(started.pop(self, ())):
                if agen.ag_frame is not None:
                    report(agen, "closed by the loop shutdown")
            return original(self)

        return shutdown_asyncgens

    def apply(cls: type[Any]) -> None:
        patcher.replace(cls, "_asyncgen_firstiter_hook", wrap_firstiter)
        patcher.replace(cls, "_asyncgen_finalizer_hook", wrap_finalizer)
        patcher.replace(cls, "shutdown_asyncgens", wrap_shutdown)

    loops.each_loop_class(patcher, apply)
