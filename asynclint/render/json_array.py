"""``--format json``: the findings as a JSON array, a stable interface (docs/formats.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from asynclint.diagnostic import RunResult
from asynclint.rule import Rule


def render(
    result: RunResult,
    rules: Mapping[str, type[Rule]],
    *,
    color: bool,
    statistics: bool,
) -> str:
    """Every diagnostic's ``to_dict()``, in the run's order (path, line, column, code)."""
    items = [diagnostic.to_dict() for diagnostic in result.diagnostics]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
