"""ASL601: a coroutine destroyed without being awaited.

CPython reports this through ``warnings._warn_unawaited_coroutine(coro)``, looked up on
the ``warnings`` module each time, so replacing it hands us the coroutine object itself
(its origin included) whatever the warning filters say. The replacement then issues the
usual ``RuntimeWarning`` itself: calling the original from a wrapper would make the
warning point at the wrapper instead of the user's line. Its text is the one CPython
prints without origin tracking, which the sanitizer switches on for its own use.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

from asynclint.sanitizer import frames
from asynclint.sanitizer.core import Sanitizer
from asynclint.sanitizer.findings import Finding
from asynclint.sanitizer.patches import Patcher


def install(san: Sanitizer, patcher: Patcher) -> None:
    if not san.enabled("ASL601") or not hasattr(warnings, "_warn_unawaited_coroutine"):
        return

    def wrap(original: Callable[[Any], None]) -> Callable[[Any], None]:
        def _warn_unawaited_coroutine(coro: Any) -> None:
            san.emit(finding(coro, sys._getframe(1)))
            message = f"coroutine '{coro.__qualname__}' was never awaited"
            warnings.warn(message, RuntimeWarning, stacklevel=2, source=coro)

        return _warn_unawaited_coroutine

    patcher.replace(warnings, "_warn_unawaited_coroutine", wrap)


def finding(coro: Any, dropped_in: Any) -> Finding:
    """With origin tracking the site is where the coroutine was made; without it, the
    frame that dropped it (the same line for the usual ``fetch()`` missing its ``await``)."""
    qualname = getattr(coro, "__qualname__", type(coro).__name__)
    site = frames.coroutine_site(coro)
    label = "created at"
    if not site:
        site = frames.user_frames(frames.walk(dropped_in, 32))
        label = "dropped at"
    return Finding("ASL601", f"coroutine {qualname}()", site, site_label=label, tags=(qualname,))
