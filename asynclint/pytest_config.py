"""The pytest configuration that applies to a file: ini options and conftest plugins.

Whether an ``async def`` test or fixture runs depends on configuration the source file
does not show: pytest-asyncio's ``asyncio_mode``, the plugins loaded with ``-p`` or
``pytest_plugins``, hooks in ``conftest.py``. This module finds that configuration as
pytest does: walking up from the file's directory, the first directory holding
``pytest.toml``, ``.pytest.toml``, ``pytest.ini``, ``.pytest.ini``, a ``pyproject.toml``
with a ``[tool.pytest]`` table, a ``tox.ini`` with ``[pytest]`` or a ``setup.cfg`` with
``[tool:pytest]`` (checked in that order) gives the options; the ``conftest.py`` files from
that directory down to the file's add plugins and hooks.

Results are cached per directory for the life of the process (:func:`clear_cache` forgets
them). A file that cannot be read or parsed makes the answer unknown (None), never an
exception: rules then stay silent.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import functools
import os
import re
import shlex
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asynclint.knowledge import inert
from asynclint.knowledge.testing import (
    AUTO_MODE_FLAGS,
    DEFAULT_PYTHON_CLASSES,
    DEFAULT_PYTHON_FILES,
    DEFAULT_PYTHON_FUNCTIONS,
)
from asynclint.roots import nearest_marked
from asynclint.syntax import statements

if TYPE_CHECKING:
    from asynclint.context import Context

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

Value = str | tuple[str, ...]

CONFIG_FILES = inert(
    (
        "pytest.toml",
        ".pytest.toml",
        "pytest.ini",
        ".pytest.ini",
        "pyproject.toml",
        "tox.ini",
        "setup.cfg",
    )
)
_INI_SECTIONS = inert({"pytest.ini": "pytest", ".pytest.ini": "pytest", "tox.ini": "pytest"})
PROJECT_MARKERS = inert(("pyproject.toml", "setup.py", "setup.cfg", "tox.ini", ".git"))
"""Without a configuration file, conftest files are looked for up to the project root."""
_VERSION_SPEC = re.compile(r"[\s<>=!~;\[]")


class _Malformed(Exception):
    """A configuration file pytest itself would refuse."""


@dataclass(frozen=True)
class PytestConfig:
    """The ini options of one configuration file, as strings or lists of strings."""

    path: str | None
    """The configuration file; None when there is none (pytest's defaults apply)."""
    options: Mapping[str, Value] = field(default_factory=dict)

    def args(self, name: str) -> tuple[str, ...]:
        """An option of pytest's "args" type (``addopts``, ``python_files``) as a list."""
        value = self.options.get(name)
        if value is None:
            return ()
        return value if isinstance(value, tuple) else tuple(shlex.split(value))

    def option(self, name: str) -> str | None:
        """An ini option, with ``-o name=value`` and known flags in ``addopts`` applied."""
        found = self.options.get(name)
        value = " ".join(found) if isinstance(found, tuple) else found
        for flag, flag_value in _flags(self.args("addopts")):
            if flag in ("-o", "--override-ini"):
                key, _, override = flag_value.partition("=")
                if key.strip() == name:
                    value = override
            elif AUTO_MODE_FLAGS.get(flag) == name:
                value = flag_value
        return None if value is None else value.strip()

    @property
    def plugins(self) -> frozenset[str]:
        """Plugins loaded with ``-p NAME`` in ``addopts`` or named in ``required_plugins``."""
        loaded = {value for flag, value in _flags(self.args("addopts")) if flag == "-p"}
        required = {_VERSION_SPEC.split(name, 1)[0] for name in self.args("required_plugins")}
        return frozenset(name for name in loaded | required if not name.startswith("no:"))

    @property
    def disabled(self) -> frozenset[str]:
        """Plugins blocked with ``-p no:NAME``."""
        loaded = (value for flag, value in _flags(self.args("addopts")) if flag == "-p")
        return frozenset(name[3:] for name in loaded if name.startswith("no:"))

    def collects_file(self, path: str) -> bool:
        """Whether pytest collects tests from the module at `path` (``python_files``)."""
        patterns = self.args("python_files") or DEFAULT_PYTHON_FILES
        name = os.path.basename(path)
        return any(
            fnmatch.fnmatch(path if os.sep in pattern else name, pattern) for pattern in patterns
        )

    def collects_class(self, name: str) -> bool:
        """Whether a class so named is a test class (``python_classes``)."""
        return _matches(name, self.args("python_classes") or DEFAULT_PYTHON_CLASSES)

    def collects_function(self, name: str) -> bool:
        """Whether a function or method so named is a test (``python_functions``)."""
        return _matches(name, self.args("python_functions") or DEFAULT_PYTHON_FUNCTIONS)


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    """pytest's rule: a pattern with a glob character is a glob, any other a prefix."""
    return any(
        fnmatch.fnmatch(name, pattern) if set(pattern) & set("*?[") else name.startswith(pattern)
        for pattern in patterns
    )


def _flags(args: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """``(flag, value)`` for ``-p x``, ``-px``, ``--flag=x`` and ``--flag x`` in `args`."""
    for position, arg in enumerate(args):
        following = args[position + 1] if position + 1 < len(args) else ""
        if arg in ("-p", "-o"):
            yield arg, following
        elif arg.startswith(("-p", "-o")) and not arg.startswith("--"):
            yield arg[:2], arg[2:]
        elif arg.startswith("--"):
            flag, equals, value = arg.partition("=")
            yield flag, value if equals else following


@dataclass(frozen=True)
class PluginUse:
    """What a conftest (or a test module) shows about the pytest plugins in use."""

    functions: frozenset[str] = frozenset()
    """Top-level function names: hooks (``pytest_*``) and fixtures such as ``anyio_backend``."""
    plugins: tuple[str, ...] = ()
    """The modules named in ``pytest_plugins``."""
    imports: frozenset[str] = frozenset()
    """Top-level packages imported anywhere in the module."""
    marks: frozenset[str] = frozenset()
    """Names used as ``pytest.mark.<name>`` (or ``mark.<name>`` from ``from pytest import
    mark``)."""

    @property
    def hooks(self) -> frozenset[str]:
        return frozenset(name for name in self.functions if name.startswith("pytest_"))


def plugin_use(source: str | bytes) -> PluginUse | None:
    """The plugin facts of a module's source; None when it does not parse. Only statements
    are walked, and expressions only where ``mark`` is spelled (most test modules do not)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    functions = {
        node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    imports: set[str] = set()
    pytest_names: set[str] = set()
    mark_names: set[str] = set()
    plugins: tuple[str, ...] = ()
    for node in statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imports.add(alias.name.split(".")[0])
                if alias.name == "pytest":
                    pytest_names.add(alias.asname or "pytest")
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imports.add(node.module.split(".")[0])
            if node.module == "pytest":
                mark_names.update(a.asname or a.name for a in node.names if a.name == "mark")
        elif isinstance(node, ast.Assign) and _assigns(node, "pytest_plugins"):
            plugins = _strings(node.value)
    marks: set[str] = set()
    if (pytest_names or mark_names) and (
        "mark" in source if isinstance(source, str) else b"mark" in source
    ):
        marks = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and _is_mark(node.value, pytest_names, mark_names)
        }
    return PluginUse(frozenset(functions), plugins, frozenset(imports), frozenset(marks))


def own_plugin_use(context: Context) -> PluginUse | None:
    """:func:`plugin_use` of the file being checked, read once for all the test rules."""
    return context.shared(own_plugin_use, lambda: plugin_use(context.text))


def _assigns(node: ast.Assign, name: str) -> bool:
    return any(isinstance(target, ast.Name) and target.id == name for target in node.targets)


def _strings(node: ast.expr) -> tuple[str, ...]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        )
    return ()


def _is_mark(node: ast.expr, pytest_names: set[str], mark_names: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in mark_names
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "mark"
        and isinstance(node.value, ast.Name)
        and node.value.id in pytest_names
    )


# -- finding the files ------------------------------------------------------------------------


def config_for(path: str) -> PytestConfig | None:
    """The configuration pytest would use for the file at `path`; None when unknown (a
    configuration file on the way cannot be read or parsed)."""
    return _config_in(os.path.dirname(os.path.abspath(path)))


def conftests_for(path: str) -> tuple[PluginUse, ...] | None:
    """The ``conftest.py`` files pytest loads for the file at `path`, outermost first; None
    when one of them (or the configuration) cannot be read or parsed."""
    directory = os.path.dirname(os.path.abspath(path))
    config = _config_in(directory)
    if config is None:
        return None
    root = os.path.dirname(config.path) if config.path else _project_root(directory)
    found: list[PluginUse] = []
    while True:
        use = _conftest_in(directory)
        if use is None:
            return None
        if use is not _NO_CONFTEST:
            found.append(use)
        parent = os.path.dirname(directory)
        if directory == root or parent == directory:
            return tuple(reversed(found))
        directory = parent


def inputs_for(path: str) -> tuple[str, ...]:
    """What the answers for `path` depend on: every folder walked (a configuration file
    created in one changes them) and the configuration and conftest files in them. A cache
    of findings folds their state into its key."""
    directory = os.path.dirname(os.path.abspath(path))
    config = _config_in(directory)
    found: list[str] = []
    while True:
        found.append(directory)
        for name in ("conftest.py", *CONFIG_FILES):
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                found.append(candidate)
        if config is not None and config.path and os.path.dirname(config.path) == directory:
            return tuple(found)
        parent = os.path.dirname(directory)
        if parent == directory:
            return tuple(found)
        directory = parent


def clear_cache() -> None:
    """Forget what was read (for long-running processes whose files change)."""
    _config_in.cache_clear()
    _conftest_in.cache_clear()
    _project_root.cache_clear()


_NO_CONFTEST = PluginUse()


@functools.cache
def _config_in(directory: str) -> PytestConfig | None:
    for name in CONFIG_FILES:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        try:
            options = _read(path, name)
        except _Malformed:
            return None
        if options is not None:
            return PytestConfig(path, options)
    parent = os.path.dirname(directory)
    return PytestConfig(None) if parent == directory else _config_in(parent)


@functools.cache
def _conftest_in(directory: str) -> PluginUse | None:
    path = os.path.join(directory, "conftest.py")
    if not os.path.isfile(path):
        return _NO_CONFTEST
    try:
        with open(path, "rb") as file:
            return plugin_use(file.read())
    except OSError:
        return None


@functools.cache
def _project_root(directory: str) -> str:
    """pytest's fallback rootdir: the nearest marked folder, else the filesystem root."""
    found = nearest_marked(directory, PROJECT_MARKERS)
    if found is not None:
        return found
    while os.path.dirname(directory) != directory:
        directory = os.path.dirname(directory)
    return directory


# -- reading one file -------------------------------------------------------------------------


def _read(path: str, name: str) -> dict[str, Value] | None:
    """The pytest options in the file, None when it has no pytest section."""
    try:
        with open(path, "rb") as file:
            text = file.read().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise _Malformed(str(error)) from error
    if name.endswith(".toml"):
        return _read_toml(text, name)
    section = _INI_SECTIONS.get(name, "tool:pytest")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text, path)
    except configparser.Error as error:
        raise _Malformed(str(error)) from error
    if parser.has_section(section):
        return {key: value for key, value in parser.items(section)}
    return {} if name in ("pytest.ini", ".pytest.ini") else None


def _read_toml(text: str, name: str) -> dict[str, Value] | None:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _Malformed(str(error)) from error
    if name == "pyproject.toml":
        tool = document.get("tool")
        table = tool.get("pytest") if isinstance(tool, dict) else None
        if isinstance(table, dict) and "ini_options" in table:
            table = table["ini_options"]
    else:
        table = document.get("pytest", {})
    if not isinstance(table, dict):
        if table is None:
            return None
        raise _Malformed(f"{name}: the pytest table is not a table")
    return {str(key): _toml_value(value) for key, value in table.items()}


def _toml_value(value: object) -> Value:
    if isinstance(value, list):
        return tuple(map(_toml_scalar, value))
    return _toml_scalar(value)


def _toml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
