"""Sanitizer options and where they come from.

Options are plain data so they can be exported to the environment and rebuilt in every
subprocess, multiprocessing child and pytest-xdist worker: ``ASYNCSAN`` carries the mode,
``ASYNCSAN_OPTIONS`` the rest (``key=value`` pairs separated by ``;``). The same keys are
read from ``[tool.asynclint.sanitizer]`` in the nearest ``pyproject.toml``.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from asynclint.sanitizer.findings import CHECKS, DEFAULT_CHECKS, check_code

Mode = Literal["strict", "warn", "report"]
MODES: tuple[Mode, ...] = ("strict", "warn", "report")
OFF_VALUES = frozenset({"", "0", "off", "false", "no"})
ENV_MODE = "ASYNCSAN"
ENV_OPTIONS = "ASYNCSAN_OPTIONS"


class ConfigError(ValueError):
    """A bad option value; the message names its source and the valid values."""


@dataclass(frozen=True)
class Options:
    """Everything that tunes a sanitizer run (mode included)."""

    mode: Mode = "strict"
    checks: frozenset[str] = DEFAULT_CHECKS
    block_threshold_ms: float = 100.0
    grace_ms: float = 50.0
    deadlock_grace_ms: float = 1000.0
    """How long a loop may sit with pending tasks that nothing can wake (ASL610)."""
    hang_timeout: float = 0.0
    """Seconds after which a test's tasks are dumped (0: never)."""
    depth: int = 2
    ignore: tuple[str, ...] = ()
    report_file: str | None = None

    def to_env(self) -> str:
        """The ``ASYNCSAN_OPTIONS`` value that rebuilds these options (defaults left out)."""
        default = Options()
        parts = []
        for key, field in _FIELDS.items():
            value = getattr(self, field.name)
            if field.name == "mode" or value == getattr(default, field.name):
                continue
            if isinstance(value, (frozenset, tuple)):
                value = ",".join(sorted(value) if isinstance(value, frozenset) else value)
            parts.append(f"{key}={value}")
        return ";".join(parts)


_FIELDS = {f.name.replace("_", "-"): f for f in dataclasses.fields(Options)}


def parse_mode(value: object, source: str) -> Mode | None:
    """``None`` for an "off" spelling; ``True`` (bare ``-X asyncsan``) means strict."""
    if value is True:
        return "strict"
    text = str(value).strip().lower()
    if text in OFF_VALUES:
        return None
    if text not in MODES:
        raise ConfigError(
            f"{source}: invalid mode {value!r}; expected one of {', '.join(MODES)} or off"
        )
    return text


def requested_mode() -> tuple[Mode | None, str] | None:
    """The mode asked for by ``-X asyncsan`` (first) or ``ASYNCSAN``, with its source."""
    if "asyncsan" in sys._xoptions:
        return parse_mode(sys._xoptions["asyncsan"], "-X asyncsan"), "-X asyncsan"
    if ENV_MODE in os.environ:
        return parse_mode(os.environ[ENV_MODE], ENV_MODE), ENV_MODE
    return None


def _coerce(key: str, value: object, source: str) -> object:
    field = _FIELDS.get(key)
    if field is None or key == "mode":
        valid = ", ".join(k for k in _FIELDS if k != "mode")
        raise ConfigError(f"{source}: unknown option {key!r}; valid options: {valid}")
    where = f"{source}: {key}"
    if key == "checks":
        codes: set[str] = set()
        for item in _as_list(value, where):
            codes |= _GROUPS.get(item.strip().lower()) or {_check(item, where)}
        return frozenset(codes)
    if key == "ignore":
        return tuple(_as_list(value, where))
    if key == "report-file":
        return str(value) or None
    try:
        number = float(str(value)) if key != "depth" else int(str(value))
    except ValueError:
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{where}: expected a number >= 0, got {value!r}")
    return number


_GROUPS: dict[str, frozenset[str]] = {"default": DEFAULT_CHECKS, "all": frozenset(CHECKS)}
"""Names for sets of checks, so opt-in ones can be added: ``checks = ["default", "ASL609"]``."""


def _check(item: str, where: str) -> str:
    code = check_code(item)
    if code is None:
        valid = ", ".join(f"{c.code} ({c.name})" for c in CHECKS.values())
        raise ConfigError(f"{where}: unknown check {item!r}; valid checks: default, all, {valid}")
    return code


def _as_list(value: object, where: str) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, Iterable) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ConfigError(f"{where}: expected a list of strings, got {value!r}")


def apply(options: Options, values: Mapping[str, object], source: str) -> Options:
    """Return `options` updated with `values` (keys spelled with ``-`` or ``_``)."""
    changes = {}
    for key, value in values.items():
        if value is None:
            continue
        dashed = key.replace("_", "-")
        changes[_FIELDS[dashed].name if dashed in _FIELDS else key] = _coerce(dashed, value, source)
    return dataclasses.replace(options, **cast(dict[str, Any], changes))


def parse_env_options(text: str) -> dict[str, str]:
    """Split an ``ASYNCSAN_OPTIONS`` value into its pairs."""
    pairs = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"{ENV_OPTIONS}: expected key=value, got {part.strip()!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def pyproject_table(start: Path) -> tuple[dict[str, object], str] | None:
    """``[tool.asynclint.sanitizer]`` of the nearest ``pyproject.toml`` above `start`."""
    for directory in (start, *start.parents):
        path = directory / "pyproject.toml"
        if path.is_file():
            break
    else:
        return None
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    table = data.get("tool", {}).get("asynclint", {}).get("sanitizer")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.asynclint.sanitizer] must be a table")
    return table, f"{path}: [tool.asynclint.sanitizer]"


def resolve(mode: Mode, overrides: Mapping[str, object], cwd: Path | None = None) -> Options:
    """Options from pyproject, then ``ASYNCSAN_OPTIONS``, then explicit `overrides`."""
    options = Options(mode=mode)
    found = pyproject_table(cwd or Path.cwd())
    if found is not None:
        options = apply(options, found[0], found[1])
    env = os.environ.get(ENV_OPTIONS, "")
    if env.strip():
        options = apply(options, parse_env_options(env), ENV_OPTIONS)
    return apply(options, overrides, "activate()")
