"""ASL608: transports and event loops garbage-collected while still open.

asyncio warns about these with ``ResourceWarning``, which the default warning filters
hide and which carries no allocation site. Instead, the ``__init__`` of each class
records where the object was made and its ``__del__`` reports when the object is still
open, whatever the warning filters are; the original ``__del__`` (and its warning) runs
unchanged.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from asynclint.sanitizer import frames
from asynclint.sanitizer.core import Sanitizer
from asynclint.sanitizer.findings import Finding
from asynclint.sanitizer.patches import Patcher

_TRACKED: tuple[tuple[str, str, Callable[[Any], bool]], ...] = (
    ("asyncio.base_events", "BaseEventLoop", lambda loop: not loop.is_closed()),
    ("asyncio.selector_events", "_SelectorTransport", lambda t: t._sock is not None),
    ("asyncio.sslproto", "_SSLProtocolTransport", lambda t: not t._closed),
    ("asyncio.base_subprocess", "BaseSubprocessTransport", lambda t: not t._closed),
    ("asyncio.unix_events", "_UnixReadPipeTransport", lambda t: t._pipe is not None),
    ("asyncio.unix_events", "_UnixWritePipeTransport", lambda t: t._pipe is not None),
)


def install(san: Sanitizer, patcher: Patcher) -> None:
    if not san.enabled("ASL608"):
        return
    sites = frames.SiteTable()

    def wrap_init(original: Callable[..., None]) -> Callable[..., None]:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            sites.remember(self, frames.user_frames(frames.walk(sys._getframe(1), 48)))
            original(self, *args, **kwargs)

        return __init__

    def wrap_del(is_open: Callable[[Any], bool]) -> Callable[[Callable[[Any], None]], Any]:
        def wrap(original: Callable[[Any], None]) -> Callable[[Any], None]:
            def __del__(self: Any) -> None:
                if is_open(self):
                    name = type(self).__name__
                    san.emit(
                        Finding("ASL608", f"{name} {self!r}", sites.lookup(self), tags=(name,))
                    )
                original(self)

            return __del__

        return wrap

    for module_name, class_name, is_open in _TRACKED:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):  # not on this platform or version
            continue
        if "__del__" in vars(cls) and "__init__" in vars(cls):
            patcher.replace(cls, "__init__", wrap_init)
            patcher.replace(cls, "__del__", wrap_del(is_open))
