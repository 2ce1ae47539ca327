"""Source lines for snippets and fingerprints, and where a caret goes under them.

Diagnostic columns count code points, but a terminal counts cells: a tab spans up to
:data:`TAB_SIZE` cells, an East Asian wide character two, a combining mark none. The
caret is placed by walking the line once and converting both ends of the span.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

TAB_SIZE = 4
# Only these end a line for Python's tokenizer (and so for LibCST's line numbers);
# str.splitlines() would also split on form feeds and U+2028, shifting every line after.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class SourceLines:
    """The lines of each file's text (line endings stripped), split once per file."""

    sources: Mapping[str, str]
    _split: dict[str, list[str]] = field(default_factory=dict)

    def line(self, path: str, number: int) -> str | None:
        """Line `number` (1-based) of `path`, or None when the text or line is unknown."""
        if path not in self._split:
            text = self.sources.get(path)
            if text is None:
                return None
            self._split[path] = _LINE_BREAK.split(text)
        lines = self._split[path]
        return lines[number - 1] if 1 <= number <= len(lines) else None


@dataclass(frozen=True)
class Underline:
    """A line as it is displayed, and the cells (offset, width) its caret covers."""

    text: str
    offset: int
    width: int


def _cells(char: str) -> int:
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def printable(char: str) -> str:
    """`char`, or a visible stand-in for a control character (keeps escapes off the terminal).

    C0 controls and DEL become their Unicode Control Pictures, other controls U+FFFD; each
    stand-in is one cell wide, like the one code point it replaces.
    """
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    if unicodedata.category(char) == "Cc":
        return "\ufffd"
    return char


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""The characters :func:`printable` replaces (category ``Cc``: C0, DEL and C1 controls)."""


def printable_text(text: str) -> str:
    return _CONTROL.sub(lambda match: printable(match.group()), text)


def underline(line: str, start: int, end: int) -> Underline:
    """Display `line` with tabs expanded and place a caret under code points [start, end).

    The span is clamped to the line; an empty span (or one past the end of the line, as
    for a syntax error at end of line) still gets a single caret.
    """
    parts: list[str] = []
    cells = 0
    offset = end_cells = None
    for index, char in enumerate(line):
        if index == start:
            offset = cells
        if index == end:
            end_cells = cells
        if char == "\t":
            width = TAB_SIZE - cells % TAB_SIZE
            parts.append(" " * width)
        else:
            shown = printable(char)
            width = _cells(shown)
            parts.append(shown)
        cells += width
    if offset is None:
        offset = cells + max(0, start - len(line))
    if end_cells is None:
        end_cells = cells
    return Underline("".join(parts), offset, max(1, end_cells - offset))
