"""Styles of the human formats and the one place that turns styled lines into text.

The human formats (text, concise, statistics) build :class:`rich.text.Text` lines; without
colour only their plain text is joined, so the output cannot contain an escape sequence.
Machine formats (json, sarif, github) import neither this module nor rich.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from asynclint.diagnostic import Diagnostic
from asynclint.render.snippet import printable_text
from asynclint.render.summary import is_fixable

PATH = "bold"
CODE = "bold red"
FIXABLE = "cyan"
GUTTER = "bold blue"
CARET = "bold red"
HELP = "cyan"
ERROR = "bold red"


def header(diagnostic: Diagnostic) -> Text:
    """``path:line:col: [*] CODE message``; ``[*]`` only when ``--fix`` would fix it."""
    line = Text()
    line.append(printable_text(diagnostic.path), PATH)
    line.append(f":{diagnostic.line}:{diagnostic.column}: ")
    if is_fixable(diagnostic):
        line.append("[*]", FIXABLE)
        line.append(" ")
    line.append(diagnostic.code, CODE)
    line.append(" " + printable_text(diagnostic.message))
    return line


def errors(messages: Sequence[str]) -> list[Text]:
    """One ``error: ...`` line per path that could not be checked.

    A message of several lines (an internal error's traceback under ``--verbose``) keeps
    its line breaks, so the traceback stays readable; each line is still made printable.
    """
    lines: list[Text] = []
    for message in messages:
        first, *rest = message.rstrip("\n").split("\n")
        lines.append(Text.assemble(("error:", ERROR), " " + printable_text(first)))
        lines += [Text(printable_text(line)) for line in rest]
    return lines


def emit(lines: Sequence[Text], *, color: bool) -> str:
    """Join styled lines (trailing whitespace removed) into the final text."""
    for line in lines:
        line.rstrip()
    if not color:
        return "".join(line.plain + "\n" for line in lines)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=True,
        color_system="standard",
        no_color=False,
        soft_wrap=True,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    for line in lines:
        console.print(line)
    return buffer.getvalue()
