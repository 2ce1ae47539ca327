"""``--statistics``: how often each rule fired, instead of the findings themselves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from rich.text import Text

from asynclint.diagnostic import RunResult
from asynclint.render.styling import CODE, FIXABLE, emit, errors
from asynclint.render.summary import is_fixable, summary_line
from asynclint.rule import Rule


def render(
    result: RunResult,
    rules: Mapping[str, type[Rule]],
    *,
    color: bool,
) -> str:
    """One row per code, most frequent first: ``   3  ASL102  [ ] dangling-task``.

    ``[*]`` marks codes with findings that ``--fix`` would fix, the same meaning it has
    in front of a single finding.
    """
    counts = Counter(diagnostic.code for diagnostic in result.diagnostics)
    names = {diagnostic.code: diagnostic.name for diagnostic in result.diagnostics}
    fixable = {diagnostic.code for diagnostic in result.diagnostics if is_fixable(diagnostic)}
    count_width = max([4, *(len(str(count)) for count in counts.values())])
    code_width = max([0, *(len(code) for code in counts)])
    lines = errors(result.errors)
    if lines:
        lines.append(Text())
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        marker = ("[*]", FIXABLE) if code in fixable else "[ ]"
        row = (f"{count:>{count_width}}  ", (code.ljust(code_width), CODE), "  ", marker)
        lines.append(Text.assemble(*row, " " + names[code]))
    if counts:
        lines.append(Text())
    lines.append(Text(summary_line(result)))
    return emit(lines, color=color)
