"""Configuration: ``[tool.asynclint]`` in the nearest ``pyproject.toml``, validated strictly.

A typo in a linter's configuration silently turns checks off, so every key, type, rule
selector and rule option is checked, and a mistake raises :class:`ConfigError` with one line
naming the file, the table, the key and the likely intended spelling.

Where the configuration of a checked path comes from, as in ruff:

* by default, the nearest ``pyproject.toml`` at or above the path's directory that has a
  ``[tool.asynclint]`` table (files without the table are skipped); the nearest one is used
  alone, nothing is merged; with none, the defaults apply, rooted at the working directory;
* ``--config FILE`` uses FILE for every path. A file named ``pyproject.toml`` must hold a
  ``[tool.asynclint]`` table; any other TOML file (say ``asynclint.toml``) holds the same keys
  at its top level, with ``[rules.<rule>]`` for ``[tool.asynclint.rules.<rule>]``;
* ``--isolated`` reads no file.

Globs in ``exclude``, ``extend-exclude`` and ``per-file-ignores`` follow ``.gitignore``: they
are relative to the directory of the file that holds them (:attr:`Config.root`); a pattern
without a slash matches a name at any depth; ``*``, ``?`` and ``[...]`` stay within one path
component; ``**`` spans directories; a trailing ``/`` matches directories only; a pattern that
matches a directory covers everything below it.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asynclint.errors import UsageError
from asynclint.knowledge import inert
from asynclint.registry import UnknownSelector, default_codes, get_rule, resolve_selectors

if TYPE_CHECKING:
    from asynclint.rule import Rule

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

DEFAULT_EXCLUDE = (
    ".asynclint_cache",
    ".git",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pytest_cache",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)
"""What ``exclude`` is unless a configuration sets it (``extend-exclude`` adds to it)."""

PYPROJECT = inert("pyproject.toml")


class ConfigError(UsageError):
    """A configuration that cannot be used; the message is one line, fit to print as is."""


@dataclass(frozen=True)
class Config:
    """One configuration file's settings, selectors already resolved to rule codes."""

    path: Path | None
    """The file it came from; None for the defaults."""
    root: Path
    """Absolute; the directory globs are relative to (the file's directory)."""
    select: frozenset[str] | None = None
    """None when not set: the rules enabled by default apply."""
    ignore: frozenset[str] = frozenset()
    extend_select: frozenset[str] = frozenset()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Option values as written, by rule code; options not set are absent."""
    sanitizer: Mapping[str, Any] = field(default_factory=dict)
    """``[tool.asynclint.sanitizer]`` as read; the sanitizer validates it."""
    python: str | None = None
    """The interpreter whose installed packages names are resolved against (``python``)."""
    extra_coroutine_functions: tuple[str, ...] = ()
    transparent_decorators: tuple[str, ...] = ()
    sync_decorators: tuple[str, ...] = ()
    cache_dir: str | None = None
    """Where ``check`` keeps its cache, relative to :attr:`root` (``cache-dir``)."""

    def __hash__(self) -> int:
        """Hash by origin so configurations can key dicts (the mappings are not hashable)."""
        return hash((self.path, self.root))

    def relative(self, path: str | os.PathLike[str]) -> str | None:
        """`path` relative to :attr:`root` with ``/`` separators; None when outside it."""
        absolute = os.path.abspath(path)
        root = str(self.root)
        if absolute == root:
            return ""
        prefix = root if root.endswith(os.sep) else root + os.sep
        if not absolute.startswith(prefix):
            return None
        return absolute[len(prefix) :].replace(os.sep, "/")

    @property
    def exclusions(self) -> GlobSet:
        """``exclude`` and ``extend-exclude``, compiled."""
        return compile_globs(self.exclude + self.extend_exclude)


@dataclass(frozen=True)
class Selection:
    """Rule selectors given on the command line, as typed; empty means not given."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()


def enabled_codes(config: Config, selection: Selection) -> frozenset[str]:
    """The rules to run: ``--select`` replaces the configuration's ``select``, which replaces
    the default rules; both ``extend-select`` lists add; both ``ignore`` lists remove last."""
    if selection.select:
        base = _cli_codes("--select", selection.select)
    elif config.select is not None:
        base = config.select
    else:
        base = frozenset(default_codes())
    added = config.extend_select | _cli_codes("--extend-select", selection.extend_select)
    removed = config.ignore | _cli_codes("--ignore", selection.ignore)
    return (base | added) - removed


@functools.cache
def _cli_codes(option: str, selectors: tuple[str, ...]) -> frozenset[str]:
    """The codes of command-line selectors (resolved once, not once per file)."""
    try:
        return frozenset(resolve_selectors(selectors))
    except UnknownSelector as exc:
        raise ConfigError(f"{option}: {exc}") from None


def ignored_for(config: Config, path: str | os.PathLike[str]) -> frozenset[str]:
    """The codes ``per-file-ignores`` turns off for the file at `path`.

    A file outside the configuration's root is matched by its name alone.
    """
    relative = config.relative(path)
    name = os.path.basename(os.path.abspath(path))
    codes: frozenset[str] = frozenset()
    for pattern, ignored in config.per_file_ignores:
        if compile_globs((pattern,)).covers(relative, name, is_dir=False):
            codes |= ignored
    return codes


class GlobSet:
    """Gitignore-style patterns compiled into one regular expression.

    A pattern becomes ``<prefix><body><suffix>``, matched against the path relative to the
    root with a ``/`` appended for directories: the prefix ``(?:.*/)?`` lets a pattern
    without a slash start at any component; the suffix ``/?`` accepts files and directories,
    ``/`` (for a pattern ending in ``/``) only directories.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        parsed = [_parse_pattern(pattern) for pattern in patterns]
        self._paths = _union(regex for regex, _ in parsed)
        self._names = _union(regex for regex, anywhere in parsed if anywhere)

    def matches(self, relative: str | None, name: str, *, is_dir: bool) -> bool:
        """Whether the entry `name` at `relative` (None when outside the root: then only
        patterns that may match at any depth are tried, on `name`) matches.

        Directories above the entry are not tried: a walk prunes them before reaching it,
        and a directory the user names explicitly is walked even when excluded.
        """
        regex, subject = (self._names, name) if relative is None else (self._paths, relative)
        if regex is None or not subject:
            return False
        return regex.fullmatch(subject + "/" if is_dir else subject) is not None

    def covers(self, relative: str | None, name: str, *, is_dir: bool) -> bool:
        """Whether the entry or a directory above it, up to the root, matches."""
        if relative is None:
            return self.matches(None, name, is_dir=is_dir)
        parts = relative.split("/")
        return any(
            self.matches("/".join(parts[:end]), parts[end - 1], is_dir=is_dir or end < len(parts))
            for end in range(1, len(parts) + 1)
        )


def _union(regexes: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = list(regexes)
    return re.compile("|".join(alternatives)) if alternatives else None


@functools.cache
def compile_globs(patterns: tuple[str, ...]) -> GlobSet:
    """The :class:`GlobSet` of `patterns`, compiled once per process."""
    return GlobSet(patterns)


def _parse_pattern(pattern: str) -> tuple[str, bool]:
    """The regular expression of `pattern`, and whether it may match at any depth."""
    dir_only = pattern.endswith("/")
    body = pattern.rstrip("/")
    rooted = body.startswith(("/", "./"))
    body = body.removeprefix("./").lstrip("/")
    anchored = rooted or "/" in body
    anywhere = not rooted and "/" not in body.removeprefix("**/")
    prefix = "" if anchored else "(?:.*/)?"
    suffix = "/" if dir_only else "/?"
    return f"(?:{prefix}{_glob_body(body)}{suffix})", anywhere


def _glob_body(glob: str) -> str:
    """The regular expression of a glob without its leading and trailing slashes."""
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**", i) and glob[i - 1 : i] in ("", "/"):
            if i + 2 == len(glob):
                out.append(".*")
                i += 2
                continue
            if glob[i + 2] == "/":
                out.append("(?:.*/)?")
                i += 3
                continue
        if char == "*":
            out.append("[^/]*")
            while i < len(glob) and glob[i] == "*":
                i += 1
            continue
        end = glob.find("]", i + 2) if char == "[" else -1
        if char == "?":
            out.append("[^/]")
        elif end != -1:
            members = glob[i + 1 : end]
            negated = members.startswith("!")
            members = re.sub(r"([\\\[\]&~|^])", r"\\\1", members.removeprefix("!"))
            out.append(f"[^/{members}]" if negated else f"[{members}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


class ConfigResolver:
    """The configuration of each directory, reading each ``pyproject.toml`` at most once.

    `config_file` (``--config``) or `isolated` (``--isolated``) fix one configuration for
    every directory instead of searching upward.
    """

    def __init__(
        self, config_file: str | os.PathLike[str] | None = None, *, isolated: bool = False
    ) -> None:
        if config_file is not None and isolated:
            raise ConfigError("--config and --isolated cannot be used together")
        self._default = Config(path=None, root=Path(os.path.abspath(os.curdir)))
        self._fixed: Config | None = None
        if config_file is not None:
            self._fixed = load_config(config_file)
        elif isolated:
            self._fixed = self._default
        self._found: dict[str, Config] = {}

    def for_directory(self, directory: str | os.PathLike[str]) -> Config:
        """The configuration that governs the entries of `directory`."""
        if self._fixed is not None:
            return self._fixed
        current = os.path.abspath(directory)
        unresolved: list[str] = []
        while (config := self._found.get(current)) is None:
            unresolved.append(current)
            config = _pyproject_config(Path(current, PYPROJECT))
            parent = os.path.dirname(current)
            if config is not None or parent == current:
                break
            current = parent
        config = config or self._default
        for directory_seen in unresolved:
            self._found[directory_seen] = config
        return config


def find_config(directory: str | os.PathLike[str]) -> Config:
    """The configuration for files in `directory` (one lookup; use a resolver for many)."""
    return ConfigResolver().for_directory(directory)


def load_config(path: str | os.PathLike[str]) -> Config:
    """The configuration in the file `path` given explicitly (see the module docstring)."""
    file = Path(os.path.abspath(path))
    if file.name != PYPROJECT:
        return _Parser(file, ()).config(_read_toml(file))
    config = _pyproject_config(file)
    if config is None:
        raise ConfigError(f"{_shown(file)}: no [tool.asynclint] table")
    return config


def _pyproject_config(file: Path) -> Config | None:
    """The configuration in a ``pyproject.toml``; None when it is absent or has no table."""
    table = _pyproject_table(file)
    return None if table is None else _Parser(file, ("tool", "asynclint")).config(table)


def _pyproject_table(file: Path) -> dict[str, Any] | None:
    """The ``[tool.asynclint]`` table of a ``pyproject.toml``, unvalidated; None when the
    file or the table is absent."""
    if not file.is_file():
        return None
    tool = _read_toml(file).get("tool")
    table = tool.get("asynclint") if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{_shown(file)}: tool.asynclint: expected a table, got {_kind(table)}")
    return table


def cache_setting(config_file: str | None, isolated: bool) -> tuple[Path, str | None] | None:
    """The configuration of the working directory as far as the cache needs it, its root and
    its ``cache-dir``, read without validating anything else (validation loads every rule;
    a warm run finds its record first). None when the file cannot be read as expected: the
    full reading then says why."""
    try:
        if isolated:
            return Path(os.path.abspath(os.curdir)), None
        if config_file is not None:
            file = Path(os.path.abspath(config_file))
            table = _pyproject_table(file) if file.name == PYPROJECT else _read_toml(file)
        else:
            file, table = _nearest_table(os.path.abspath(os.curdir))
    except ConfigError:
        return None
    if table is None:
        return Path(os.path.abspath(os.curdir)), None
    value = table.get("cache-dir")
    return (file.parent, value) if value is None or isinstance(value, str) else None


def _nearest_table(directory: str) -> tuple[Path, dict[str, Any] | None]:
    """The nearest ``pyproject.toml`` at or above `directory` with a ``[tool.asynclint]``
    table, and the table (None when there is none)."""
    while True:
        file = Path(directory, PYPROJECT)
        table = _pyproject_table(file)
        parent = os.path.dirname(directory)
        if table is not None or parent == directory:
            return file, table
        directory = parent


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with open(file, "rb") as stream:
            return tomllib.load(stream)
    except OSError as exc:
        raise ConfigError(f"{_shown(file)}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{_shown(file)}: invalid TOML: {exc}") from None


def _shown(file: Path) -> str:
    """`file` relative to the working directory when inside it, as users think of it."""
    try:
        return str(file.relative_to(os.path.abspath(os.curdir)))
    except ValueError:
        return str(file)


def _kind(value: object) -> str:
    """The TOML name of a value's type, for "expected X, got Y"."""
    return next(name for kind, name in _KINDS if isinstance(value, kind))


_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "float"),
    (str, "string"),
    (list, "array"),
    (dict, "table"),
    (datetime, "datetime"),
    (date, "date"),
    (time, "time"),
)
"""Python types as TOML names them; a subclass comes before its base (bool, datetime)."""


def _unknown(kind: str, name: str, valid: Iterable[str]) -> str:
    """Say `name` is unknown, suggesting the closest valid name or else listing them all."""
    choices = sorted(valid)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"unknown {kind} `{name}`; did you mean `{close[0]}`?"
    listed = ", ".join(f"`{choice}`" for choice in choices)
    return f"unknown {kind} `{name}`; expected one of {listed}"


_Table = tuple[str, ...]


class _Parser:
    """Validates one configuration table; errors name the file and the TOML table."""

    def __init__(self, file: Path, prefix: _Table) -> None:
        self.file = file
        self.prefix = prefix

    def error(self, table: _Table, message: str) -> ConfigError:
        names = self.prefix + table
        where = f"[{'.'.join(names)}] " if names else ""
        return ConfigError(f"{_shown(self.file)}: {where}{message}")

    def config(self, table: Mapping[str, object]) -> Config:
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in _KEYS:
                raise self.error((), _unknown("key", key, _KEYS))
            attribute, parse = _KEYS[key]
            values[attribute] = parse(self, (), key, value)
        return Config(path=self.file, root=self.file.parent, **values)

    def table(self, table: _Table, key: str, value: object) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(table, f"{key}: expected a table, got {_kind(value)}")
        return value

    def strings(self, table: _Table, key: str, value: object) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(table, f"{key}: expected a list of strings, got {_kind(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(table, f"{key}[{index}]: expected a string, got {_kind(item)}")
        return tuple(value)

    def string(self, table: _Table, key: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.error(table, f"{key}: expected a string, got {_kind(value)}")
        return value

    def codes(self, table: _Table, key: str, value: object) -> frozenset[str]:
        try:
            return frozenset(resolve_selectors(self.strings(table, key, value)))
        except UnknownSelector as exc:
            raise self.error(table, f"{key}: {exc}") from None

    def per_file_ignores(
        self, table: _Table, key: str, value: object
    ) -> tuple[tuple[str, frozenset[str]], ...]:
        globs = self.table(table, key, value)
        return tuple(
            (glob, self.codes((key,), json.dumps(glob, ensure_ascii=False), codes))
            for glob, codes in globs.items()
        )

    def rule_options(self, table: _Table, key: str, value: object) -> dict[str, dict[str, Any]]:
        by_code: dict[str, dict[str, Any]] = {}
        spelled: dict[str, str] = {}
        for rule_key, settings in self.table(table, key, value).items():
            try:
                rule = get_rule(rule_key)
            except UnknownSelector as exc:
                hint = f"; did you mean `{exc.suggestion}`?" if exc.suggestion else ""
                raise self.error((key,), f"unknown rule `{rule_key}`{hint}") from None
            if rule.code in spelled:
                message = f"`{spelled[rule.code]}` and `{rule_key}` are the same rule"
                raise self.error((key,), message)
            spelled[rule.code] = rule_key
            by_code[rule.code] = self.settings((key, rule_key), rule, settings)
        return by_code

    def settings(self, table: _Table, rule: type[Rule], value: object) -> dict[str, Any]:
        """One rule's option table, checked against the options the rule declares."""
        settings = self.table(table[:-1], table[-1], value)
        options = {option.name: option for option in rule.options}
        for name, option_value in settings.items():
            if not options:
                raise self.error(table, f"unknown option `{name}`; `{rule.name}` has no options")
            if name not in options:
                raise self.error(table, _unknown("option", name, options))
            problem = options[name].check(option_value)
            if problem is not None:
                raise self.error(table, f"{name}: {problem}, got {_kind(option_value)}")
        return settings


_KEYS: dict[str, tuple[str, Callable[[_Parser, _Table, str, object], object]]] = {
    "select": ("select", _Parser.codes),
    "ignore": ("ignore", _Parser.codes),
    "extend-select": ("extend_select", _Parser.codes),
    "exclude": ("exclude", _Parser.strings),
    "extend-exclude": ("extend_exclude", _Parser.strings),
    "per-file-ignores": ("per_file_ignores", _Parser.per_file_ignores),
    "rules": ("rule_options", _Parser.rule_options),
    "sanitizer": ("sanitizer", _Parser.table),
    "python": ("python", _Parser.string),
    "extra-coroutine-functions": ("extra_coroutine_functions", _Parser.strings),
    "transparent-decorators": ("transparent_decorators", _Parser.strings),
    "sync-decorators": ("sync_decorators", _Parser.strings),
    "cache-dir": ("cache_dir", _Parser.string),
}
"""Each ``[tool.asynclint]`` key: the :class:`Config` attribute it sets and its parser."""
