"""Creation sites: which frames belong to the user, and how to record them cheaply.

Task and coroutine sites come from CPython's coroutine origin tracking
(``sys.set_coroutine_origin_tracking_depth``): a few ``(filename, lineno, function)``
tuples filled in C when the coroutine object is made, which measured far cheaper than any
Python-level hook on task creation. Other sites (async generators, transports, the stack
of a blocked loop) are walked here from live frames, but only for rare events.

Framework frames are dropped: leading ones (the site starts at the first user frame) and
everything from the next framework frame on, because above that frame sits the machinery
that drives user code (the event loop, pytest, runpy), not the code that made the object.
"""

from __future__ import annotations

import os
import sys
import weakref
from collections.abc import Iterable, Iterator
from types import FrameType

from asynclint.sanitizer.findings import Frame

RawFrame = tuple[str, int, str]
"""The shape of one ``coroutine.cr_origin`` entry: filename, line, function."""

_STDLIB = os.path.dirname(os.__file__)
_STDLIB_FRAMEWORK = (
    "asyncio" + os.sep,
    "concurrent" + os.sep,
    "importlib" + os.sep,
    "unittest" + os.sep,
    "runpy.py",
    "threading.py",
)
_ASYNCLINT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_FRAMEWORK_PREFIXES = (*(os.path.join(_STDLIB, name) for name in _STDLIB_FRAMEWORK), _ASYNCLINT)
_FRAMEWORK_PACKAGES = frozenset(
    {"_pytest", "pytest", "pluggy", "pytest_asyncio", "anyio", "uvloop", "trio", "backports"}
)
_TRANSPARENT = (os.path.join(_STDLIB, "contextlib.py"), os.path.join(_STDLIB, "functools.py"))
_cache: dict[str, int] = {}
_modules: dict[str, str] = {}
_USER, _SKIP, _FRAMEWORK = 0, 1, 2


def _kind(filename: str) -> int:
    kind = _cache.get(filename)
    if kind is None:
        if filename.startswith(_TRANSPARENT):
            kind = _SKIP
        elif filename.startswith(("<frozen importlib", "<frozen runpy", *_FRAMEWORK_PREFIXES)) or (
            "site-packages" in filename
            and not _FRAMEWORK_PACKAGES.isdisjoint(filename.split(os.sep))
        ):
            kind = _FRAMEWORK
        else:
            kind = _USER
        _cache[filename] = kind
    return kind


def is_framework(filename: str) -> bool:
    return _kind(filename) != _USER


def is_library(filename: str) -> bool:
    """Code of Python itself, of an installed package or of asynclint: not the user's."""
    return (
        filename.startswith((_STDLIB, "<frozen", _ASYNCLINT))
        or "site-packages" in filename
        or "dist-packages" in filename
    )


def user_frames(raw: Iterable[RawFrame], limit: int = 8) -> tuple[Frame, ...]:
    """The user part of an innermost-first stack (see the module docstring)."""
    out: list[Frame] = []
    for filename, lineno, function in raw:
        kind = _kind(filename)
        if kind == _USER:
            out.append(Frame(filename, lineno, function))
            if len(out) >= limit:
                break
        elif kind == _FRAMEWORK and out:
            break
    return tuple(out)


def code_frames(raw: Iterable[RawFrame], limit: int = 8) -> tuple[Frame, ...]:
    """The frames of the program's own code in an innermost-first stack: not Python's, an
    installed package's or asynclint's (a blocked loop thread may be deep inside the
    ``ssl`` module, called by a library called by the user's line)."""
    out: list[Frame] = []
    for filename, lineno, function in raw:
        if _kind(filename) == _SKIP:
            continue
        if not is_library(filename):
            out.append(Frame(filename, lineno, function))
            if len(out) >= limit:
                break
        elif out:
            break
    return tuple(out)


def module_of(filename: str) -> str:
    """The name the file was imported under ('' if it was not imported as a module)."""
    if filename not in _modules:
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                _modules.setdefault(path, name)
    return _modules.get(filename, "")


def site_tags(site: Iterable[Frame]) -> Iterator[str]:
    """``module`` and ``module.function`` of each frame: what "created by" patterns match."""
    for frame in site:
        module = module_of(frame.filename)
        if module:
            yield module
            yield f"{module}.{frame.function}"


def walk(frame: FrameType | None, limit: int = 64) -> list[RawFrame]:
    """Raw innermost-first entries of a live stack (line numbers read now)."""
    out: list[RawFrame] = []
    while frame is not None and len(out) < limit:
        code = frame.f_code
        out.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    return out


def caller_site(depth: int = 1, limit: int = 8) -> tuple[Frame, ...]:
    """The user frames of the stack that called our caller's caller."""
    return user_frames(walk(sys._getframe(depth + 1)), limit)


def coroutine_site(coro: object) -> tuple[Frame, ...]:
    """Where a coroutine was created, from its origin (empty when tracking was off)."""
    origin = getattr(coro, "cr_origin", None)
    return user_frames(origin) if origin else ()


class _Ref(weakref.ref):  # type: ignore[type-arg]
    __slots__ = ("key", "site")
    key: int
    site: tuple[Frame, ...]


class SiteTable:
    """Creation sites by object identity, kept until the object's finalizer has run.

    Objects here (async generators, transports) report from their finalizer, and the
    cyclic garbage collector clears weak references *before* it calls finalizers; so the
    site of a just-collected object moves to a small ring instead of disappearing.
    """

    def __init__(self, keep: int = 256) -> None:
        self._live: dict[int, _Ref] = {}
        self._dead: dict[int, tuple[Frame, ...]] = {}
        self._keep = keep

    def remember(self, obj: object, site: tuple[Frame, ...]) -> None:
        ref = _Ref(obj, self._died)
        ref.key = id(obj)
        ref.site = site
        self._live[ref.key] = ref

    def _died(self, ref: weakref.ref) -> None:  # type: ignore[type-arg]
        assert isinstance(ref, _Ref)
        if self._live.get(ref.key) is ref:
            del self._live[ref.key]
        self._dead.pop(ref.key, None)
        self._dead[ref.key] = ref.site
        if len(self._dead) > self._keep:
            del self._dead[next(iter(self._dead))]

    def lookup(self, obj: object) -> tuple[Frame, ...]:
        ref = self._live.get(id(obj))
        if ref is not None and ref() is obj:
            return ref.site
        return self._dead.get(id(obj), ())
