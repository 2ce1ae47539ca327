"""The cache's folder: where it is, its entries written atomically, and what every key shares.

Light on purpose (no LibCST, no rules): a warm run reads its record (:mod:`asynclint.replay`)
through this module before anything heavy is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from asynclint import __version__
from asynclint.errors import UsageError
from asynclint.knowledge import inert

DIRECTORY_NAME = ".asynclint_cache"
ENVIRONMENT_VARIABLE = "ASYNCLINT_CACHE_DIR"
FORMAT = 1
"""Bumped when the layout of entries changes."""
_MARKER = inert("CACHEDIR.TAG")
_MARKER_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by asynclint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


class CacheError(UsageError):
    """A cache folder that cannot be used or removed; one line, fit to print."""


def digest(*parts: str | bytes) -> str:
    """A short hex digest of `parts` (each is delimited, so ("ab", "c") != ("a", "bc"))."""
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


@cache
def code_fingerprint() -> str:
    """asynclint's version and code, the interpreter and LibCST (its installed files' state,
    read without importing it)."""
    package = Path(__file__).resolve().parent
    stats = []
    for directory, _, files in sorted(os.walk(package)):
        for name in sorted(files):
            if name.endswith(".py"):
                stats.append(f"{directory}/{name}:{state(os.path.join(directory, name))}")
    libcst = find_spec("libcst")
    installed = state(libcst.origin) if libcst is not None and libcst.origin else "-"
    return digest(str(FORMAT), __version__, sys.version, installed, *stats)


def state(path: str) -> str:
    """A file's modification time and size (``-`` when it is gone)."""
    try:
        status = os.stat(path)
    except OSError:
        return "-"
    return f"{status.st_mtime_ns}:{status.st_size}"


def modules_in(folder: str) -> str:
    """The names in `folder` that could be modules (``x.py``, ``x.pyi``, a package ``x``):
    a new module shows up, a file rewritten through a rename (as editors save) does not."""
    try:
        names = os.listdir(folder)
    except OSError:
        return "-"
    stems = (
        name[: -len(suffix)]
        for name in names
        for suffix in (".py", ".pyi")
        if name.endswith(suffix)
    )
    return ",".join(sorted({*stems, *(name for name in names if name.isidentifier())}))


def location(option: str | None, configured: str | None, root: Path) -> Path:
    """Where the cache lives: ``--cache-dir``, else ``$ASYNCLINT_CACHE_DIR``, else the
    configuration's ``cache-dir`` (relative to its file), else ``.asynclint_cache`` in the
    configuration's folder (the working directory without one)."""
    if option:
        return Path(os.path.abspath(option))
    from_environment = os.environ.get(ENVIRONMENT_VARIABLE)
    if from_environment:
        return Path(os.path.abspath(from_environment))
    return root / (configured or DIRECTORY_NAME)


def _is_cache(directory: Path) -> bool:
    try:
        return (directory / _MARKER).read_text(encoding="utf-8").startswith(_MARKER_TEXT[:43])
    except (OSError, UnicodeDecodeError):
        return False


def clean(directory: Path) -> bool:
    """Remove the cache at `directory`; False when there is none. A folder without the
    cache's tag file is left alone (``--cache-dir`` may name the wrong one)."""
    if not directory.exists():
        return False
    if not _is_cache(directory):
        raise CacheError(f"{directory} is not an asynclint cache (no {_MARKER}); not removed")
    try:
        shutil.rmtree(directory)
    except OSError as error:
        raise CacheError(f"cannot remove {directory}: {error.strerror or error}") from None
    return True


def _write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, renamed into place."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@dataclass(frozen=True)
class Store:
    """A cache folder. Small and picklable: workers receive it and read and write entries
    themselves, so the parent never serialises anything for the cache."""

    directory: Path

    def prepare(self) -> None:
        """Create the folder, tagged as a cache and ignored by git; :class:`CacheError` when
        it cannot be used."""
        directory = self.directory
        try:
            if directory.is_dir() and any(directory.iterdir()) and not _is_cache(directory):
                raise CacheError(f"{directory} exists and is not an asynclint cache")
            for kind in ("facts", "results"):
                (directory / kind).mkdir(parents=True, exist_ok=True)
            if not _is_cache(directory):
                _write_atomic(directory / ".gitignore", "# created by asynclint\n*\n")
                _write_atomic(directory / _MARKER, _MARKER_TEXT)
        except OSError as error:
            raise CacheError(f"cannot use {directory}: {error.strerror or error}") from None

    def _path(self, kind: str, name: str) -> Path:
        return self.directory / kind / f"{digest(name)}.json"

    def load(self, kind: str, name: str) -> dict[str, Any] | None:
        """The entry `name` of `kind`, whatever its key; None when unreadable."""
        try:
            with open(self._path(kind, name), "rb") as file:
                entry = json.loads(file.read())
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) and isinstance(entry.get("key"), str) else None

    def read(self, kind: str, name: str, key: str) -> dict[str, Any] | None:
        """The entry `name` of `kind` when it was stored under `key`; None otherwise."""
        entry = self.load(kind, name)
        return entry if entry is not None and entry["key"] == key else None

    def write(self, kind: str, name: str, entry: dict[str, Any]) -> None:
        """Best effort: a cache that cannot be written is a slower run, not a failed one."""
        with contextlib.suppress(OSError):
            _write_atomic(self._path(kind, name), json.dumps(entry, separators=(",", ":")))
