"""Finding the folder a project (or a test suite) starts in, by the files that mark it."""

from __future__ import annotations

import os
from collections.abc import Iterable

from asynclint.knowledge import inert

ROOT_MARKERS = inert(("pyproject.toml", "setup.cfg", "setup.py", ".git"))
"""What marks a project's root folder (:func:`asynclint.project.source_roots`)."""


def nearest_marked(directory: str, markers: Iterable[str]) -> str | None:
    """The nearest folder at or above `directory` holding one of `markers`; None if none."""
    names = tuple(markers)
    while True:
        if any(os.path.exists(os.path.join(directory, marker)) for marker in names):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
