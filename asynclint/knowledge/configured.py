"""What the user's configuration adds to the resolver's knowledge.

`extra-coroutine-functions`, `transparent-decorators` and `sync-decorators` are
qualified-name globs (``mylib.*.fetch_*``): they answer questions the code cannot, such as a
function generated at import time or a decorator that wraps an `async def` in a sync
function. Decorators in :data:`~asynclint.knowledge.coroutines.TRANSPARENT_DECORATORS` and
:data:`~asynclint.knowledge.coroutines.CACHING_DECORATORS` are known without configuration.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass

from asynclint.knowledge.coroutines import CACHING_DECORATORS, TRANSPARENT_DECORATORS, Effect


@functools.cache
def _pattern(globs: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regular expression for all of `globs`; ``*`` may span dots, as in fnmatch."""
    if not globs:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs))


def _matches(globs: tuple[str, ...], qualname: str) -> bool:
    pattern = _pattern(globs)
    return pattern is not None and pattern.match(qualname) is not None


@dataclass(frozen=True)
class Configured:
    """The three configuration lists, as qualified-name globs."""

    coroutine_functions: tuple[str, ...] = ()
    transparent_decorators: tuple[str, ...] = ()
    sync_decorators: tuple[str, ...] = ()

    def is_coroutine_function(self, qualname: str | None) -> bool:
        return qualname is not None and _matches(self.coroutine_functions, qualname)

    def decorator_effect(self, decorator: str) -> Effect | None:
        """What the decorator named `decorator` (qualified) does by configuration or
        bundled knowledge; None when neither says."""
        if _matches(self.sync_decorators, decorator):
            return "sync"
        if decorator in TRANSPARENT_DECORATORS or decorator in CACHING_DECORATORS:
            return "same"
        if _matches(self.transparent_decorators, decorator):
            return "same"
        return None


NOTHING = Configured()
"""No configuration: only what the code and the bundled tables say."""
