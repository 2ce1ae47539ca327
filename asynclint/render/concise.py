"""One line per finding, for editors, grep and people who know the rules by heart."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from asynclint.diagnostic import RunResult
from asynclint.render import statistics as statistics_table
from asynclint.render.styling import emit, errors, header
from asynclint.render.summary import summary_line
from asynclint.rule import Rule


def render(
    result: RunResult,
    rules: Mapping[str, type[Rule]],
    *,
    color: bool,
    statistics: bool,
) -> str:
    if statistics:
        return statistics_table.render(result, rules, color=color)
    lines = errors(result.errors)
    lines += [header(diagnostic) for diagnostic in result.diagnostics]
    if lines:
        lines.append(Text())
    lines.append(Text(summary_line(result)))
    return emit(lines, color=color)
