"""API knowledge shared by the rules and the sanitizer: plain data, and a mark on it.

Data is *inert* when none of its names makes code asynchronous: blocking APIs, bases and
wrappers that change nothing, decorators that mark tests, places where a coroutine does
harm (a teardown, a callback slot) but that need the coroutine to come from elsewhere. The
pre-filter (:mod:`asynclint.prefilter`) keeps a file without ``async`` and ``await`` for
the names asynclint's data mentions, inert data left out. So a rule that is not
``async_only`` must never fire *because* code uses a name of inert data: mark a table
inert only when every name in it is of that kind. Unmarked data is the safe default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

_T = TypeVar("_T")
_INERT: set[int] = set()
"""Identities of the inert objects: a table is the same object wherever it is imported. A
name-like string (``"with"``) is interned, so marking one marks it everywhere; that only
matters for dotted names, which Python does not intern."""


def inert(data: _T) -> _T:
    """Marks `data` (a table, or one name) inert and returns it."""
    _INERT.add(id(data))
    return data


def inert_module(namespace: Mapping[str, object]) -> None:
    """Marks every upper-case global of a module's `namespace` inert."""
    for name, value in namespace.items():
        if name.isupper():
            inert(value)


def is_inert(data: object) -> bool:
    return id(data) in _INERT
