"""Bytes to a LibCST module, without ever taking the process down.

Decoding honours PEP 263 cookies and the UTF-8 BOM. Before LibCST sees a file, CPython's own
parser (``ast``) checks it: LibCST 1.9's native parser segfaults on about 2,000 nested
brackets (1,000 are fine), while CPython rejects more than 200 with a clean SyntaxError. When
``ast`` rejects a file for another reason the file may simply use syntax newer than the
running interpreter, so LibCST still gets it, but only after a string-aware bracket-depth
scan has shown it is shallow enough.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
from dataclasses import dataclass

import libcst as cst

MAX_BRACKET_DEPTH = 200
"""CPython's own limit (``MAXLEVEL``); deeper code is invalid in every Python version."""

_NESTING_ERRORS = ("too many nested", "too many levels", "too many statically", "too complex")


@dataclass(frozen=True)
class SourceError:
    """Why a file cannot be checked, and where; it becomes an ``ASL900`` finding."""

    message: str
    line: int
    column: int


@dataclass(frozen=True)
class Source:
    text: str
    """Decoded, BOM removed, line endings untouched."""
    encoding: str
    bom: bool


def read(path: str) -> Source | SourceError | str:
    """The file's source; a plain string says why it could not be read at all."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        return error.strerror or str(error)
    return decode(data)


def _position(data: bytes, offset: int, encoding: str) -> tuple[int, int]:
    """1-based line and column (in characters) of byte `offset`."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode(encoding, errors="replace"))
    return data.count(b"\n", 0, offset) + 1, column + 1


def decode(data: bytes) -> Source | SourceError:
    nul = data.find(b"\x00")
    if nul >= 0:
        return SourceError("file contains a NUL byte", *_position(data, nul, "latin-1"))
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "invalid or missing encoding declaration" not in str(error):
            return SourceError(f"cannot decode: {error}", 1, 1)
        encoding = "utf-8"  # undecodable first lines: decoding below says where
    bom = data.startswith(codecs.BOM_UTF8)
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as error:
        line, column = _position(body, error.start, encoding)
        byte = body[error.start]
        return SourceError(
            f"cannot decode as {encoding}: invalid byte 0x{byte:02x} ({error.reason})",
            line,
            column,
        )
    return Source(text, encoding, bom)


def parse(source: Source) -> cst.Module | SourceError:
    text = source.text
    try:
        ast.parse(text)
        rejected: SourceError | None = None
    except SyntaxError as error:
        rejected = _from_syntax_error(error)
        if any(marker in (error.msg or "") for marker in _NESTING_ERRORS):
            return SourceError(
                f"too deeply nested for the parser: {error.msg}", rejected.line, rejected.column
            )
    except (RecursionError, MemoryError):
        return SourceError("too deeply nested for the parser", 1, 1)
    if rejected is not None:
        depth, line, column = bracket_depth(text)
        if depth > MAX_BRACKET_DEPTH:
            return SourceError(
                f"too deeply nested for the parser: more than {MAX_BRACKET_DEPTH} "
                "levels of brackets",
                line,
                column,
            )
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return rejected or SourceError(
            f"syntax error: {error.message}", error.raw_line, error.raw_column + 1
        )
    except (RecursionError, MemoryError):
        return SourceError("too deeply nested for the parser", 1, 1)


def _from_syntax_error(error: SyntaxError) -> SourceError:
    kind = "indentation error" if isinstance(error, IndentationError) else "syntax error"
    return SourceError(f"{kind}: {error.msg}", error.lineno or 1, error.offset or 1)


_TOKENS = re.compile(
    r"""(?P<string>[rRbBuUfF]{0,2}(?:'''|\"\"\"|'|"))|(?P<comment>\#[^\r\n]*)|(?P<open>[(\[{])|(?P<close>[)\]}])"""
)


def bracket_depth(text: str) -> tuple[int, int, int]:
    """The deepest bracket nesting outside strings and comments, with where it is reached.

    Approximate for f-strings with nested quotes, which errs towards deeper, never towards a
    crash.
    """
    depth = deepest = 0
    where = 0
    index = 0
    while (match := _TOKENS.search(text, index)) is not None:
        index = match.end()
        if match.group("open"):
            depth += 1
            if depth > deepest:
                deepest, where = depth, match.start()
        elif match.group("close"):
            depth = max(0, depth - 1)
        elif match.group("string"):
            quote = match.group("string").lstrip("rRbBuUfF")
            index = _string_end(text, index, quote)
    line = text.count("\n", 0, where) + 1
    column = where - (text.rfind("\n", 0, where) + 1) + 1
    return deepest, line, column


def _string_end(text: str, index: int, quote: str) -> int:
    """Index just after the string that started before `index` with `quote`."""
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if text.startswith(quote, index):
            return index + len(quote)
        if char == "\n" and len(quote) == 1:
            return index
        index += 1
    return index
