"""The run record: a command repeated over unchanged files prints what it printed last time.

A run on a full content cache (:mod:`asynclint.cache`) still imports LibCST and every rule,
builds the index and looks up every file's entry: about a second on a large project, most
of it before the first file is looked at. When the same command runs again in the same
folder, the record the last run left answers instead, before anything heavy is imported:
the text it printed and its exit status, under a key of the command line, the working
directory, the interpreter and asynclint's code (:func:`key`), in the cache folder.

The record holds only if nothing the run read has changed. That is decided from file states
(modification time and size, as ruff and git decide it), not from contents:

* every checked file, and the ``.py`` files and folders of every folder the walk listed;
* in every folder from a checked file, or the working directory, up to the file system's
  root: the files that configure a run (``pyproject.toml``, pytest's configuration files,
  ``conftest.py``), and whether the files that mark a project or a package exist;
* ``--config``'s file, and what the index read outside the checked files (installed
  packages, the rest of the project: :class:`asynclint.cache.Environment`).

Anything else (a changed file, a new module, another configuration) falls back to the
content cache, which rechecks what the change affects and leaves a new record. Only a run
that reported no error leaves one, and not when a file it read was modified in the last
:data:`SETTLE_SECONDS` (an edit within the file system's timestamp resolution could pass
unnoticed).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asynclint import pytest_config
from asynclint.cachedir import Store, code_fingerprint, digest, location, modules_in, state
from asynclint.config import PYPROJECT, cache_setting
from asynclint.knowledge import inert
from asynclint.roots import ROOT_MARKERS

KIND = "runs"
SETTLE_SECONDS = 2
KEPT = 32
"""Records kept, the most recent: one per command, and a pre-commit hook runs a new command
(its list of files) at every commit, so the oldest go."""
CONFIGURING = inert(frozenset({PYPROJECT, "conftest.py", *pytest_config.CONFIG_FILES}))
"""Files whose content changes a run, looked for in every folder above a checked file."""
MARKING = inert(
    frozenset({"__init__.py", *ROOT_MARKERS, *pytest_config.PROJECT_MARKERS}) - CONFIGURING
)
"""Files whose presence changes a run (project roots, package boundaries)."""

_CONTENT, _PRESENCE, _LISTING, _MODULES = "c", "p", "l", "m"


@dataclass(frozen=True)
class Recorded:
    """What a run printed (to standard output, or ``--output-file``) and its exit status."""

    output: str
    status: int


def key(params: Mapping[str, object], color: bool) -> str:
    """The record's name for a command: its options (but the worker count, which changes
    nothing printed), whether it prints colour, where it runs and with what."""
    options = {name: value for name, value in params.items() if name != "jobs"}
    command = json.dumps(options, sort_keys=True, default=list)
    return digest(code_fingerprint(), os.getcwd(), command, json.dumps(sys.path), str(color))


def folder(cache_dir: str | None, config_file: str | None, isolated: bool) -> Path | None:
    """The cache folder the command would use, found without validating the configuration;
    None when the configuration cannot be read that way (the full run then reports it)."""
    setting = cache_setting(config_file, isolated)
    if setting is None:
        return None
    root, configured = setting
    return location(cache_dir, configured, root)


def lookup(directory: Path, name: str) -> Recorded | None:
    """The record `name` when nothing it depends on has changed."""
    entry = Store(directory).read(KIND, name, name)
    if entry is None:
        return None
    watched, output, status = entry.get("watched"), entry.get("output"), entry.get("status")
    if not (isinstance(watched, dict) and isinstance(output, str) and type(status) is int):
        return None
    for subject, seen in watched.items():
        if _observe(subject) != seen:
            return None
    return Recorded(output, status)


def save(store: Store, name: str, recorded: Recorded, watched: Mapping[str, str]) -> None:
    """Leave the record of a finished run, unless a file it read may still be changing."""
    settled = time.time_ns() - SETTLE_SECONDS * 1_000_000_000
    for subject, seen in watched.items():
        if subject[0] == _CONTENT and seen != "-" and int(seen.split(":")[0]) > settled:
            return
    entry: dict[str, Any] = {"key": name, "output": recorded.output, "status": recorded.status}
    entry["watched"] = dict(watched)
    folder = store.directory / KIND
    folder.mkdir(exist_ok=True)
    store.write(KIND, name, entry)
    _prune(folder)


def _prune(folder: Path) -> None:
    """Remove all but the :data:`KEPT` most recently written records."""
    with contextlib.suppress(OSError):
        records = sorted(folder.glob("*.json"), key=lambda path: path.stat().st_mtime_ns)
        for record in records[:-KEPT]:
            record.unlink(missing_ok=True)


def watched(
    checked: Sequence[str],
    listed: Iterable[str],
    config_file: str | None,
    read_files: Mapping[str, str],
    read_folders: Mapping[str, str],
) -> dict[str, str]:
    """What a run depended on, each with its state now: the `checked` files, the folders the
    walk `listed`, the configuration around them, and what the index read elsewhere (file →
    state, folder → modules, as :class:`asynclint.cache.Environment` records them)."""
    subjects = [_subject(_CONTENT, path) for path in checked]
    subjects += [_subject(_LISTING, path) for path in listed]
    if config_file is not None:
        subjects.append(_subject(_CONTENT, config_file))
    for directory in _folders_above([*checked, os.path.join(os.curdir, "_")]):
        subjects += [_subject(_CONTENT, os.path.join(directory, n)) for n in CONFIGURING]
        subjects += [_subject(_PRESENCE, os.path.join(directory, n)) for n in MARKING]
    found = {subject: _observe(subject) for subject in subjects}
    found.update({_subject(_CONTENT, path): seen for path, seen in read_files.items()})
    found.update({_subject(_MODULES, path): seen for path, seen in read_folders.items()})
    return found


def _subject(kind: str, path: str) -> str:
    return f"{kind}{os.path.abspath(path)}"


def _observe(subject: str) -> str:
    """The state of a watched subject, spelled as :func:`watched` records it."""
    kind, path = subject[0], subject[1:]
    if kind == _CONTENT:
        return state(path)
    if kind == _PRESENCE:
        return "+" if os.path.lexists(path) else "-"
    if kind == _MODULES:
        return modules_in(path)
    return _listing(path)


def _listing(directory: str) -> str:
    """The entries of `directory` a walk looks at: its folders (not links to folders, which
    it does not follow) and Python files."""
    try:
        with os.scandir(directory) as scan:
            names = [e.name + "/" if e.is_dir(follow_symlinks=False) else e.name for e in scan]
    except OSError:
        return "-"
    return ",".join(sorted(n for n in names if n.endswith(("/", ".py", ".pyi"))))


def _folders_above(paths: Iterable[str]) -> list[str]:
    """Every folder holding one of `paths`, and every folder above those."""
    found: dict[str, None] = {}
    for path in paths:
        directory = os.path.dirname(os.path.abspath(path))
        while directory not in found:
            found[directory] = None
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    return list(found)
