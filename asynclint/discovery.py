"""Which files a run checks: the paths given, directories walked, exclusions applied.

Paths are reported the way the user typed them (``src`` gives ``src/a.py``, ``./src`` gives
``./src/a.py``) so they can be pasted back into a shell; no paths at all means the working
directory, reported without a ``./`` prefix. As in ruff, a path named explicitly is checked
even when excluded (unless `force_exclude`) and whatever its suffix. Inside a directory only
``.py`` and ``.pyi`` files are checked, and the walk skips excluded entries, virtual
environments (any directory holding ``pyvenv.cfg``) and symbolic links to directories (so a
link loop cannot hang it); each directory uses the configuration nearest to it, so a nested
``pyproject.toml`` governs its own subtree. ``-`` (standard input) is passed through for the
caller to read.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Sequence
from dataclasses import dataclass

from asynclint.config import Config, ConfigResolver

STDIN = "-"
SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class SourceFile:
    path: str
    """As the user will read it; :data:`STDIN` for standard input."""
    config: Config


@dataclass(frozen=True)
class Discovery:
    files: tuple[SourceFile, ...]
    """Sorted by path; a file reached twice (``src src/a.py``) is listed once."""
    errors: tuple[str, ...]
    """One line per path that could not be read, e.g. ``x: No such file or directory``."""
    folders: tuple[str, ...] = ()
    """The folders walked (absolute): a file added to one changes what a run checks."""


def discover(
    paths: Sequence[str], resolver: ConfigResolver, *, force_exclude: bool = False
) -> Discovery:
    """The files to check under `paths` (the working directory when empty)."""
    walker = _Walker(resolver, force_exclude)
    for given in paths or ("",):
        walker.add(given)
    unique: dict[str, SourceFile] = {}
    for absolute, source in sorted(walker.found, key=lambda item: item[1].path):
        unique.setdefault(absolute, source)
    return Discovery(tuple(unique.values()), tuple(walker.errors), tuple(walker.folders))


class _Walker:
    def __init__(self, resolver: ConfigResolver, force_exclude: bool) -> None:
        self.resolver = resolver
        self.force_exclude = force_exclude
        self.found: list[tuple[str, SourceFile]] = []
        """(absolute path, file): the absolute path identifies files reached twice."""
        self.errors: list[str] = []
        self.folders: list[str] = []

    def add(self, given: str) -> None:
        if given == STDIN:
            self.found.append((STDIN, SourceFile(STDIN, self.resolver.for_directory(os.curdir))))
            return
        try:
            is_dir = stat.S_ISDIR(os.stat(given or os.curdir).st_mode)
        except OSError as exc:
            self.errors.append(f"{given}: {exc.strerror}")
            return
        absolute = os.path.abspath(given)
        config = self.resolver.for_directory(os.path.dirname(absolute))
        if self.force_exclude:
            name = os.path.basename(absolute)
            if config.exclusions.covers(config.relative(absolute), name, is_dir=is_dir):
                return
        if is_dir:
            self.walk(given, absolute)
        else:
            self.found.append((absolute, SourceFile(given, config)))

    def walk(self, shown: str, absolute: str) -> None:
        pending = [(shown, absolute)]
        while pending:
            shown, absolute = pending.pop()
            config = self.resolver.for_directory(absolute)
            base = config.relative(absolute)
            exclusions = config.exclusions
            try:
                with os.scandir(absolute) as scan:
                    entries = sorted(scan, key=lambda entry: entry.name)
            except OSError as exc:
                self.errors.append(f"{shown or os.curdir}: {exc.strerror}")
                continue
            self.folders.append(absolute)
            for entry in entries:
                relative = None if base is None else posixpath.join(base, entry.name)
                entry_shown = os.path.join(shown, entry.name)
                if entry.is_dir(follow_symlinks=False):
                    if not (
                        exclusions.matches(relative, entry.name, is_dir=True)
                        or _is_venv(entry.path)
                    ):
                        pending.append((entry_shown, entry.path))
                elif (
                    entry.name.endswith(SUFFIXES)
                    and entry.is_file()
                    and not exclusions.matches(relative, entry.name, is_dir=False)
                ):
                    self.found.append((entry.path, SourceFile(entry_shown, config)))


def _is_venv(directory: str) -> bool:
    """Virtual environments are skipped whatever their name: they hold installed packages."""
    return os.path.exists(os.path.join(directory, "pyvenv.cfg"))
