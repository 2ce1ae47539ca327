"""Output formats: pure functions from a run's result to the text the CLI writes.

Every renderer has the same signature, so the CLI picks one from :data:`FORMATS` by the
``--format`` name. The formats are described for users in ``docs/formats.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from asynclint.diagnostic import RunResult
from asynclint.render import concise, github, json_array, sarif, text
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


FORMATS: Mapping[str, Renderer] = {
    "text": text.render,
    "concise": concise.render,
    "json": json_array.render,
    "sarif": sarif.render,
    "github": github.render,
}
DEFAULT_FORMAT = "text"
