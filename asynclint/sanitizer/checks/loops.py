"""Hooks on event-loop classes: asyncio's `BaseEventLoop` and, once imported, uvloop's.

``run_forever`` (which ``run_until_complete`` and every runner go through) is where a
loop becomes known: it is recorded for the per-test leak check, the watchdog starts
watching it (for ASL605 and ASL610), the thread running it is noted (uvloop does not say,
ASL609 needs it), and coroutine origin tracking (a per-thread setting) is switched on for
the thread that runs it.
"""

from __future__ import annotations

import sys
import threading
import weakref
from asyncio import AbstractEventLoop, BaseEventLoop
from collections.abc import Callable
from typing import Any

from asynclint.sanitizer.checks import watchdog
from asynclint.sanitizer.core import Sanitizer
from asynclint.sanitizer.patches import Patcher

known: weakref.WeakSet[AbstractEventLoop] = weakref.WeakSet()
running_in: weakref.WeakKeyDictionary[AbstractEventLoop, int] = weakref.WeakKeyDictionary()
"""The thread identifier of each loop while it runs."""


def each_loop_class(patcher: Patcher, apply: Callable[[type[Any]], None]) -> None:
    apply(BaseEventLoop)
    patcher.when_imported("uvloop", lambda uvloop: apply(uvloop.Loop))


def install(san: Sanitizer, patcher: Patcher) -> None:
    depth = san.options.depth
    watched = san.enabled("ASL605") or san.enabled("ASL610")

    def wrap(original: Callable[[AbstractEventLoop], None]) -> Callable[[Any], None]:
        def run_forever(self: AbstractEventLoop) -> None:
            known.add(self)
            thread = threading.get_ident()
            if sys.get_coroutine_origin_tracking_depth() < depth:
                sys.set_coroutine_origin_tracking_depth(depth)
            if watched:
                watchdog.watch(san, self, thread)
            first = self not in running_in  # a nested call fails at once: keep the outer's
            if first:
                running_in[self] = thread
            try:
                original(self)
            finally:
                if first:
                    running_in.pop(self, None)

        return run_forever

    each_loop_class(patcher, lambda cls: patcher.replace(cls, "run_forever", wrap))
