"""The files a check read besides the checked file, so the cache knows what its findings
depend on beyond the index's facts.

Rules see other modules through the project index's facts, which every cached finding is
keyed by. A helper that reads another module's *source* (the call graph of ASL307 reads
the bodies of the sync functions an ``async def`` calls) notes the file here; the cache
stores the notes with the findings and checks the file again when one of them changes.
Memoised answers carry their notes with them (:func:`recording` nests), so a file whose
check reused an answer depends on what computing it read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

_recordings: list[set[str]] = []


@contextlib.contextmanager
def recording() -> Iterator[set[str]]:
    """Collect the files noted inside the block; an enclosing recording gets them too."""
    found: set[str] = set()
    _recordings.append(found)
    try:
        yield found
    finally:
        _recordings.pop()
        if _recordings:
            _recordings[-1].update(found)


def note(paths: Iterable[str]) -> None:
    """Record that the answer being computed depends on the content of `paths`."""
    if _recordings:
        _recordings[-1].update(paths)
