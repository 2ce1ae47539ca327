"""What the project index is built from, beyond the files being checked.

Checking one file must resolve names the same way as checking the whole project, so the
rest of the project is on the index's search path (read lazily when a name is asked about):
the project root (the nearest directory with ``pyproject.toml``, ``setup.cfg``, ``setup.py``
or ``.git``), its ``src/`` folder, and the directory holding each checked file's top-level
package. Installed packages come from the interpreter asynclint runs in, or the one named
by ``--python``/``python = ...``; it is asked for its ``sys.path``, nothing else is run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence

from asynclint import index, parallel
from asynclint.config import Config
from asynclint.errors import UsageError
from asynclint.knowledge.configured import Configured
from asynclint.roots import ROOT_MARKERS, nearest_marked

_ASK_PATH = "import json, sys; print(json.dumps(sys.path))"


class InterpreterError(UsageError):
    """The interpreter given for resolution cannot be used; one line, fit to print."""


def _package_root(directory: str) -> str:
    """The directory holding the top-level package of the modules in `directory` (itself
    when it is no package)."""
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory = os.path.dirname(directory)
    return directory


def source_roots(paths: Iterable[str]) -> list[str]:
    """Where the project's modules live, most specific first, without duplicates."""
    found: dict[str, None] = {}
    roots: dict[str, None] = {}
    for directory in dict.fromkeys(os.path.dirname(os.path.abspath(path)) for path in paths):
        found[_package_root(directory)] = None
        root = nearest_marked(directory, ROOT_MARKERS)
        if root is not None:
            roots[root] = None
    for root in roots:
        for entry in (os.path.join(root, "src"), root):
            if os.path.isdir(entry):
                found[entry] = None
    return list(found)


def interpreter_path(python: str) -> list[str]:
    """The ``sys.path`` of the interpreter `python` (a path or a command on ``PATH``)."""
    executable = shutil.which(python)
    if executable is None:
        raise InterpreterError(f"python `{python}`: no such interpreter")
    try:
        done = subprocess.run(
            [executable, "-c", _ASK_PATH], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InterpreterError(f"python `{python}`: cannot run it: {exc}") from None
    try:
        entries = json.loads(done.stdout) if done.returncode == 0 else None
    except ValueError:
        entries = None
    if not isinstance(entries, list):
        raise InterpreterError(f"python `{python}`: did not report its sys.path")
    return [entry for entry in entries if isinstance(entry, str) and os.path.isdir(entry)]


def _configured_python(configs: Sequence[Config]) -> str | None:
    """The first configuration's ``python``, relative to that configuration's file."""
    for config in configs:
        if config.python is not None:
            if os.sep in config.python or "/" in config.python:
                return str(config.root / config.python)
            return config.python
    return None


def configured(configs: Iterable[Config]) -> Configured:
    """The resolution lists of every configuration in play, merged."""
    configs = list(configs)

    def merged(name: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(glob for c in configs for glob in getattr(c, name)))

    return Configured(
        merged("extra_coroutine_functions"),
        merged("transparent_decorators"),
        merged("sync_decorators"),
    )


def build_index(
    paths: Sequence[str], configs: Sequence[Config], python: str | None, workers: int
) -> index.ProjectIndex:
    """The index of the files in scope, knowing the rest of the project, the packages of the
    chosen interpreter and the configured resolution lists."""
    built = parallel.build_index(paths, workers)
    python = python or _configured_python(configs)
    installed = index.installed_search_path() if python is None else interpreter_path(python)
    roots = source_roots(paths)
    built.search_path = [*roots, *installed]
    built.project_roots = tuple(roots)
    built.configured = configured(configs)
    return built
