"""Output formats: pure functions from a run's result to the text the CLI writes.

Every renderer has the same signature, so the CLI picks one by the ``--format`` name
(:func:`renderer`); each lives in its own module, imported when chosen (the human formats
need rich, the others do not). The formats are described for users in ``docs/formats.md``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from asynclint.diagnostic import RunResult
    from asynclint.rule import Rule


class Renderer(Protocol):
    def __call__(
        self,
        result: RunResult,
        rules: Mapping[str, type[Rule]],
        *,
        color: bool,
        statistics: bool,
    ) -> str:
        """Render `result`; `rules` are the enabled rules by code.

        `color` allows ANSI styling, `statistics` asks for counts per rule instead of
        findings; machine formats ignore both.
        """
        ...


FORMATS: Mapping[str, str] = {
    "text": "text",
    "concise": "concise",
    "json": "json_array",
    "sarif": "sarif",
    "github": "github",
}
"""Format name → the module of :mod:`asynclint.render` that renders it."""
DEFAULT_FORMAT = "text"


def renderer(name: str) -> Renderer:
    """The renderer of the format `name` (one of :data:`FORMATS`)."""
    module = importlib.import_module(f"{__name__}.{FORMATS[name]}")
    found: Renderer = module.render
    return found
