"""When Python's cyclic garbage collector runs during a check, and over which objects.

A check allocates many objects and frees few, and what it keeps (syntax trees, the
project index) holds no reference cycles that reference counting would not free: the
collector, which runs every few hundred allocations, would only traverse the same live
objects again and again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside: the file's pre-filter, parse, pass and positions (the
    collector would traverse its tree and, now and then, the whole index: a third of the
    pass's time), or the index's first pass (a tenth of it). Nested pauses are free."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    """Move every object alive now out of the collector's reach while worker processes are
    forked: a worker inherits the parent's objects (the project index above all), and its
    collections would traverse them all again, writing to each object's header (which
    also copies the memory page it is on, shared with the parent until then)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
