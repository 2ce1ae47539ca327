"""What the user's configuration adds to the resolver's knowledge.

`extra-coroutine-functions`, `transparent-decorators` and `sync-decorators` are
qualified-name globs (``mylib.*.fetch_*``): they answer questions the code cannot, such as a
function generated at import time or a decorator that wraps an `async def` in a sync
function. Decorators in :data:`~asynclint.knowledge.coroutines.TRANSPARENT_DECORATORS` are
known without configuration.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from asynclint.knowledge.coroutines import TRANSPARENT_DECORATORS


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

    def call_kind(self, is_async: bool, decorators: Sequence[str | None]) -> bool | None:
        """Whether calling a function decorated by `decorators` (outermost first, qualified;
        None where unresolvable) returns a coroutine; None when a decorator hides it."""
        for decorator in decorators:
            if decorator is None:
                return None
            if _matches(self.sync_decorators, decorator):
                return False
            if decorator not in TRANSPARENT_DECORATORS and not _matches(
                self.transparent_decorators, decorator
            ):
                return None
        return is_async


NOTHING = Configured()
"""No configuration: only what the code and the bundled tables say."""
