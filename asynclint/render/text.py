"""The default format: each finding with its source line, a caret under the span and help."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from asynclint.diagnostic import Diagnostic, RunResult
from asynclint.render import statistics as statistics_table
from asynclint.render.snippet import SourceLines, printable_text, underline
from asynclint.render.styling import CARET, GUTTER, HELP, emit, errors, header
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
    sources = SourceLines(result.sources)
    lines = errors(result.errors)
    if lines:
        lines.append(Text())
    for diagnostic in result.diagnostics:
        lines += _block(diagnostic, sources, rules)
        lines.append(Text())
    lines.append(Text(summary_line(result)))
    return emit(lines, color=color)


def _block(
    diagnostic: Diagnostic, sources: SourceLines, rules: Mapping[str, type[Rule]]
) -> list[Text]:
    """The header, the source line with its caret (when the text is known), the help:
    the fix's title, or the rule's remedy when the finding has no automatic fix."""
    block = [header(diagnostic)]
    number = str(diagnostic.line)
    gutter = " " * len(number)
    source = sources.line(diagnostic.path, diagnostic.line)
    if source is not None:
        end = diagnostic.end_column - 1 if diagnostic.end_line == diagnostic.line else len(source)
        shown = underline(source, diagnostic.column - 1, end)
        block.append(Text.assemble((f"{number} |", GUTTER), " " + shown.text))
        carets = ("^" * shown.width, CARET)
        block.append(Text.assemble((f"{gutter} |", GUTTER), " " * (shown.offset + 1), carets))
    rule = rules.get(diagnostic.code)
    title = diagnostic.fix.title if diagnostic.fix else rule.fix_title if rule else None
    if title:
        block.append(Text.assemble(f"{gutter} = ", ("help:", HELP), " " + printable_text(title)))
    return block
